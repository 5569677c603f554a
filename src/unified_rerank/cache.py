"""Opt-in caching of rerank answers: a wrapper around any reranker.

::

    from unified_rerank.cache import CachedReranker, LRUCache

    cached = CachedReranker(RerankClient("cohere"), cache=LRUCache(maxsize=4096, ttl=3600))
    resp = cached.rerank(model="rerank-v3.5", query="...", documents=[...])
    is_cached(resp)   # True when it came from the cache

The key is a SHA-256 of the canonical JSON of the whole normalised request: the reranker's
identity (provider, base URL, or a router's targets; never a key), the provider and model,
the query, every document and every option. Only successful answers are stored; errors never
are. A hit returns a fresh copy (``usage`` as the provider billed the original call), marked
so that :func:`is_cached` says so and a ``cache_hit`` event goes to the hooks; the response's
JSON stays exactly the Portkey shape.

Any store with ``get(key) -> str | None`` and ``set(key, value, ttl)`` works (Redis,
memcached, a dict); values are the response's JSON. A store that also has ``aget``/``aset``
coroutines is awaited by ``arerank``.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import weakref
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ._lifetime import Closing
from .errors import InvalidRequestError
from .observability import Event, HooksArg, emitter, new_call_id
from .routing import _identity
from .schema import Reranker

if TYPE_CHECKING:
    from .schema import Document, RerankResponse

__all__ = ["AsyncCacheStore", "CacheStore", "CachedReranker", "LRUCache", "cache_key", "is_cached"]


@runtime_checkable
class CacheStore(Protocol):
    """A key-value store for cached answers (values are JSON strings)."""

    def get(self, key: str) -> str | None: ...

    def set(self, key: str, value: str, ttl: float | None = None) -> None: ...


@runtime_checkable
class AsyncCacheStore(Protocol):
    """The async variant, used by ``arerank`` when the store has it."""

    async def aget(self, key: str) -> str | None: ...

    async def aset(self, key: str, value: str, ttl: float | None = None) -> None: ...


class LRUCache:
    """An in-memory, thread-safe LRU cache with a time to live.

    Args:
        maxsize: entries kept; the least recently used go first.
        ttl: seconds an entry lives (None: until evicted).
        clock: a monotonic clock (tests).
    """

    def __init__(
        self, maxsize: int = 1024, ttl: float | None = 3600.0, *, clock: Any = time.monotonic
    ) -> None:
        if isinstance(maxsize, bool) or not isinstance(maxsize, int) or maxsize < 1:
            raise InvalidRequestError(f"maxsize must be an integer >= 1, got {maxsize!r}")
        if ttl is not None and (isinstance(ttl, bool) or not ttl > 0):
            raise InvalidRequestError(f"ttl must be a positive number of seconds, got {ttl!r}")
        self.maxsize = maxsize
        self.ttl = ttl
        self._clock = clock
        self._data: OrderedDict[str, tuple[float | None, str]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"LRUCache(maxsize={self.maxsize}, ttl={self.ttl}, size={len(self._data)})"

    def get(self, key: str) -> str | None:
        with self._lock:
            entry = self._data.get(key)
            if entry is None:
                return None
            expires, value = entry
            if expires is not None and self._clock() >= expires:
                del self._data[key]
                return None
            self._data.move_to_end(key)
            return value

    def set(self, key: str, value: str, ttl: float | None = None) -> None:
        ttl = self.ttl if ttl is None else ttl
        expires = None if ttl is None else self._clock() + ttl
        with self._lock:
            self._data[key] = (expires, value)
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


# Responses served from a cache, by id (entries vanish with their response).
_HITS: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()


def is_cached(response: RerankResponse) -> bool:
    """Whether ``response`` was served from a :class:`CachedReranker`'s cache."""
    return _HITS.get(id(response)) is response


def cache_key(identity: Any, fields: dict[str, Any]) -> str:
    """The cache key of a request: SHA-256 of canonical JSON (sorted keys, no spaces)."""
    from .schema import RerankRequest

    request = RerankRequest.create(**{k: v for k, v in fields.items() if v is not None})
    payload = {"v": 1, "reranker": identity, "request": request.model_dump(mode="json")}
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "unified-rerank:" + hashlib.sha256(text.encode()).hexdigest()


class CachedReranker(Closing):
    """Wraps any reranker (``RerankClient``, ``Router``, ...) with a cache; itself a reranker.

    Args:
        client: the reranker to call on a miss.
        cache: the store (default: a new ``LRUCache()``).
        ttl: seconds an entry lives (None: the store's default).
        namespace: replaces the reranker's identity in the key (share a store across
            processes for rerankers the package cannot describe).
        hooks: receives ``cache_hit`` events.
    """

    def __init__(
        self,
        client: Reranker,
        cache: CacheStore | None = None,
        *,
        ttl: float | None = None,
        namespace: str | None = None,
        hooks: HooksArg = None,
    ) -> None:
        if not isinstance(client, Reranker):
            raise InvalidRequestError("CachedReranker needs a reranker with rerank/arerank")
        self.client = client
        self.cache: CacheStore = cache if cache is not None else LRUCache()
        self.ttl = ttl
        self.namespace = namespace
        self._emit = emitter(hooks)
        self.hits = 0
        self.misses = 0

    def __repr__(self) -> str:
        return f"CachedReranker({self.client!r}, cache={self.cache!r})"

    @property
    def provider(self) -> str | None:
        return getattr(self.client, "provider", None)

    def cache_identity(self) -> Any:
        return _identity(self.client) if self.namespace is None else {"ns": self.namespace}

    def _key(self, fields: dict[str, Any]) -> str:
        fields = dict(fields)
        provider = getattr(self.client, "provider", None)
        identity = self.cache_identity()
        model = fields.get("model")
        if isinstance(model, str) and model:
            from .providers import split_model

            try:  # "cohere/rerank-v3.5" and provider="cohere" + "rerank-v3.5" are one request
                slug, model_id = split_model(model, provider)
            except InvalidRequestError:
                pass  # the reranker itself will say what is wrong, or route it
            else:
                fields["model"] = f"{slug}/{model_id}"
                if isinstance(identity, dict) and "provider" in identity:
                    identity = {k: v for k, v in identity.items() if k != "provider"}
        else:
            fields["model"] = "(router)"
        return cache_key(identity, fields)

    def _hit(self, text: str, fields: dict[str, Any]) -> RerankResponse:
        from .schema import RerankResponse

        resp = RerankResponse.model_validate_json(text)
        _HITS[id(resp)] = resp
        self.hits += 1
        self._emit(
            Event(
                "cache_hit",
                new_call_id(),
                resp.provider,
                model=resp.model,
                documents=len(fields["documents"]),
                top_n=fields.get("top_n"),
            )
        )
        return resp

    def rerank(
        self,
        *,
        model: str | None = None,
        query: str,
        documents: list[Document],
        top_n: int | None = None,
        return_documents: bool = False,
        max_tokens_per_doc: int | None = None,
        priority: float | None = None,
        rank_fields: list[str] | None = None,
        truncation: bool | None = None,
        parameters: dict[str, Any] | None = None,
    ) -> RerankResponse:
        """Answer from the cache, else from the wrapped reranker (and store the answer)."""
        fields = dict(locals())
        fields.pop("self")
        key = self._key(fields)
        text = self.cache.get(key)
        if text is not None:
            return self._hit(text, fields)
        self.misses += 1
        resp = self.client.rerank(**{k: v for k, v in fields.items() if v is not None})
        self.cache.set(key, resp.model_dump_json(exclude_none=True), self.ttl)
        return resp

    async def arerank(
        self,
        *,
        model: str | None = None,
        query: str,
        documents: list[Document],
        top_n: int | None = None,
        return_documents: bool = False,
        max_tokens_per_doc: int | None = None,
        priority: float | None = None,
        rank_fields: list[str] | None = None,
        truncation: bool | None = None,
        parameters: dict[str, Any] | None = None,
    ) -> RerankResponse:
        """The same as :meth:`rerank`, natively async (an async store is awaited)."""
        fields = dict(locals())
        fields.pop("self")
        key = self._key(fields)
        store = self.cache
        text = await store.aget(key) if isinstance(store, AsyncCacheStore) else store.get(key)
        if text is not None:
            return self._hit(text, fields)
        self.misses += 1
        resp = await self.client.arerank(**{k: v for k, v in fields.items() if v is not None})
        value = resp.model_dump_json(exclude_none=True)
        if isinstance(store, AsyncCacheStore):
            await store.aset(key, value, self.ttl)
        else:
            store.set(key, value, self.ttl)
        return resp

    def close(self) -> None:
        close = getattr(self.client, "close", None)
        if callable(close):
            close()

    async def aclose(self) -> None:
        aclose = getattr(self.client, "aclose", None)
        if callable(aclose):
            await aclose()
