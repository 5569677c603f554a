"""Bearer tokens obtained by an exchange, cached, and exchanged again shortly before they expire.

``watsonx`` trades an API key for an IBM IAM token: one form POST, described as an
``HttpCall`` and sent by the transport over its own httpx clients (:class:`HttpExchange`).
``vertex-ai`` has google-auth refresh Application Default Credentials with google-auth's own
blocking transport, run in a worker thread on async calls (:class:`BlockingExchange`).

Either way the provider puts a :class:`TokenAuth` on its ``HttpCall.credentials``; the
transport asks it for headers before every attempt (``headers`` on sync calls, ``aheaders`` on
async ones) and reports a 401, after which the token is exchanged again. One exchange runs at
a time: the first caller that finds the token stale exchanges it, and every other caller, in
any thread or event loop, waits for that result (async callers without blocking their loop).
:func:`shared` keeps one ``TokenAuth`` per credential for the whole process, so every client
and every call with the same key share one token.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Protocol

from .base import HttpCall, RawResponse

__all__ = [
    "BlockingExchange",
    "HttpExchange",
    "Issued",
    "TokenAuth",
    "clear_shared",
    "early_refresh",
    "fingerprint",
    "shared",
]

Send = Callable[[HttpCall], RawResponse]
AsyncSend = Callable[[HttpCall], Awaitable[RawResponse]]


@dataclass(frozen=True)
class Issued:
    """What one exchange gave: the headers to send, and for how many seconds they are good
    (None: no expiry known; they are then kept until the service answers 401)."""

    headers: Mapping[str, str] = field(repr=False)
    lifetime: float | None


class Exchange(Protocol):
    def fetch(self, send: Send) -> Issued: ...

    async def afetch(self, send: AsyncSend) -> Issued: ...


@dataclass(frozen=True)
class HttpExchange:
    """A token obtained by one HTTP request (``call``), read from the answer by ``read``."""

    call: HttpCall
    read: Callable[[RawResponse], Issued]

    def fetch(self, send: Send) -> Issued:
        return self.read(send(self.call))

    async def afetch(self, send: AsyncSend) -> Issued:
        return self.read(await send(self.call))


@dataclass(frozen=True)
class BlockingExchange:
    """A token a library obtains with its own blocking I/O (google-auth): called as is on
    sync calls, in a worker thread on async ones."""

    refresh: Callable[[], Issued]

    def fetch(self, send: Send) -> Issued:
        return self.refresh()

    async def afetch(self, send: AsyncSend) -> Issued:
        return await asyncio.to_thread(self.refresh)


def early_refresh(lifetime: float) -> float:
    """Seconds before expiry at which a token is exchanged again: the ibm-watsonx-ai SDK's
    rule (``RefreshableTokenAuth``): 15 minutes for tokens living over 30 minutes (IAM's live
    an hour), a third of the lifetime down to 3 minutes, else one minute."""
    if lifetime > 1800:
        return 900.0
    if lifetime > 180:
        return lifetime / 3
    return 60.0


#: The default clock; tests replace it to fix time for tokens made inside a provider.
wall_clock: Callable[[], float] = time.time


class _Abandoned(Exception):
    """The exchanging caller was cancelled: a waiter tries again rather than fail with it."""


class TokenAuth:
    """``HttpCall.credentials`` for exchanged tokens: cached, refreshed ``margin(lifetime)``
    seconds before expiry, one exchange at a time across threads and event loops.

    Args:
        exchange: how a token is obtained (:class:`HttpExchange`, :class:`BlockingExchange`).
        clock: seconds since the epoch (default: the module's ``wall_clock``, looked up on
            each use).
        margin: seconds before expiry to exchange again, given the token's lifetime.
    """

    def __init__(
        self,
        exchange: Exchange,
        *,
        clock: Callable[[], float] | None = None,
        margin: Callable[[float], float] = early_refresh,
    ) -> None:
        self._exchange = exchange
        self._clock = clock
        self._margin = margin
        self._lock = threading.Lock()
        self._cached: Mapping[str, str] | None = None
        self._refresh_at = -math.inf
        self._inflight: Future[Mapping[str, str]] | None = None

    def __repr__(self) -> str:  # never the token
        return f"TokenAuth(cached={self._cached is not None}, refresh_at={self._refresh_at})"

    def headers(self, send: Send) -> Mapping[str, str]:
        while True:
            cached, future, leading = self._claim()
            if cached is not None:
                return cached
            assert future is not None
            if leading:
                try:
                    issued = self._exchange.fetch(send)
                except BaseException as exc:
                    self._fail(future, exc)
                    raise
                return self._store(future, issued)
            try:
                return future.result()
            except _Abandoned:
                continue

    async def aheaders(self, send: AsyncSend) -> Mapping[str, str]:
        while True:
            cached, future, leading = self._claim()
            if cached is not None:
                return cached
            assert future is not None
            if leading:
                try:
                    issued = await self._exchange.afetch(send)
                except BaseException as exc:
                    self._fail(future, exc)
                    raise
                return self._store(future, issued)
            try:
                # Waits without blocking this loop, whichever thread or loop leads.
                return await asyncio.wrap_future(future)
            except _Abandoned:
                continue

    def rejected(self, headers: Mapping[str, str]) -> None:
        """A 401 answered a request sent with ``headers``: the next attempt exchanges again
        (unless another caller already has)."""
        with self._lock:
            if self._cached == headers:
                self._cached = None

    # -- the cache; every step under the lock, no I/O while holding it -----------------------

    def _now(self) -> float:
        return self._clock() if self._clock is not None else wall_clock()

    def _claim(self) -> tuple[Mapping[str, str] | None, Future[Mapping[str, str]] | None, bool]:
        """``(headers, None, False)`` while fresh; else the exchange in flight to wait for,
        and whether this caller is to run it."""
        with self._lock:
            if self._cached is not None and self._now() < self._refresh_at:
                return self._cached, None, False
            if self._inflight is not None:
                return None, self._inflight, False
            future: Future[Mapping[str, str]] = Future()
            future.set_running_or_notify_cancel()  # a cancelled waiter cannot cancel it
            self._inflight = future
            return None, future, True

    def _store(self, future: Future[Mapping[str, str]], issued: Issued) -> Mapping[str, str]:
        headers = dict(issued.headers)
        with self._lock:
            self._cached = headers
            lifetime = issued.lifetime
            self._refresh_at = (
                math.inf if lifetime is None else self._now() + lifetime - self._margin(lifetime)
            )
            self._inflight = None
        future.set_result(headers)
        return headers

    def _fail(self, future: Future[Mapping[str, str]], exc: BaseException) -> None:
        with self._lock:
            self._inflight = None
        # Waiters share a failed exchange's error; a cancelled one makes them try again.
        future.set_exception(exc if isinstance(exc, Exception) else _Abandoned())


# -- one TokenAuth per credential, process-wide -------------------------------------------------

_SHARED_MAX = 64
_shared: OrderedDict[Hashable, TokenAuth] = OrderedDict()
_shared_lock = threading.Lock()


def fingerprint(secret: str) -> str:
    """A stand-in for a secret in cache keys (the secret itself is never a key)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def shared(key: Hashable, make: Callable[[], TokenAuth]) -> TokenAuth:
    """The ``TokenAuth`` for ``key`` (made by ``make`` the first time); the least recently
    used of more than 64 is forgotten."""
    with _shared_lock:
        auth = _shared.get(key)
        if auth is None:
            auth = _shared[key] = make()
            if len(_shared) > _SHARED_MAX:
                _shared.popitem(last=False)
        else:
            _shared.move_to_end(key)
        return auth


def clear_shared() -> None:
    """Forget every cached token (tests; after a key was revoked)."""
    with _shared_lock:
        _shared.clear()
