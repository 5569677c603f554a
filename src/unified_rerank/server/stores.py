"""Cache stores for the server: the core's in-process LRU, or Redis shared by replicas.

:class:`RedisStore` has both the sync and the async store methods of
``unified_rerank.cache``; the server awaits the async ones. A Redis outage never fails a
request: a failed read is a miss, a failed write is skipped, and both are logged (the error's
type only: a Redis URL may hold a password).
"""

from __future__ import annotations

import logging
from typing import Any

from ..cache import CacheStore, LRUCache
from .config import CacheSettings, ConfigError

__all__ = ["RedisStore", "make_store"]

logger = logging.getLogger("unified_rerank.server")


class RedisStore:
    """Answers kept in Redis under ``prefix + key``, expiring after their ttl.

    Args:
        url: a ``redis://`` or ``rediss://`` URL (its password never appears in a repr).
        prefix: prepended to every key, so one Redis can serve several deployments.
    """

    def __init__(self, url: str, prefix: str = "unified-rerank-server:") -> None:
        import redis
        import redis.asyncio

        self.prefix = prefix
        self._sync = redis.Redis.from_url(url)
        self._async = redis.asyncio.Redis.from_url(url)
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)

    def __repr__(self) -> str:
        return f"RedisStore(prefix={self.prefix!r})"

    def get(self, key: str) -> str | None:
        try:
            value = self._sync.get(self.prefix + key)
        except self._errors as exc:
            self._failed("get", exc)
            return None
        return _text(value)

    def set(self, key: str, value: str, ttl: float | None = None) -> None:
        try:
            self._sync.set(self.prefix + key, value, px=_millis(ttl))
        except self._errors as exc:
            self._failed("set", exc)

    async def aget(self, key: str) -> str | None:
        try:
            value = await self._async.get(self.prefix + key)
        except self._errors as exc:
            self._failed("get", exc)
            return None
        return _text(value)

    async def aset(self, key: str, value: str, ttl: float | None = None) -> None:
        try:
            await self._async.set(self.prefix + key, value, px=_millis(ttl))
        except self._errors as exc:
            self._failed("set", exc)

    async def aclose(self) -> None:
        await self._async.aclose()
        self._sync.close()

    def _failed(self, what: str, exc: BaseException) -> None:
        logger.warning(
            "redis cache %s failed (%s): serving without the cache", what, type(exc).__name__
        )


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


def _millis(ttl: float | None) -> int | None:
    return None if ttl is None else max(1, int(ttl * 1000))


def make_store(settings: CacheSettings) -> CacheStore:
    """The store the ``cache`` settings name."""
    if settings.store == "redis":
        try:
            return RedisStore(settings.redis_url(), settings.prefix)
        except ValueError as exc:  # its message never quotes the URL (it may hold a password)
            field = "cache.url_env" if settings.url_env else "cache.url"
            raise ConfigError(f"{field}: {exc}") from None
    return LRUCache(maxsize=settings.maxsize, ttl=settings.ttl)
