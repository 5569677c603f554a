"""Hooks, logging and optional OpenTelemetry spans for rerank calls.

Every event is an :class:`Event`: what happened (``kind``), to which call (``call_id``), the
provider, model, document count, ``top_n``, attempt number, HTTP status, latency and, for
retries, the wait and the error's type. Events never hold a key, the query or any document
text, so they are safe to log or export as they are.

Event kinds:

- ``request``: an HTTP attempt is about to be sent (``attempt`` 1, 2, ...).
- ``response``: the call succeeded (``status``, ``latency`` since the first attempt).
- ``retry``: an attempt failed and another follows after ``delay`` seconds.
- ``error``: the call failed for good (``error`` names the exception type).
- ``fallback``: a :class:`~unified_rerank.routing.Router` moves from ``provider`` to ``target``.
- ``cache_hit``: a :class:`~unified_rerank.cache.CachedReranker` answered from its cache.

``hooks=`` (on ``RerankClient``, ``Router`` and ``CachedReranker``) takes a :class:`Hooks`,
any callable taking an :class:`Event`, or a list of them. A hook that raises is logged and
ignored: observability never breaks a call. :class:`OpenTelemetryHooks` turns the events into
spans; ``opentelemetry`` is imported only when one is created.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Union

__all__ = ["Event", "EventKind", "Hooks", "HooksArg", "OpenTelemetryHooks", "emitter"]

logger = logging.getLogger("unified_rerank")

EventKind = Literal["request", "response", "retry", "error", "fallback", "cache_hit"]
Hook = Callable[["Event"], Any]
#: What ``hooks=`` accepts: one hook, a list of hooks, or None.
HooksArg = Union[Hook, Sequence[Hook], None]  # noqa: UP007 (a runtime alias on 3.10)

_ids = itertools.count(1)
_ids_lock = threading.Lock()


def new_call_id() -> int:
    """A process-unique id tying the events of one logical call together."""
    with _ids_lock:
        return next(_ids)


@dataclass(frozen=True)
class Event:
    """One thing that happened during a rerank call. Holds no key and no text."""

    kind: EventKind
    call_id: int
    provider: str | None
    model: str | None = None
    documents: int | None = None
    top_n: int | None = None
    attempt: int | None = None
    status: int | None = None
    #: Seconds since the call's first attempt started (``response``, ``retry``, ``error``).
    latency: float | None = None
    #: Seconds waited before the next attempt (``retry``).
    delay: float | None = None
    #: The exception's type name (``retry``, ``error``, ``fallback``), never its message.
    error: str | None = None
    #: The provider a fallback moves to (``fallback``).
    target: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def attributes(self) -> dict[str, Any]:
        """The event's set fields, flat (for logging or span attributes)."""
        out: dict[str, Any] = {}
        for name in (
            "provider",
            "model",
            "documents",
            "top_n",
            "attempt",
            "status",
            "latency",
            "delay",
            "error",
            "target",
        ):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out


class Hooks:
    """Callbacks per event kind; pass it as ``hooks=``.

    >>> Hooks(on_retry=lambda e: print(e.provider, e.attempt, e.delay))

    ``on_event`` receives every event. Subclass and override :meth:`__call__` for more.
    """

    def __init__(
        self,
        *,
        on_request: Hook | None = None,
        on_response: Hook | None = None,
        on_retry: Hook | None = None,
        on_error: Hook | None = None,
        on_fallback: Hook | None = None,
        on_cache_hit: Hook | None = None,
        on_event: Hook | None = None,
    ) -> None:
        self._by_kind: dict[str, Hook | None] = {
            "request": on_request,
            "response": on_response,
            "retry": on_retry,
            "error": on_error,
            "fallback": on_fallback,
            "cache_hit": on_cache_hit,
        }
        self._on_event = on_event

    def __call__(self, event: Event) -> None:
        hook = self._by_kind.get(event.kind)
        if hook is not None:
            hook(event)
        if self._on_event is not None:
            self._on_event(event)

    def __repr__(self) -> str:
        set_ = [k for k, v in self._by_kind.items() if v is not None]
        if self._on_event is not None:
            set_.append("event")
        return f"Hooks({', '.join(set_)})"


class Emitter:
    """Sends events to the configured hooks, logs them at DEBUG, and contains hook failures."""

    __slots__ = ("hooks",)

    def __init__(self, hooks: Sequence[Hook]) -> None:
        self.hooks = tuple(hooks)

    def __bool__(self) -> bool:
        return bool(self.hooks)

    def __call__(self, event: Event) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("rerank %s %s", event.kind, event.attributes())
        for hook in self.hooks:
            try:
                hook(event)
            except Exception as exc:  # a broken hook must not break the call
                logger.warning("rerank hook %r failed: %s", hook, type(exc).__name__)


def emitter(hooks: HooksArg) -> Emitter:
    """Normalise a ``hooks=`` argument (one hook, a list, or None) into an :class:`Emitter`."""
    if hooks is None:
        return Emitter(())
    if isinstance(hooks, Emitter):
        return hooks
    if callable(hooks):
        return Emitter((hooks,))
    items = list(hooks)
    for h in items:
        if not callable(h):
            from .errors import InvalidRequestError

            raise InvalidRequestError(f"hooks must be callables taking an Event, got {h!r}")
    return Emitter(items)


class OpenTelemetryHooks:
    """One OpenTelemetry span per rerank call (retries included), from the events.

    The span ``unified_rerank.rerank`` carries ``rerank.provider``, ``rerank.model``,
    ``rerank.documents``, ``rerank.top_n``, ``rerank.retries``, ``rerank.latency_s`` and, on
    failure, ``rerank.status_code``/``error.type``; never a key, the query or document text.
    Fallbacks and cache hits are recorded as span events / short spans.

    Needs ``opentelemetry-api`` (the ``otel`` extra); imported here, never by
    ``import unified_rerank``. Pass ``tracer=`` to use a specific tracer.
    """

    SPAN_NAME = "unified_rerank.rerank"

    def __init__(self, tracer: Any = None) -> None:
        try:
            from opentelemetry import trace
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                "OpenTelemetryHooks needs opentelemetry-api: pip install 'unified-rerank[otel]'"
            ) from exc
        self._trace = trace
        self._tracer = tracer or trace.get_tracer("unified_rerank")
        self._spans: dict[int, Any] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return "OpenTelemetryHooks()"

    def __call__(self, event: Event) -> None:
        if event.kind == "request":
            with self._lock:
                span = self._spans.get(event.call_id)
                if span is None:
                    span = self._tracer.start_span(self.SPAN_NAME, attributes=_span_attrs(event))
                    self._spans[event.call_id] = span
            return
        if event.kind == "retry":
            with self._lock:
                span = self._spans.get(event.call_id)
            if span is not None:
                span.add_event(
                    "retry",
                    {
                        k: v
                        for k, v in (
                            ("attempt", event.attempt),
                            ("status_code", event.status),
                            ("delay_s", event.delay),
                            ("error.type", event.error),
                        )
                        if v is not None
                    },
                )
            return
        if event.kind in ("response", "error"):
            with self._lock:
                span = self._spans.pop(event.call_id, None)
            if span is None:
                return
            span.set_attribute("rerank.retries", max(0, (event.attempt or 1) - 1))
            if event.latency is not None:
                span.set_attribute("rerank.latency_s", float(event.latency))
            if event.status is not None:
                span.set_attribute("rerank.status_code", event.status)
            if event.kind == "error":
                span.set_attribute("error.type", event.error or "error")
                span.set_status(self._trace.Status(self._trace.StatusCode.ERROR, event.error))
            span.end()
            return
        # fallback / cache_hit: short standalone spans, no text either.
        attrs = _span_attrs(event)
        if event.target is not None:
            attrs["rerank.fallback_to"] = event.target
        if event.error is not None:
            attrs["error.type"] = event.error
        span = self._tracer.start_span(f"unified_rerank.{event.kind}", attributes=attrs)
        span.end()


def _span_attrs(event: Event) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    for key, value in (
        ("rerank.provider", event.provider),
        ("rerank.model", event.model),
        ("rerank.documents", event.documents),
        ("rerank.top_n", event.top_n),
    ):
        if value is not None:
            attrs[key] = value
    return attrs
