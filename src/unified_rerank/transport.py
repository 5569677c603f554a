"""The only I/O in the package: send an :class:`HttpCall` over ``httpx``, sync or async.

Retry decisions are pure (:class:`RetryPolicy`) and shared by both loops; an error is retried
only when it says ``retryable`` (connection errors, timeouts, 408, 429, 5xx, undecodable
bodies), waiting what the server asked for (``Retry-After``), else a jittered exponential
backoff, always capped.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit

import httpx

from .errors import APIConnectionError, APITimeoutError, RerankError
from .providers.base import HttpCall, RawResponse

__all__ = ["RetryPolicy", "Transport"]

T = TypeVar("T")
logger = logging.getLogger("unified_rerank")


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to wait before the next attempt (pure; no sleeping here)."""

    max_retries: int = 2
    base_delay: float = 0.5
    max_delay: float = 8.0
    #: A server asking for a longer wait than this is waited for this long at most.
    max_retry_after: float = 60.0

    def delay(self, retries_done: int, error: RerankError) -> float | None:
        """Seconds to wait before retrying, or None to give up and raise ``error``."""
        if retries_done >= self.max_retries or not error.retryable:
            return None
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            return min(float(retry_after), self.max_retry_after)
        # "Full jitter" exponential backoff: spreads clients apart after a shared failure.
        return random.uniform(0.0, min(self.max_delay, self.base_delay * 2.0**retries_done))


def _where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"  # never the path or query: no secret leaks


class Transport:
    """Runs calls over one pooled ``httpx.Client`` and one ``httpx.AsyncClient`` (lazily)."""

    def __init__(
        self,
        *,
        timeout: float | httpx.Timeout | None,
        retry: RetryPolicy,
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self.timeout = timeout
        self.retry = retry
        self._sync = http_client
        self._async = async_http_client
        self._async_loop: asyncio.AbstractEventLoop | None = None
        self._own_sync = http_client is None
        self._own_async = async_http_client is None
        self._lock = threading.Lock()

    # -- clients ---------------------------------------------------------------------------

    def _sync_client(self) -> httpx.Client:
        if self._sync is None:
            with self._lock:
                if self._sync is None:
                    self._sync = httpx.Client(timeout=self.timeout, limits=_POOL)
        return self._sync

    def _async_client(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        if self._async is None or (self._own_async and self._async_loop is not loop):
            # A pool is bound to the loop that opened its connections: a new loop (a new
            # asyncio.run, a new test) gets a fresh pool instead of "Event loop is closed".
            self._async = httpx.AsyncClient(timeout=self.timeout, limits=_POOL)
            self._async_loop = loop
        return self._async

    def close(self) -> None:
        if self._sync is not None and self._own_sync:
            self._sync.close()
            self._sync = None

    async def aclose(self) -> None:
        if self._async is not None and self._own_async:
            await self._async.aclose()
            self._async = None
        self.close()

    # -- sending ---------------------------------------------------------------------------

    def send(self, call: HttpCall, handle: Callable[[RawResponse], T], provider: str) -> T:
        retries = 0
        while True:
            try:
                return handle(self._exchange(call, provider))
            except RerankError as err:
                delay = self._next_delay(retries, err, provider)
                if delay is None:
                    raise
            retries += 1
            time.sleep(delay)

    async def asend(self, call: HttpCall, handle: Callable[[RawResponse], T], provider: str) -> T:
        retries = 0
        while True:
            try:
                return handle(await self._aexchange(call, provider))
            except RerankError as err:
                delay = self._next_delay(retries, err, provider)
                if delay is None:
                    raise
            retries += 1
            await asyncio.sleep(delay)

    def _next_delay(self, retries: int, err: RerankError, provider: str) -> float | None:
        delay = self.retry.delay(retries, err)
        if delay is not None:
            logger.info(
                "retrying %s after %s (retry %d of %d) in %.2fs",
                provider,
                type(err).__name__,
                retries + 1,
                self.retry.max_retries,
                delay,
            )
        return delay

    def _exchange(self, call: HttpCall, provider: str) -> RawResponse:
        headers = _headers(call)
        try:
            r = self._sync_client().request(
                call.method, call.url, content=call.body, headers=headers
            )
        except httpx.HTTPError as exc:
            raise _transport_error(exc, call, provider) from None
        return RawResponse(r.status_code, r.headers, r.content)

    async def _aexchange(self, call: HttpCall, provider: str) -> RawResponse:
        headers = _headers(call)
        try:
            r = await self._async_client().request(
                call.method, call.url, content=call.body, headers=headers
            )
        except httpx.HTTPError as exc:
            raise _transport_error(exc, call, provider) from None
        return RawResponse(r.status_code, r.headers, r.content)


_POOL = httpx.Limits(max_connections=100, max_keepalive_connections=20)


def _headers(call: HttpCall) -> Mapping[str, str]:
    # Signed calls (Bedrock) get fresh signature headers on every attempt.
    return call.headers if call.signer is None else {**call.headers, **call.signer(call)}


def _transport_error(exc: httpx.HTTPError, call: HttpCall, provider: str) -> RerankError:
    where = _where(call.url)
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(
            f"no answer from {where} within the timeout ({type(exc).__name__}); "
            "raise timeout=... or retry later",
            provider=provider,
        )
    return APIConnectionError(
        f"connection to {where} failed: {type(exc).__name__}: {exc}", provider=provider
    )
