"""The Redis cache store with a real ``redis-server`` (started here): answers cached by one
``unified-rerank serve`` process are hits in another; a Redis outage is a miss, never a
failed request."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.server.conftest import SECRET, vk
from tests.server.serving import RESPONSE, InThread, free_port, redis_server, serve_command
from tests.support.faults import FaultServer
from unified_rerank.server.stores import RedisStore

BODY = {"model": "rerank-v3.5", "query": "shared?", "documents": ["a", "b", "c"], "top_n": 2}


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    try:
        with redis_server() as url:
            yield url
    except FileNotFoundError:
        pytest.skip("redis-server is not installed (scripts/install-services.sh installs it)")


def test_two_server_processes_share_the_cache(redis_url: str, upstream: FaultServer) -> None:
    config = {
        "virtual_keys": {"co": vk(upstream.url)},
        "cache": {"enabled": True, "store": "redis", "url": redis_url, "ttl": 60},
    }
    headers = {"x-portkey-virtual-key": "co"}
    with serve_command(config) as first, serve_command(config) as second:
        miss = httpx.post(first + "/rerank", json=BODY, headers=headers, timeout=30)
        hit = httpx.post(second + "/rerank", json=BODY, headers=headers, timeout=30)
        assert miss.status_code == hit.status_code == 200
        assert miss.headers["x-portkey-cache-status"] == "MISS"
        assert hit.headers["x-portkey-cache-status"] == "HIT"
        assert hit.json() == miss.json()
        RESPONSE.validate(hit.json())
        assert upstream.attempts("shared?") == 1
        other = httpx.post(second + "/rerank", json={**BODY, "top_n": 1}, headers=headers)
        assert other.headers["x-portkey-cache-status"] == "MISS"
        metrics = httpx.get(second + "/metrics").text
        assert 'unified_rerank_cache_hits_total{provider="cohere"} 1.0' in metrics
    # what Redis holds is the answer, never the key
    import redis

    client = redis.Redis.from_url(redis_url)
    keys = client.keys("unified-rerank-server:*")
    assert len(keys) == 2
    assert all(SECRET.encode() not in client.get(k) for k in keys)  # type: ignore[operator]


def test_a_redis_outage_is_a_miss(upstream: FaultServer, caplog: pytest.LogCaptureFixture) -> None:
    down = f"redis://127.0.0.1:{free_port()}/0"
    config = {
        "virtual_keys": {"co": vk(upstream.url)},
        "cache": {"enabled": True, "store": "redis", "url": down},
    }
    with InThread(config) as server:
        for _ in range(2):
            resp = httpx.post(
                server.url + "/rerank", json=BODY, headers={"x-portkey-virtual-key": "co"}
            )
            assert resp.status_code == 200
            assert resp.headers["x-portkey-cache-status"] == "MISS"
    assert upstream.attempts("shared?") == 2
    assert any("redis cache get failed" in r.getMessage() for r in caplog.records)


async def test_the_store_round_trips_and_expires(redis_url: str) -> None:
    store = RedisStore(redis_url, prefix="t:")
    assert repr(store) == "RedisStore(prefix='t:')"
    await store.aset("k", "v1", 60)
    assert await store.aget("k") == "v1"
    store.set("s", "v2", 0.001)
    assert store.get("nope") is None
    import time

    time.sleep(0.05)
    assert store.get("s") is None
    await store.aclose()


def test_workers_share_the_redis_cache_and_add_up_metrics(
    redis_url: str, upstream: FaultServer
) -> None:
    config = {
        "virtual_keys": {"co": vk(upstream.url)},
        "cache": {"enabled": True, "store": "redis", "url": redis_url, "prefix": "workers:"},
    }
    with serve_command(config, "--workers", "2") as url, httpx.Client(base_url=url) as client:
        statuses = []
        for _ in range(8):  # new connections: the kernel spreads them over the workers
            resp = httpx.post(url + "/rerank", json=BODY, headers={"x-portkey-virtual-key": "co"})
            assert resp.status_code == 200
            statuses.append(resp.headers["x-portkey-cache-status"])
        assert statuses == ["MISS"] + ["HIT"] * 7
        assert upstream.attempts("shared?") == 1
        metrics = client.get("/metrics").text
        assert 'unified_rerank_requests_total{provider="cohere",status="200"} 8.0' in metrics
        assert 'unified_rerank_cache_hits_total{provider="cohere"} 7.0' in metrics
