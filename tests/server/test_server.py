"""``unified-rerank serve``'s app on a real uvicorn, called with plain httpx, against loopback
upstreams: routing headers, configs, errors, gateway keys, headers, logs and metrics."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.server.conftest import BACKUP_SECRET, GATEWAY_KEY, SECRET, vk
from tests.server.serving import RESPONSE, InThread, validator
from tests.support.faults import FaultServer, expected_ranking

DOCS = ["Paris is the capital of France.", "Berlin is in Germany.", "Madrid is in Spain."]
# The shared document's curl sample (Self-Hosted), body as it is.
SAMPLE = {
    "model": "rerank-v3.5",
    "query": "What is the capital of France?",
    "documents": [
        "Paris is the capital of France.",
        "Berlin is the capital of Germany.",
        "Madrid is the capital of Spain.",
    ],
    "top_n": 2,
}
ERROR = validator("CreateRerankResponse")  # only used for the positive answers


def body(query: str = "capital of France?", **extra: Any) -> dict[str, Any]:
    return {"model": "rerank-v3.5", "query": query, "documents": DOCS, **extra}


def assert_ranking(answer: dict[str, Any], query: str, docs: list[str], top_n: int | None) -> None:
    RESPONSE.validate(answer)
    assert [r["index"] for r in answer["results"]] == expected_ranking(query, docs, top_n)


def assert_error(resp: httpx.Response, status: int, *words: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    data = resp.json()
    assert set(data) == {"error", "provider"}
    assert set(data["error"]) == {"message", "type", "code"}
    for word in words:
        assert word in data["error"]["message"]
    for secret in (SECRET, BACKUP_SECRET, GATEWAY_KEY):
        assert secret not in resp.text
        assert all(secret not in v for v in resp.headers.values())
    return data


@pytest.fixture
def server(upstream: FaultServer, backup: FaultServer) -> Iterator[InThread]:
    config = {
        "virtual_keys": {
            "co": vk(upstream.url),
            "co-no-retry": vk(upstream.url, max_retries=0),
            "co-fast-timeout": vk(upstream.url, max_retries=0, timeout=0.3),
            "backup": vk(backup.url, BACKUP_SECRET),
        },
        "configs": {
            "resilient": {
                "strategy": {"mode": "fallback"},
                "targets": [
                    {"virtual_key": "co", "retry": {"attempts": 0}},
                    {"virtual_key": "backup"},
                ],
            }
        },
    }
    with InThread(config) as s:
        yield s


def post(server: InThread, payload: Any, **headers: str) -> httpx.Response:
    return httpx.post(server.url + "/v1/rerank", json=payload, headers=headers, timeout=30)


# -- choosing the upstream -------------------------------------------------------------------


def test_the_shared_documents_curl_sample_through_a_virtual_key(
    server: InThread, upstream: FaultServer
) -> None:
    resp = httpx.post(
        server.url + "/rerank",
        content=json.dumps(SAMPLE),
        headers={"Content-Type": "application/json", "x-portkey-virtual-key": "co"},
    )
    assert resp.status_code == 200, resp.text
    answer = resp.json()
    assert_ranking(answer, SAMPLE["query"], SAMPLE["documents"], 2)
    assert answer["provider"] == "cohere" and answer["model"] == "rerank-v3.5"
    assert answer["object"] == "list" and answer["usage"] == {"search_units": 1}
    # The upstream got Cohere's request with the key the server holds.
    assert upstream.headers_seen[-1]["authorization"] == f"Bearer {SECRET}"
    assert json.loads(upstream.bodies[-1])["top_n"] == 2


def test_both_routes_and_return_documents(server: InThread) -> None:
    for path in ("/rerank", "/v1/rerank"):
        resp = httpx.post(
            server.url + path,
            json=body(return_documents=True, documents=[*DOCS, {"text": "Rome", "id": 7}]),
            headers={"x-portkey-virtual-key": "co"},
        )
        assert resp.status_code == 200
        answer = resp.json()
        RESPONSE.validate(answer)
        docs = [*DOCS, {"text": "Rome", "id": 7}]
        for r in answer["results"]:
            want = docs[r["index"]]
            assert r["document"] == (want if isinstance(want, dict) else {"text": want})


def test_provider_header_with_bearer_key_and_allowed_custom_host(upstream: FaultServer) -> None:
    with InThread({"allow_custom_host": True}) as s:
        headers = {
            "x-portkey-provider": "cohere",
            "Authorization": "Bearer caller-own-key",
            "x-portkey-custom-host": upstream.url,
        }
        resp = post(s, body(top_n=1), **headers)
        assert resp.status_code == 200, resp.text
        assert_ranking(resp.json(), "capital of France?", DOCS, 1)
        assert upstream.headers_seen[-1]["authorization"] == "Bearer caller-own-key"
        # "provider/model" when no header names the provider
        del headers["x-portkey-provider"]
        resp = post(s, body(model="cohere/rerank-v3.5"), **headers)
        assert resp.status_code == 200 and resp.json()["model"] == "rerank-v3.5"
        # no key: 401, nothing sent; the server's own environment is never used
        n = upstream.requests
        resp = post(
            s, body(), **{"x-portkey-provider": "cohere", "x-portkey-custom-host": upstream.url}
        )
        assert_error(resp, 401, "Authorization")
        assert upstream.requests == n


def test_custom_host_is_refused_by_default(server: InThread, upstream: FaultServer) -> None:
    headers = {
        "x-portkey-provider": "cohere",
        "Authorization": "Bearer k",
        "x-portkey-custom-host": upstream.url,
    }
    data = assert_error(post(server, body(), **headers), 400, "allow_custom_host")
    assert data["error"]["code"] == "custom_host_not_allowed"
    config = {"targets": [{"provider": "cohere", "api_key": "k", "custom_host": upstream.url}]}
    resp = post(server, body(), **{"x-portkey-config": json.dumps(config)})
    assert_error(resp, 400, "allow_custom_host")
    # a virtual key's requests never go to a caller's host, even when custom hosts are allowed
    with InThread({"allow_custom_host": True, "virtual_keys": {"co": vk(upstream.url)}}) as s:
        resp = post(
            s,
            body(),
            **{"x-portkey-virtual-key": "co", "x-portkey-custom-host": "http://127.0.0.1:9"},
        )
        assert_error(resp, 400, "custom")
    assert upstream.requests == 0


def test_no_upstream_unknown_provider_unknown_virtual_key(server: InThread) -> None:
    assert_error(post(server, body()), 400, "x-portkey-virtual-key")
    resp = post(server, body(), **{"x-portkey-provider": "nope", "Authorization": "Bearer k"})
    assert_error(resp, 400, "unknown provider")
    assert_error(post(server, body(), **{"x-portkey-virtual-key": "nope"}), 401, "virtual key")
    # in-process providers only through the server's own config
    resp = post(server, body(model="local/bm25"), Authorization="Bearer k")
    assert_error(resp, 400, "inside the server")


# -- configs: fallback, load balancing, retry, cache, override_params ----------------------------


def test_fallback_through_a_config_header(
    server: InThread, upstream: FaultServer, backup: FaultServer
) -> None:
    upstream.default = "503"
    config = {
        "strategy": {"mode": "fallback"},
        "targets": [{"virtual_key": "co", "retry": {"attempts": 0}}, {"virtual_key": "backup"}],
    }
    resp = post(server, body(top_n=2), **{"x-portkey-config": json.dumps(config)})
    assert resp.status_code == 200, resp.text
    assert_ranking(resp.json(), "capital of France?", DOCS, 2)
    assert upstream.requests == 1 and backup.requests == 1
    assert backup.headers_seen[-1]["authorization"] == f"Bearer {BACKUP_SECRET}"
    # the same through a config id from the server's config
    resp = post(server, body(), **{"x-portkey-config": "resilient"})
    assert resp.status_code == 200 and backup.requests == 2
    metrics = httpx.get(server.url + "/metrics").text
    assert 'unified_rerank_fallbacks_total{provider="cohere"} 2.0' in metrics


def test_loadbalance_through_a_config_header(
    server: InThread, upstream: FaultServer, backup: FaultServer
) -> None:
    config = {
        "strategy": {"mode": "loadbalance"},
        "targets": [{"virtual_key": "co", "weight": 1}, {"virtual_key": "backup", "weight": 1}],
    }
    header = {"x-portkey-config": json.dumps(config)}
    with httpx.Client(base_url=server.url) as client:
        for i in range(60):
            resp = client.post("/v1/rerank", json=body(f"q{i}"), headers=header)
            assert resp.status_code == 200
    assert upstream.requests + backup.requests == 60
    assert upstream.requests > 5 and backup.requests > 5  # P(fail) ~ 1e-11
    config["targets"][1]["weight"] = 0  # type: ignore[index]
    before = backup.requests
    for i in range(10):
        post(server, body(f"w{i}"), **{"x-portkey-config": json.dumps(config)})
    assert backup.requests == before


def test_retry_and_its_header(server: InThread, upstream: FaultServer) -> None:
    upstream.plan["flaky"] = ["429s", "500"]
    config = {"retry": {"attempts": 3}, "virtual_key": "co-no-retry"}
    resp = post(server, body("flaky"), **{"x-portkey-config": json.dumps(config)})
    assert resp.status_code == 200
    assert resp.headers["x-portkey-retry-attempt-count"] == "2"
    assert upstream.attempts("flaky") == 3
    resp = post(server, body("calm"), **{"x-portkey-virtual-key": "co"})
    assert resp.headers["x-portkey-retry-attempt-count"] == "0"
    assert (
        'unified_rerank_upstream_retries_total{provider="cohere"} 2.0'
        in httpx.get(server.url + "/metrics").text
    )


def test_cache_through_a_config_header(server: InThread, upstream: FaultServer) -> None:
    header = {"x-portkey-config": json.dumps({"cache": {"mode": "simple"}, "virtual_key": "co"})}
    first = post(server, body("cached?"), **header)
    second = post(server, body("cached?"), **header)
    assert first.headers["x-portkey-cache-status"] == "MISS"
    assert second.headers["x-portkey-cache-status"] == "HIT"
    assert first.json() == second.json()
    RESPONSE.validate(second.json())
    assert upstream.attempts("cached?") == 1
    # off unless a config turns it on
    plain = post(server, body("cached?"), **{"x-portkey-virtual-key": "co"})
    assert plain.headers["x-portkey-cache-status"] == "DISABLED"
    assert upstream.attempts("cached?") == 2


def test_override_params_choose_the_model(server: InThread, upstream: FaultServer) -> None:
    config = {"virtual_key": "co", "override_params": {"model": "rerank-english-v3.0"}}
    resp = post(server, body(), **{"x-portkey-config": json.dumps(config)})
    assert resp.status_code == 200 and resp.json()["model"] == "rerank-english-v3.0"
    assert json.loads(upstream.bodies[-1])["model"] == "rerank-english-v3.0"


@pytest.mark.parametrize(
    ("config", "status", "words"),
    [
        ("{not json", 400, ["not valid JSON"]),
        ("no-such-id", 400, ["no config"]),
        ('{"targets": []}', 400, ["targets"]),
        ('{"strategy": {"mode": "roundrobin"}, "targets": [{"virtual_key": "co"}]}', 400, ["mode"]),
        ('{"targets": [{"virtual_key": "co", "weight": -1}]}', 400, ["weight"]),
        ('{"targets": [{"virtual_key": "co", "foo": 1}]}', 400, ["foo"]),
        ('{"virtual_key": "co", "override_params": {"temperature": 1}}', 400, ["temperature"]),
        ('{"virtual_key": "co", "cache": {"mode": "semantic"}}', 400, ["simple"]),
        ('{"targets": [{"provider": "cohere"}]}', 401, ["api_key"]),
        ('{"targets": [{"virtual_key": "nope"}]}', 401, ["virtual key"]),
    ],
)
def test_bad_configs_are_refused_before_any_call(
    server: InThread, upstream: FaultServer, config: str, status: int, words: list[str]
) -> None:
    assert_error(post(server, body(), **{"x-portkey-config": config}), status, *words)
    assert upstream.requests == 0


# -- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "status", "kind"),
    [
        ("429s", 429, "rate_limit_error"),
        ("500", 500, "provider_error"),
        ("503", 503, "provider_error"),
        ("401", 401, "authentication_error"),
        ("400", 400, "invalid_request_error"),
        ("reset", 502, "connection_error"),
        ("invalid_json", 502, "provider_error"),
        ("bad_index", 502, "provider_error"),
        ("slow", 504, "timeout_error"),
    ],
)
def test_upstream_failures_keep_their_status(
    server: InThread, upstream: FaultServer, fault: str, status: int, kind: str
) -> None:
    upstream.default = fault
    resp = post(server, body(), **{"x-portkey-virtual-key": "co-fast-timeout"})
    data = assert_error(resp, status)
    assert data["error"]["type"] == kind and data["provider"] == "cohere"
    if fault == "429s":
        assert resp.headers["retry-after"] == "0"


def test_bad_bodies_name_the_field_and_reach_no_upstream(
    server: InThread, upstream: FaultServer
) -> None:
    vkh = {"x-portkey-virtual-key": "co"}
    cases: list[tuple[Any, str]] = [
        ({"query": "q", "documents": DOCS}, "`model`"),
        ({"model": "m", "documents": DOCS}, "`query`"),
        ({"model": "m", "query": "q"}, "`documents`"),
        (body(documents=[]), "documents"),
        (body(top_n=0), "top_n"),
        (body(top_n="2"), "top_n"),
        (body(documents=[{"title": "no text"}]), "text"),
        (body(return_documents="yes"), "return_documents"),
        (body(colour="red"), "colour"),
        ([1, 2], "JSON object"),
    ]
    for payload, word in cases:
        assert_error(post(server, payload, **vkh), 400, word)
    resp = httpx.post(server.url + "/rerank", content=b"{nope", headers=vkh)
    assert_error(resp, 400, "not valid JSON")
    resp = httpx.post(
        server.url + "/rerank",
        content=b'{"model":"m","query":"q","documents":["a"],"priority":NaN}',
        headers=vkh,
    )
    assert_error(resp, 400)
    assert upstream.requests == 0


def test_body_limit_is_413(upstream: FaultServer) -> None:
    with InThread({"virtual_keys": {"co": vk(upstream.url)}, "max_body_bytes": 1000}) as s:
        big = body(documents=["x" * 600, "y" * 600])
        data = assert_error(post(s, big, **{"x-portkey-virtual-key": "co"}), 413, "1000")
        assert data["error"]["code"] == "too_large"

        def chunks() -> Iterator[bytes]:  # no Content-Length: the limit still holds
            yield json.dumps(big).encode()

        resp = httpx.post(
            s.url + "/rerank", content=chunks(), headers={"x-portkey-virtual-key": "co"}
        )
        assert_error(resp, 413)
        assert post(s, body(), **{"x-portkey-virtual-key": "co"}).status_code == 200
    assert upstream.requests == 1


def test_routes_other_than_rerank(server: InThread) -> None:
    assert httpx.get(server.url + "/health").json() == {"status": "ok"}
    assert_error(httpx.get(server.url + "/nope"), 404)
    assert_error(httpx.get(server.url + "/rerank"), 405)
    doc = httpx.get(server.url + "/openapi.json").json()
    from tests.server.serving import SCHEMAS

    for name, schema in SCHEMAS["components"]["schemas"].items():
        assert doc["components"]["schemas"][name] == schema
    assert "/rerank" in doc["paths"] and "/v1/rerank" in doc["paths"]


# -- gateway keys, headers, logs, metrics ---------------------------------------------------------


def test_gateway_keys(upstream: FaultServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_GATEWAY_KEYS", f"other, {GATEWAY_KEY}")
    config = {"virtual_keys": {"co": vk(upstream.url)}, "server_keys_env": "TEST_GATEWAY_KEYS"}
    with InThread(config) as s:
        h = {"x-portkey-virtual-key": "co"}
        assert_error(post(s, body(), **h), 401, "gateway key")
        assert_error(post(s, body(), **h, **{"x-portkey-api-key": "wrong"}), 401)
        assert_error(post(s, body(), **h, **{"x-portkey-api-key": GATEWAY_KEY[:-1]}), 401)
        assert upstream.requests == 0
        assert post(s, body(), **h, **{"x-portkey-api-key": GATEWAY_KEY}).status_code == 200
        assert post(s, body(), **h, **{"x-portkey-api-key": "other"}).status_code == 200
        # probes and scrapers need no key, and see no secret
        assert httpx.get(s.url + "/health").status_code == 200
        metrics = httpx.get(s.url + "/metrics")
        assert metrics.status_code == 200
        assert GATEWAY_KEY not in metrics.text and SECRET not in metrics.text
        assert 'unified_rerank_requests_total{provider="cohere",status="200"} 2.0' in metrics.text
        assert (
            'unified_rerank_errors_total{provider="none",type="authentication_error"} 3.0'
            in metrics.text
        )
        assert "unified_rerank_request_duration_seconds_bucket" in metrics.text


def test_trace_id_metadata_and_logs(server: InThread, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="unified_rerank")
    headers = {
        "x-portkey-virtual-key": "co",
        "x-portkey-trace-id": "trace-123",
        "x-portkey-span-id": "span-1",
        "x-portkey-metadata": json.dumps({"user": "u1", "blob": "z" * 5000}),
    }
    resp = post(server, body(), **headers)
    assert resp.headers["x-portkey-trace-id"] == "trace-123"
    generated = post(server, body(), **{"x-portkey-virtual-key": "co"}).headers[
        "x-portkey-trace-id"
    ]
    assert len(generated) == 32 and generated != "trace-123"
    lines = [r.getMessage() for r in caplog.records if r.name == "unified_rerank.server"]
    line = next(x for x in lines if "trace-123" in x)
    assert '"span_id": "span-1"' in line and '"user":"u1"' in line and "truncated" in line
    assert len(line) < 3000
    failed = post(server, body(), **{"x-portkey-virtual-key": "nope"})
    assert failed.headers["x-portkey-trace-id"]
    for record in caplog.records:
        text = record.getMessage()
        assert SECRET not in text and BACKUP_SECRET not in text


def test_credentials_in_an_upstream_url_never_reach_the_caller() -> None:
    from tests.support.loopback import closed_port

    url = f"http://operator:url-password@127.0.0.1:{closed_port()}"
    with InThread({"virtual_keys": {"co": vk(url, max_retries=0)}}) as s:
        resp = post(s, body(), **{"x-portkey-virtual-key": "co"})
        data = assert_error(resp, 502)
        assert data["error"]["type"] == "connection_error"
        assert "url-password" not in resp.text and "operator" not in resp.text
