"""The ASGI app: routes, the gateway-key check, the body, the answer, logs and metrics.

``create_app(config)`` returns the app; :data:`app` (built on first access from the file named
by ``UNIFIED_RERANK_SERVER_CONFIG``) serves other ASGI servers::

    UNIFIED_RERANK_SERVER_CONFIG=server.json hypercorn unified_rerank.server.app:app

Routes: ``POST /rerank`` and ``POST /v1/rerank`` (Portkey's ``CreateRerankRequest`` ->
``CreateRerankResponse``), ``GET /health``, ``GET /openapi.json``, ``GET /metrics``.
A plain ASGI callable rather than a framework: five routes, and every microsecond per request
is the gateway's added latency.
"""

from __future__ import annotations

import contextvars
import hmac
import json
import logging
import os
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from importlib import resources
from typing import Any

from pydantic_core import from_json

from ..cache import CacheStore, is_cached
from ..errors import RerankError
from ..observability import Event
from .config import CONFIG_ENV, ServerConfig, load_config
from .errors import HttpError, from_rerank_error
from .metrics import Metrics
from .stores import make_store
from .upstream import REQUEST_FIELDS, Upstreams

__all__ = ["RerankServer", "app_from_env", "create_app"]

logger = logging.getLogger("unified_rerank.server")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

RERANK_PATHS = frozenset({"/rerank", "/v1/rerank"})
_REQUIRED = ("model", "query", "documents")
_JSON = (b"content-type", b"application/json")
_CACHE_DISABLED = b"DISABLED"

#: The current request's retry count, for the ``retry`` events of the clients it calls.
_RETRIES: contextvars.ContextVar[list[int]] = contextvars.ContextVar("retries")


class _Gone(Exception):
    """The client hung up before its body arrived."""


class RerankServer:
    """The ASGI app (see the module doc).

    Args:
        config: the validated server config.
        store: the cache store (default: the one the config's ``cache`` names).
    """

    def __init__(self, config: ServerConfig, *, store: CacheStore | None = None) -> None:
        self.config = config
        self.metrics = Metrics()
        self.store = store if store is not None else make_store(config.cache)
        self.upstreams = Upstreams(config, self.store, self._on_event)
        self._keys = config.server_keys
        self._openapi = resources.files(__package__).joinpath("openapi.json").read_bytes()

    def __repr__(self) -> str:
        return f"RerankServer({self.config!r})"

    # -- ASGI -----------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            path, method = scope["path"], scope["method"]
            if path in RERANK_PATHS:
                if method == "POST":
                    await self._rerank(scope, receive, send)
                else:
                    await _error(send, HttpError(405, "use POST", code="method_not_allowed"))
                return
            page = self._page(path)
            if page is None:
                await _error(send, HttpError(404, f"no route {path}", code="not_found"))
            elif method not in ("GET", "HEAD"):
                await _error(send, HttpError(405, "use GET", code="method_not_allowed"))
            else:
                ctype, body = page()
                await _send(send, 200, body, [(b"content-type", ctype)])
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    def _page(self, path: str) -> Callable[[], tuple[bytes, bytes]] | None:
        if path == "/health":
            return lambda: (b"application/json", b'{"status":"ok"}')
        if path == "/openapi.json":
            return lambda: (b"application/json", self._openapi)
        if path == "/metrics":
            return lambda: (Metrics.content_type.encode(), self.metrics.render())
        return None

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def aclose(self) -> None:
        """Close every upstream client and the cache store."""
        await self.upstreams.aclose()
        aclose = getattr(self.store, "aclose", None)
        if callable(aclose):
            await aclose()

    # -- POST /rerank -----------------------------------------------------------------------

    async def _rerank(self, scope: Scope, receive: Receive, send: Send) -> None:
        start = time.perf_counter()
        headers: dict[str, str] = {}
        for name, value in scope["headers"]:
            if name.startswith(b"x-portkey-") or name in (b"authorization", b"content-length"):
                headers[name.decode("latin-1")] = value.decode("latin-1")
        trace = headers.get("x-portkey-trace-id") or uuid.uuid4().hex
        retries = [0]
        _RETRIES.set(retries)  # this request's task only (each request runs in its own)
        provider, cache_status = "none", _CACHE_DISABLED
        try:
            self._check_key(headers)
            fields = _fields(await self._body(receive, headers))
            reranker = self.upstreams.choose(headers, fields.get("model"))
            response = await reranker.arerank(**fields)
        except _Gone:
            return
        except (HttpError, RerankError, Exception) as exc:
            err = _as_http_error(exc)
            provider = err.provider or "none"
            status, body, extra = err.status, err.body(), err.headers
            error_type: str | None = err.type
        else:
            provider, status, error_type, extra = response.provider or "none", 200, None, {}
            body = type(response).__pydantic_serializer__.to_json(response, exclude_none=True)
            if getattr(reranker, "cache", None) is not None:
                cache_status = b"HIT" if is_cached(response) else b"MISS"
                if cache_status == b"HIT":
                    self.metrics.cache_hits.labels(provider).inc()
        out = [
            _JSON,
            (b"x-portkey-trace-id", trace.encode("latin-1")),
            (b"x-portkey-retry-attempt-count", str(retries[0]).encode()),
            (b"x-portkey-cache-status", cache_status),
        ]
        out += [(k.encode(), v.encode()) for k, v in extra.items()]
        await _send(send, status, body, out)
        elapsed = time.perf_counter() - start
        self.metrics.observe(provider, status, elapsed, error_type)
        if logger.isEnabledFor(logging.INFO):
            self._log(scope, headers, trace, status, provider, elapsed, retries[0], cache_status)

    def _check_key(self, headers: dict[str, str]) -> None:
        if not self._keys:
            return
        given = headers.get("x-portkey-api-key", "").encode("latin-1")
        # Compared with every key, in constant time, so timing tells nothing about any.
        found = False
        for key in self._keys:
            found |= hmac.compare_digest(given, key)
        if not found:
            raise HttpError(
                401,
                "a valid gateway key is required in x-portkey-api-key",
                type="authentication_error",
                code="gateway_key",
            )

    async def _body(self, receive: Receive, headers: dict[str, str]) -> bytes:
        limit = self.config.max_body_bytes
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise _too_large(limit)
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Gone
        body = message.get("body", b"")
        if not message.get("more_body"):
            if len(body) > limit:
                raise _too_large(limit)
            return bytes(body)
        chunks, size = [body], len(body)
        while message.get("more_body"):
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Gone
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            chunks.append(chunk)
        return b"".join(chunks)

    def _on_event(self, event: Event) -> None:
        kind = event.kind
        if kind == "retry":
            counter = _RETRIES.get(None)
            if counter is not None:
                counter[0] += 1
            self.metrics.retries.labels(event.provider or "none").inc()
        elif kind == "fallback":
            self.metrics.fallbacks.labels(event.provider or "none").inc()

    def _log(
        self,
        scope: Scope,
        headers: dict[str, str],
        trace: str,
        status: int,
        provider: str,
        elapsed: float,
        retries: int,
        cache: bytes,
    ) -> None:
        spans = {
            k: headers[f"x-portkey-{k.replace('_', '-')}"]
            for k in ("span_id", "parent_span_id", "span_name")
            if f"x-portkey-{k.replace('_', '-')}" in headers
        }
        logger.info(
            "%s %s %d provider=%s ms=%.1f retries=%d cache=%s trace_id=%s spans=%s metadata=%s",
            scope["method"],
            scope["path"],
            status,
            provider,
            elapsed * 1000,
            retries,
            cache.decode(),
            trace,
            json.dumps(spans) if spans else "{}",
            _metadata(headers.get("x-portkey-metadata"), self.config.max_metadata_bytes),
        )


def _fields(body: bytes) -> dict[str, Any]:
    """The request's fields, refusing what breaks ``CreateRerankRequest``'s shape (the core
    checks every value's type before anything is sent)."""
    try:
        data = from_json(body, allow_inf_nan=False)
    except ValueError:
        raise HttpError(400, "the body is not valid JSON", code="invalid_json") from None
    if not isinstance(data, dict):
        raise HttpError(400, "the body must be a JSON object (CreateRerankRequest)")
    for name in _REQUIRED:
        if name not in data:
            raise HttpError(400, f"`{name}` is required", code="missing_field")
    if len(data) > 3 and not REQUEST_FIELDS.issuperset(data):
        unknown = sorted(set(data) - REQUEST_FIELDS)
        raise HttpError(
            400,
            f"unknown field(s) {unknown}; CreateRerankRequest takes {sorted(REQUEST_FIELDS)}",
            code="unknown_field",
        )
    return data


def _as_http_error(exc: BaseException) -> HttpError:
    if isinstance(exc, HttpError):
        return exc
    if isinstance(exc, RerankError):
        return from_rerank_error(exc)
    # A bug here, not the caller's fault: log the type and place only (no message: it could
    # quote a request value).
    logger.error("internal error %s", type(exc).__name__, exc_info=(type(exc), exc, None))
    return HttpError(500, "internal server error", type="server_error", code="internal")


def _too_large(limit: int) -> HttpError:
    return HttpError(
        413, f"the body is larger than this server's limit of {limit} bytes", code="too_large"
    )


def _metadata(value: str | None, limit: int) -> str:
    if not value:
        return "{}"
    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = value
    text = json.dumps(parsed, separators=(",", ":"), ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + "...(truncated)"


async def _send(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _error(send: Send, err: HttpError) -> None:
    await _send(send, err.status, err.body(), [_JSON])


def create_app(
    config: ServerConfig | None = None, *, store: CacheStore | None = None
) -> RerankServer:
    """The app for ``config`` (default: no upstream configured; callers name theirs)."""
    return RerankServer(config or ServerConfig(), store=store)


def app_from_env() -> RerankServer:
    """The app for the config file named by ``UNIFIED_RERANK_SERVER_CONFIG`` (if any)."""
    return create_app(load_config(os.environ.get(CONFIG_ENV) or None))


_built: list[RerankServer] = []


def __getattr__(name: str) -> Any:
    if name == "app":  # built on first access, so importing this module reads no file
        if not _built:
            _built.append(app_from_env())
        return _built[0]
    raise AttributeError(name)
