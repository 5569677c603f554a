"""The only I/O in the package: send an :class:`HttpCall` over ``httpx``, sync or async.

Retry decisions are pure (:class:`RetryPolicy`) and shared by both loops; an error is retried
only when it says ``retryable`` (connection errors, timeouts, 408, 429, 5xx, undecodable
bodies), waiting what the server asked for (``Retry-After``, ``retry-after-ms``: seconds or an
HTTP date), else a jittered exponential backoff, always capped. An optional total time budget
(``RetryPolicy.budget``) bounds a whole call: no retry starts whose wait would end past it, and
each attempt's timeout is trimmed to what is left. Every attempt, retry, success and failure is
reported to the ``hooks`` (see :mod:`unified_rerank.observability`), without key or text.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import random
import threading
import time
from collections.abc import AsyncGenerator, Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import httpx

from .errors import APIConnectionError, APITimeoutError, RerankError
from .observability import Emitter, Event, EventKind, HooksArg, emitter, new_call_id
from .providers.base import HttpCall, RawResponse

if TYPE_CHECKING:
    from .schema import RerankRequest

__all__ = ["RetryPolicy", "Transport", "make_policy"]

T = TypeVar("T")
logger = logging.getLogger("unified_rerank")


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to wait before the next attempt (pure; no sleeping here).

    Args:
        max_retries: retries after the first attempt.
        base_delay / max_delay: the jittered exponential backoff (``uniform(0, base * 2**n)``,
            at most ``max_delay``), used when the server did not say how long to wait.
        max_retry_after: a server asking for a longer wait than this is waited for this long.
        budget: total seconds for the whole call, retries and waits included (None: no
            bound). No retry starts whose wait would end past it, and each attempt's timeout
            is trimmed to what is left.
        on_status_codes: when given, an HTTP error is retried only if its status is listed
            (Portkey's ``retry.on_status_codes``); errors without a status (timeouts,
            dropped connections, bodies cut short) are retried as usual.
    """

    max_retries: int = 2
    base_delay: float = 0.5
    max_delay: float = 8.0
    #: A server asking for a longer wait than this is waited for this long at most.
    max_retry_after: float = 60.0
    budget: float | None = None
    on_status_codes: frozenset[int] | None = None

    def retryable(self, error: RerankError) -> bool:
        status = error.status_code
        if self.on_status_codes is not None and status is not None and status >= 300:
            return status in self.on_status_codes
        return error.retryable

    def delay(
        self, retries_done: int, error: RerankError, remaining: float | None = None
    ) -> float | None:
        """Seconds to wait before retrying, or None to give up and raise ``error``.

        ``remaining``: seconds left of the budget; a wait that would use it all gives up.
        """
        if retries_done >= self.max_retries or not self.retryable(error):
            return None
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            wait = min(max(0.0, float(retry_after)), self.max_retry_after)
        else:
            # "Full jitter" exponential backoff: spreads clients apart after a shared failure.
            wait = random.uniform(0.0, min(self.max_delay, self.base_delay * 2.0**retries_done))
        if remaining is not None and wait >= remaining:
            return None
        return wait


def make_policy(
    max_retries: int, budget: float | None = None, policy: RetryPolicy | None = None
) -> RetryPolicy:
    """The client's policy: ``policy`` if given, else the default one with ``max_retries``;
    ``budget`` (when not None) overrides the policy's total time budget."""
    if budget is not None and (isinstance(budget, bool) or not budget > 0):
        from .errors import InvalidRequestError

        raise InvalidRequestError(f"retry_budget must be a positive number, got {budget!r}")
    base = policy if policy is not None else RetryPolicy(max_retries=max_retries)
    return base if budget is None else replace(base, budget=float(budget))


def _where(url: str) -> str:
    parts = urlsplit(url)
    # Never the path, query or user info (``user:password@`` in a base_url): no secret leaks.
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


class _Call:
    """The bookkeeping of one logical call: timing, budget, attempt count and events."""

    __slots__ = ("attempt", "call_id", "deadline", "emit", "fields", "provider", "start")

    def __init__(self, transport: Transport, provider: str, request: RerankRequest | None) -> None:
        self.provider = provider
        self.start = time.monotonic()
        budget = transport.retry.budget
        self.deadline = None if budget is None else self.start + budget
        self.attempt = 0
        emit = transport.emit
        self.emit: Emitter | None = (
            emit if emit.hooks or logger.isEnabledFor(logging.DEBUG) else None
        )
        self.call_id = new_call_id() if self.emit is not None else 0
        self.fields: dict[str, Any] = {}
        if request is not None and self.emit is not None:
            self.fields = {
                "model": request.model,
                "documents": len(request.documents),
                "top_n": request.top_n,
            }

    def event(self, kind: EventKind, **values: Any) -> None:
        if self.emit is not None:
            self.emit(
                Event(
                    kind,
                    self.call_id,
                    self.provider,
                    attempt=self.attempt,
                    **self.fields,
                    **values,
                )
            )

    def begin(self) -> None:
        self.attempt += 1
        if self.emit is not None:
            self.event("request")

    def remaining(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()

    def timeout(self, configured: float | httpx.Timeout | None) -> Any:
        """The timeout for this attempt: the configured one, trimmed to the budget left."""
        if self.deadline is None:
            return _UNSET
        left = max(self.deadline - time.monotonic(), 0.001)
        if configured is None:
            return left
        if isinstance(configured, httpx.Timeout):
            parts = (configured.connect, configured.read, configured.write, configured.pool)
            return httpx.Timeout(*(left if p is None else min(p, left) for p in parts))
        return min(float(configured), left)

    def succeeded(self, status: int) -> None:
        if self.emit is not None:
            self.event("response", status=status, latency=time.monotonic() - self.start)

    def failed(self, err: RerankError) -> None:
        self.event(
            "error",
            status=err.status_code,
            error=type(err).__name__,
            latency=time.monotonic() - self.start,
        )


#: "No per-request timeout": the pooled client's own timeout applies.
_UNSET: Any = object()


class Transport:
    """Runs calls over one pooled ``httpx.Client`` and one ``httpx.AsyncClient`` (lazily)."""

    def __init__(
        self,
        *,
        timeout: float | httpx.Timeout | None,
        retry: RetryPolicy,
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
        hooks: HooksArg = None,
    ) -> None:
        self.timeout = timeout
        self.retry = retry
        self.emit = emitter(hooks)
        self._sync = http_client
        self._async = async_http_client
        #: Our async pools, one per event loop (a pool's connections belong to one loop).
        self._pools: dict[asyncio.AbstractEventLoop, _LoopPool] = {}
        self._opening: dict[asyncio.AbstractEventLoop, asyncio.Task[httpx.AsyncClient]] = {}
        self._own_sync = http_client is None
        self._own_async = async_http_client is None
        self._lock = threading.Lock()
        # Parsed URLs and header sets, reused across calls: parsing and normalising them is
        # a fifth of httpx's own per-request cost, and a client sends the same few each time.
        self._urls: dict[str, httpx.URL] = {}
        self._header_sets: dict[tuple[tuple[str, str], ...], httpx.Headers] = {}

    # -- clients ---------------------------------------------------------------------------

    def _sync_client(self) -> httpx.Client:
        if self._sync is None:
            with self._lock:
                if self._sync is None:
                    self._sync = httpx.Client(timeout=self.timeout, limits=_POOL)
        return self._sync

    async def _async_client(self) -> httpx.AsyncClient:
        if self._async is not None:  # the caller's own client, used as it is
            return self._async
        loop = asyncio.get_running_loop()
        pool = self._pools.get(loop)
        return pool.client if pool is not None else await self._open_pool(loop)

    async def _open_pool(self, loop: asyncio.AbstractEventLoop) -> httpx.AsyncClient:
        """A pool for this loop (a new ``asyncio.run``, a new test: a pool's connections
        belong to the loop that opened them), closed when the loop shuts down. Concurrent
        first calls wait for one pool being built (each would cost an SSL context)."""
        opening = self._opening.get(loop)
        if opening is None:
            opening = self._opening[loop] = loop.create_task(self._build_pool(loop))

            def done(task: asyncio.Task[httpx.AsyncClient]) -> None:
                if self._opening.get(loop) is task:
                    del self._opening[loop]

            opening.add_done_callback(done)
        # Shielded: a caller cancelled while waiting does not cancel the others' pool.
        return await asyncio.shield(opening)

    async def _build_pool(self, loop: asyncio.AbstractEventLoop) -> httpx.AsyncClient:
        client = await asyncio.to_thread(self._new_async_client)
        # Closed pools of loops that ended without shutting down their async generators
        # (a bare loop.close()) are forgotten: their connections cannot be closed any more.
        for stale in [other for other in self._pools if other.is_closed()]:
            del self._pools[stale]
        pool = self._pools[loop] = _LoopPool(client, _close_at_shutdown(client, self._pools, loop))
        # Started on this loop, the generator is registered with it: the loop's
        # shutdown_asyncgens() (asyncio.run does it) closes the pool before the loop closes.
        await pool.closer.__anext__()
        return client

    def _new_async_client(self) -> httpx.AsyncClient:
        """A new async pool, and the modules its first request would import on the loop
        (anyio's asyncio backend, h11: ~0.1 s). Run in a thread: building the pool loads an
        SSL context (tens of ms) too."""
        for name in _FIRST_REQUEST_IMPORTS:
            with contextlib.suppress(ImportError):
                importlib.import_module(name)
        return httpx.AsyncClient(timeout=self.timeout, limits=_POOL)

    def close(self) -> None:
        if self._sync is not None and self._own_sync:
            self._sync.close()
            self._sync = None

    async def aclose(self) -> None:
        """Close the sync pool and this event loop's async pool (pools of other loops close
        when their loops shut down)."""
        pool = self._pools.get(asyncio.get_running_loop())
        if pool is not None:
            await pool.closer.aclose()
        self.close()

    # -- sending ---------------------------------------------------------------------------

    def send(
        self,
        call: HttpCall,
        handle: Callable[[RawResponse], T],
        provider: str,
        *,
        request: RerankRequest | None = None,
    ) -> T:
        """Send ``call`` (retrying as the policy says) and return ``handle(answer)``.

        ``request``: the (window) request being sent, for the events' model and counts.
        """
        state = _Call(self, provider, request)
        while True:
            state.begin()
            try:
                raw = self._exchange(call, provider, state.timeout(self.timeout))
                result = handle(raw)
            except RerankError as err:
                delay = self._next_delay(state, err, call)
                if delay is None:
                    state.failed(err)
                    raise
            else:
                state.succeeded(raw.status_code)
                return result
            time.sleep(delay)

    async def asend(
        self,
        call: HttpCall,
        handle: Callable[[RawResponse], T],
        provider: str,
        *,
        request: RerankRequest | None = None,
    ) -> T:
        """The same as :meth:`send`, natively async."""
        state = _Call(self, provider, request)
        while True:
            state.begin()
            try:
                raw = await self._aexchange(call, provider, state.timeout(self.timeout))
                result = handle(raw)
            except RerankError as err:
                delay = self._next_delay(state, err, call)
                if delay is None:
                    state.failed(err)
                    raise
            else:
                state.succeeded(raw.status_code)
                return result
            await asyncio.sleep(delay)

    def _next_delay(self, state: _Call, err: RerankError, call: HttpCall) -> float | None:
        retries = state.attempt - 1
        cap = call.max_retries
        if cap is not None and err.status_code is not None and retries >= cap:
            return None  # the far side retried already (a gateway's own retry config)
        delay = self.retry.delay(retries, err, state.remaining())
        if delay is not None:
            logger.info(
                "retrying %s after %s%s (retry %d of %d) in %.2fs",
                state.provider,
                type(err).__name__,
                f" HTTP {err.status_code}" if err.status_code is not None else "",
                retries + 1,
                self.retry.max_retries,
                delay,
            )
            state.event(
                "retry",
                status=err.status_code,
                error=type(err).__name__,
                delay=delay,
                latency=time.monotonic() - state.start,
            )
        return delay

    def _prepared(self, call: HttpCall) -> tuple[httpx.URL, httpx.Headers]:
        """``call``'s URL and headers as httpx objects, parsed once per distinct value."""
        url = self._urls.get(call.url)
        if url is None:
            if len(self._urls) >= _PREPARED_MAX:
                self._urls.clear()
            url = self._urls[call.url] = httpx.URL(call.url)
        if call.signer is not None:
            # Signed calls (Bedrock) get fresh signature headers on every attempt.
            return url, httpx.Headers({**call.headers, **call.signer(call)})
        key = tuple(call.headers.items())
        headers = self._header_sets.get(key)
        if headers is None:
            if len(self._header_sets) >= _PREPARED_MAX:
                self._header_sets.clear()
            # httpx copies the headers it is given into each request: a shared one stays as is.
            headers = self._header_sets[key] = httpx.Headers(call.headers)
        return url, headers

    def _exchange(self, call: HttpCall, provider: str, timeout: Any = _UNSET) -> RawResponse:
        url, headers = self._prepared(call)
        credentials, auth = call.credentials, _NO_HEADERS
        if credentials is not None:
            # An exchanged token (sent, if need be, over this same client and timeout).
            auth = credentials.headers(lambda c: self._exchange(c, provider, timeout))
            headers = _with(headers, auth)
        extra = {} if timeout is _UNSET else {"timeout": timeout}
        try:
            r = self._sync_client().request(
                call.method, url, content=call.body, headers=headers, **extra
            )
        except httpx.HTTPError as exc:
            raise _transport_error(exc, call, provider) from None
        if credentials is not None and r.status_code == 401:
            credentials.rejected(auth)
        return RawResponse(r.status_code, r.headers, r.content)

    async def _aexchange(self, call: HttpCall, provider: str, timeout: Any = _UNSET) -> RawResponse:
        url, headers = self._prepared(call)
        credentials, auth = call.credentials, _NO_HEADERS
        if credentials is not None:
            auth = await credentials.aheaders(lambda c: self._aexchange(c, provider, timeout))
            headers = _with(headers, auth)
        extra = {} if timeout is _UNSET else {"timeout": timeout}
        try:
            client = await self._async_client()
            r = await client.request(call.method, url, content=call.body, headers=headers, **extra)
        except httpx.HTTPError as exc:
            raise _transport_error(exc, call, provider) from None
        if credentials is not None and r.status_code == 401:
            credentials.rejected(auth)
        return RawResponse(r.status_code, r.headers, r.content)


_NO_HEADERS: Mapping[str, str] = {}


@dataclass(frozen=True)
class _LoopPool:
    client: httpx.AsyncClient
    closer: AsyncGenerator[None, None]


async def _close_at_shutdown(
    client: httpx.AsyncClient,
    pools: dict[asyncio.AbstractEventLoop, _LoopPool],
    loop: asyncio.AbstractEventLoop,
) -> AsyncGenerator[None, None]:
    """Waits (suspended) until its loop shuts down its async generators or the transport
    closes it, then closes ``client``: no connection is left to a closed loop."""
    try:
        yield
    finally:
        pools.pop(loop, None)
        await client.aclose()


_POOL = httpx.Limits(max_connections=100, max_keepalive_connections=20)
#: What httpx loads on an async pool's first request (its dependencies' modules).
_FIRST_REQUEST_IMPORTS = ("anyio._backends._asyncio", "h11", "httpcore._async.http11")
_PREPARED_MAX = 64  # distinct URLs / header sets kept per client


def _with(headers: httpx.Headers, extra: Mapping[str, str]) -> httpx.Headers:
    """``headers`` (shared: never changed) with ``extra`` set over them, case-insensitively."""
    merged = headers.copy()
    merged.update(extra)
    return merged


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
