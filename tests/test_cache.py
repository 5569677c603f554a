"""Caching: LRU with TTL, keys over the whole normalised request, the wrapper, outside stores."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.loopback import Answer, Loopback
from unified_rerank import InvalidRequestError, ProviderError, RerankClient
from unified_rerank.cache import CachedReranker, CacheStore, LRUCache, cache_key, is_cached
from unified_rerank.observability import Event
from unified_rerank.routing import Router
from unified_rerank.schema import RerankResponse, RerankResult, Usage

OK = {
    "id": "abc",
    "results": [{"index": 1, "relevance_score": 0.9}, {"index": 0, "relevance_score": 0.1}],
    "meta": {"billed_units": {"search_units": 1}},
}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Counting:
    """A reranker that counts calls and can be told to fail."""

    provider = "cohere"
    base_url = None

    def __init__(self) -> None:
        self.calls = 0
        self.fail = False

    def rerank(self, **kw: Any) -> RerankResponse:
        self.calls += 1
        if self.fail:
            raise ProviderError("down", status_code=503, retryable=True)
        return RerankResponse(
            id=f"r{self.calls}",
            results=[RerankResult(index=0, relevance_score=0.5, document={"text": "a"})],
            model=kw["model"],
            usage=Usage(search_units=1, extra_unit=2),
            provider="cohere",
        )

    async def arerank(self, **kw: Any) -> RerankResponse:
        return self.rerank(**kw)


# -- the LRU store ------------------------------------------------------------------------------


def test_lru_evicts_least_recently_used() -> None:
    cache = LRUCache(maxsize=2, ttl=None)
    cache.set("a", "1")
    cache.set("b", "2")
    assert cache.get("a") == "1"  # a is now the most recent
    cache.set("c", "3")
    assert cache.get("b") is None and cache.get("a") == "1" and cache.get("c") == "3"
    assert len(cache) == 2


def test_lru_ttl_and_per_entry_ttl() -> None:
    clock = Clock()
    cache = LRUCache(ttl=10, clock=clock)
    cache.set("a", "1")
    cache.set("b", "2", ttl=100)
    clock.now = 9.9
    assert cache.get("a") == "1"
    clock.now = 10.0
    assert cache.get("a") is None and len(cache) == 1  # expired entries are dropped
    assert cache.get("b") == "2"
    clock.now = 100.0
    assert cache.get("b") is None


@pytest.mark.parametrize("kwargs", [{"maxsize": 0}, {"maxsize": 1.5}, {"ttl": 0}, {"ttl": -1}])
def test_lru_rejects_bad_settings(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequestError):
        LRUCache(**kwargs)


def test_lru_satisfies_the_store_protocol() -> None:
    assert isinstance(LRUCache(), CacheStore)


# -- keys -------------------------------------------------------------------------------------

BASE: dict[str, Any] = {
    "model": "cohere/rerank-v3.5",
    "query": "q",
    "documents": ["a", {"text": "b", "k": 1}],
}


def test_key_is_stable_and_order_independent() -> None:
    k1 = cache_key({"p": 1}, dict(BASE))
    k2 = cache_key({"p": 1}, dict(reversed(list(BASE.items()))))
    docs = ["a", {"k": 1, "text": "b"}]
    assert k1 == k2 == cache_key({"p": 1}, {**BASE, "documents": docs})
    assert k1.startswith("unified-rerank:") and len(k1) == len("unified-rerank:") + 64
    # None means "not set": the same request as leaving the field out.
    assert cache_key({"p": 1}, {**BASE, "top_n": None}) == k1


@pytest.mark.parametrize(
    "change",
    [
        {"model": "cohere/rerank-v3.0"},
        {"query": "Q"},
        {"documents": ["a", {"text": "b", "k": 2}]},
        {"documents": [{"text": "b", "k": 1}, "a"]},
        {"top_n": 1},
        {"return_documents": True},
        {"max_tokens_per_doc": 10},
        {"priority": 1},
        {"rank_fields": ["text"]},
        {"truncation": False},
        {"parameters": {"x": 1}},
    ],
)
def test_every_field_is_in_the_key(change: dict[str, Any]) -> None:
    assert cache_key({"p": 1}, {**BASE, **change}) != cache_key({"p": 1}, BASE)


def test_identity_is_in_the_key_and_bad_input_is_refused() -> None:
    assert cache_key({"p": 1}, BASE) != cache_key({"p": 2}, BASE)
    with pytest.raises(InvalidRequestError):
        cache_key({}, {**BASE, "documents": []})


def test_provider_prefix_is_normalised() -> None:
    a = CachedReranker(RerankClient("cohere", api_key="k"))
    b = CachedReranker(RerankClient(api_key="k"))
    fields = {"query": "q", "documents": ["a"]}
    assert a._key({**fields, "model": "rerank-v3.5"}) == a._key(
        {**fields, "model": "cohere/rerank-v3.5"}
    )
    assert a._key({**fields, "model": "rerank-v3.5"}) == b._key(
        {**fields, "model": "cohere/rerank-v3.5"}
    )
    c = CachedReranker(RerankClient("cohere", api_key="k", base_url="http://127.0.0.1:1"))
    assert c._key({**fields, "model": "rerank-v3.5"}) != a._key({**fields, "model": "rerank-v3.5"})


# -- the wrapper --------------------------------------------------------------------------------


def test_hit_and_miss_sync() -> None:
    inner = Counting()
    events: list[Event] = []
    cached = CachedReranker(inner, hooks=events.append)
    first = cached.rerank(model="m", query="q", documents=["a"], return_documents=True)
    second = cached.rerank(model="m", query="q", documents=["a"], return_documents=True)
    assert inner.calls == 1 and (cached.hits, cached.misses) == (1, 1)
    assert not is_cached(first) and is_cached(second)
    # The Portkey JSON is the same, usage included, on a hit as on the miss.
    assert second.model_dump(exclude_none=True) == first.model_dump(exclude_none=True)
    assert second.usage.model_dump(exclude_none=True) == {"search_units": 1, "extra_unit": 2}
    assert [(e.kind, e.provider, e.documents) for e in events] == [("cache_hit", "cohere", 1)]
    # Changing a response you got does not change what the cache returns next.
    second.results[0].relevance_score = -1.0
    first.results.clear()
    third = cached.rerank(model="m", query="q", documents=["a"], return_documents=True)
    assert third.results[0].relevance_score == 0.5
    cached.rerank(model="m", query="q", documents=["a"])  # another option: a miss
    assert inner.calls == 2


async def test_hit_and_miss_async_and_errors_are_not_cached() -> None:
    inner = Counting()
    cached = CachedReranker(inner, LRUCache(ttl=60))
    inner.fail = True
    with pytest.raises(ProviderError):
        await cached.arerank(model="m", query="q", documents=["a"])
    inner.fail = False
    a = await cached.arerank(model="m", query="q", documents=["a"])
    b = await cached.arerank(model="m", query="q", documents=["a"])
    assert inner.calls == 2 and not is_cached(a) and is_cached(b)
    # sync and async share the cache
    assert is_cached(cached.rerank(model="m", query="q", documents=["a"]))


def test_ttl_expiry_through_the_wrapper() -> None:
    clock = Clock()
    inner = Counting()
    cached = CachedReranker(inner, LRUCache(ttl=5, clock=clock))
    cached.rerank(model="m", query="q", documents=["a"])
    clock.now = 4
    cached.rerank(model="m", query="q", documents=["a"])
    clock.now = 6
    cached.rerank(model="m", query="q", documents=["a"])
    assert inner.calls == 2


class DictStore:
    """An outside store: anything with get/set of strings."""

    def __init__(self) -> None:
        self.data: dict[str, str] = {}
        self.ttls: list[float | None] = []

    def get(self, key: str) -> str | None:
        return self.data.get(key)

    def set(self, key: str, value: str, ttl: float | None = None) -> None:
        self.data[key] = value
        self.ttls.append(ttl)


class AsyncStore(DictStore):
    def __init__(self) -> None:
        super().__init__()
        self.async_calls = 0

    async def aget(self, key: str) -> str | None:
        self.async_calls += 1
        return self.get(key)

    async def aset(self, key: str, value: str, ttl: float | None = None) -> None:
        self.async_calls += 1
        self.set(key, value, ttl)


async def test_outside_stores_sync_and_async() -> None:
    store = DictStore()
    cached = CachedReranker(Counting(), store, ttl=30)
    cached.rerank(model="m", query="q", documents=["a"])
    assert store.ttls == [30] and len(store.data) == 1
    value = next(iter(store.data.values()))
    assert RerankResponse.model_validate_json(value).provider == "cohere"
    assert is_cached(await cached.arerank(model="m", query="q", documents=["a"]))

    astore = AsyncStore()
    acached = CachedReranker(Counting(), astore)
    await acached.arerank(model="m", query="q", documents=["a"])
    assert is_cached(await acached.arerank(model="m", query="q", documents=["a"]))
    assert astore.async_calls == 3  # get, set, get


def test_namespace_replaces_identity() -> None:
    store = DictStore()
    one = CachedReranker(Counting(), store, namespace="shared")
    other = Counting()
    other.base_url = "http://127.0.0.1:1"  # type: ignore[assignment]
    assert CachedReranker(other)._key(dict(BASE)) != CachedReranker(Counting())._key(dict(BASE))
    two = CachedReranker(other, store, namespace="shared")
    one.rerank(model="m", query="q", documents=["a"])
    assert is_cached(two.rerank(model="m", query="q", documents=["a"]))


def test_wraps_a_real_client_and_a_router(loopback: Loopback) -> None:
    loopback.script(Answer(200, OK))
    client = RerankClient("cohere", api_key="sk-test-CACHE-KEY", base_url=loopback.url)
    with CachedReranker(Router([client])) as cached:
        first = cached.rerank(model="rerank-v3.5", query="q", documents=["a", "b"])
        second = cached.rerank(model="rerank-v3.5", query="q", documents=["a", "b"])
    assert len(loopback.received) == 1
    assert [r.index for r in second.results] == [1, 0] and second.id == first.id == "abc"
    assert "sk-test-CACHE-KEY" not in repr(cached)
    with pytest.raises(InvalidRequestError):
        CachedReranker(object())  # type: ignore[arg-type]
