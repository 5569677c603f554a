"""Hooks, logging, OpenTelemetry spans, and the transport's retry budget and policy details."""

from __future__ import annotations

import email.utils
import logging
import subprocess
import sys
import time
from typing import Any

import pytest

from tests.support.loopback import Answer, Loopback
from unified_rerank import (
    APITimeoutError,
    InvalidRequestError,
    ProviderError,
    RateLimitError,
    RerankClient,
)
from unified_rerank.observability import Event, Hooks, OpenTelemetryHooks, emitter
from unified_rerank.transport import RetryPolicy, make_policy

SECRET = "sk-live-OBSERVE-NEVER-LEAK-424242"
QUERY, DOC = "PRIVATE QUERY TEXT", "PRIVATE DOCUMENT TEXT"
OK = {
    "id": "x",
    "results": [{"index": 1, "relevance_score": 0.9}, {"index": 0, "relevance_score": 0.1}],
}
FAST = RetryPolicy(max_retries=2, base_delay=0.001, max_delay=0.002)


def client(url: str, **kw: Any) -> RerankClient:
    kw.setdefault("retry_policy", FAST)
    return RerankClient("cohere", api_key=SECRET, base_url=url, **kw)


def call(c: RerankClient, **kw: Any) -> Any:
    return c.rerank(model="rerank-v3.5", query=QUERY, documents=[DOC, "b"], **kw)


# -- hooks ------------------------------------------------------------------------------------


def test_events_for_a_retried_success(loopback: Loopback) -> None:
    events: list[Event] = []
    loopback.script(Answer(503, {"message": "busy"}), Answer(200, OK))
    call(client(loopback.url, hooks=events.append), top_n=2)
    kinds = [(e.kind, e.attempt, e.status) for e in events]
    assert kinds == [
        ("request", 1, None),
        ("retry", 1, 503),
        ("request", 2, None),
        ("response", 2, 200),
    ]
    assert len({e.call_id for e in events}) == 1
    for e in events:
        assert (e.provider, e.model, e.documents, e.top_n) == ("cohere", "rerank-v3.5", 2, 2)
    retry, done = events[1], events[3]
    assert retry.error == "ProviderError" and retry.delay is not None and retry.delay <= 0.002
    assert done.latency is not None and done.latency > 0


async def test_events_for_a_failure_async(loopback: Loopback) -> None:
    events: list[Event] = []
    hooks = Hooks(on_error=events.append, on_retry=events.append)
    loopback.script(Answer(500, {"message": "down"}))
    with pytest.raises(ProviderError):
        await client(loopback.url, hooks=hooks, retry_policy=RetryPolicy(1, 0.001, 0.001)).arerank(
            model="m", query=QUERY, documents=[DOC]
        )
    assert [(e.kind, e.attempt, e.status, e.error) for e in events] == [
        ("retry", 1, 500, "ProviderError"),
        ("error", 2, 500, "ProviderError"),
    ]


def test_a_broken_hook_never_breaks_a_call(
    loopback: Loopback, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(event: Event) -> None:
        raise RuntimeError(f"hook bug {SECRET}")

    seen: list[str] = []
    loopback.script(Answer(200, OK))
    resp = call(client(loopback.url, hooks=[broken, lambda e: seen.append(e.kind)]))
    assert resp.results[0].index == 1 and seen == ["request", "response"]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings and all(SECRET not in r.getMessage() for r in warnings)


def test_emitter_accepts_one_a_list_or_none_and_refuses_junk() -> None:
    assert not emitter(None) and emitter(print) and len(emitter([print, print]).hooks) == 2
    with pytest.raises(InvalidRequestError):
        emitter([42])  # type: ignore[list-item]
    assert "retry" in repr(Hooks(on_retry=print))


# -- logging ----------------------------------------------------------------------------------


def test_logs_hold_no_key_and_no_text(loopback: Loopback, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="unified_rerank")
    loopback.script(
        Answer(429, {"message": "slow"}, {"Retry-After": "0"}),
        Answer(fault="reset"),
        Answer(200, OK),
    )
    call(client(loopback.url))
    info = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert len(info) == 2 and all("retrying cohere" in r.getMessage() for r in info)
    assert "HTTP 429" in info[0].getMessage()
    for r in caplog.records:
        text = r.getMessage() + repr(r.args)
        assert SECRET not in text and QUERY not in text and DOC not in text


# -- OpenTelemetry ----------------------------------------------------------------------------


@pytest.fixture
def spans() -> Any:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter, provider.get_tracer("test")


async def test_otel_span_per_call(loopback: Loopback, spans: Any) -> None:
    exporter, tracer = spans
    loopback.script(Answer(502, b"bad gateway"), Answer(200, OK))
    c = client(loopback.url, hooks=OpenTelemetryHooks(tracer=tracer))
    await c.arerank(model="rerank-v3.5", query=QUERY, documents=[DOC, "b"], top_n=1)
    (span,) = exporter.get_finished_spans()
    attrs = dict(span.attributes)
    assert span.name == "unified_rerank.rerank"
    assert attrs["rerank.provider"] == "cohere" and attrs["rerank.model"] == "rerank-v3.5"
    assert attrs["rerank.documents"] == 2 and attrs["rerank.top_n"] == 1
    assert attrs["rerank.retries"] == 1 and attrs["rerank.latency_s"] > 0
    assert [e.name for e in span.events] == ["retry"]
    assert dict(span.events[0].attributes)["status_code"] == 502
    blob = repr(attrs) + repr([dict(e.attributes) for e in span.events])
    assert SECRET not in blob and QUERY not in blob and DOC not in blob


def test_otel_error_span_and_fallback_span(loopback: Loopback, spans: Any) -> None:
    from opentelemetry.trace import StatusCode

    from unified_rerank.routing import Router

    exporter, tracer = spans
    hooks = OpenTelemetryHooks(tracer=tracer)
    loopback.script(Answer(401, {"message": "bad key"}), Answer(200, OK))
    router = Router(
        [client(loopback.url, hooks=hooks), client(loopback.url, hooks=hooks)], hooks=hooks
    )
    router.rerank(model="m", query=QUERY, documents=[DOC, "b"])
    names = [s.name for s in exporter.get_finished_spans()]
    assert names == ["unified_rerank.rerank", "unified_rerank.fallback", "unified_rerank.rerank"]
    failed, fallback, _ = exporter.get_finished_spans()
    assert failed.status.status_code == StatusCode.ERROR
    assert dict(failed.attributes)["error.type"] == "AuthenticationError"
    assert dict(fallback.attributes)["rerank.fallback_to"] == "cohere"


def test_import_never_loads_opentelemetry() -> None:
    code = (
        "import sys, unified_rerank\n"
        "unified_rerank.RerankClient; unified_rerank.rerank\n"
        "import unified_rerank.observability, unified_rerank.routing, unified_rerank.cache\n"
        "import unified_rerank.transport\n"
        "assert not [m for m in sys.modules if m.startswith('opentelemetry')], 'loaded'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# -- retry policy and budget ---------------------------------------------------------------------


def test_policy_details() -> None:
    p = RetryPolicy(max_retries=3, base_delay=1.0, max_delay=4.0, max_retry_after=10.0)
    busy = ProviderError("x", status_code=503, retryable=True)
    assert 0.0 <= p.delay(0, busy) <= 1.0 and 0.0 <= p.delay(2, busy) <= 4.0
    assert p.delay(3, busy) is None  # out of retries
    assert p.delay(0, RateLimitError("x", status_code=429, retry_after=30)) == 10.0  # capped
    assert p.delay(0, RateLimitError("x", status_code=429, retry_after=2), remaining=1.0) is None
    assert p.delay(0, InvalidRequestError("x", status_code=400)) is None
    only = RetryPolicy(on_status_codes=frozenset({429}))
    assert only.delay(0, busy) is None
    assert only.delay(0, RateLimitError("x", status_code=429, retry_after=0)) == 0.0
    assert only.delay(0, APITimeoutError("x")) is not None  # no status: retried as usual
    assert make_policy(2, 5).budget == 5.0 and make_policy(1, None, only) is only
    with pytest.raises(InvalidRequestError):
        make_policy(2, 0)
    with pytest.raises(InvalidRequestError):
        RerankClient("cohere", retry_budget=-1)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"retry-after-ms": "1500"}, 1.5),
        ({"Retry-After": "in 30 s, as an HTTP date"}, 30.0),
        ({}, None),
    ],
)
def test_rate_limit_error_carries_retry_after(
    loopback: Loopback, headers: dict[str, str], expected: float | None
) -> None:
    if headers.get("Retry-After", "").startswith("in 30"):
        headers = {"Retry-After": email.utils.formatdate(time.time() + 30, usegmt=True)}
    loopback.script(Answer(429, {"message": "slow down"}, headers))
    with pytest.raises(RateLimitError) as info:
        call(client(loopback.url, retry_policy=RetryPolicy(max_retries=0)))
    if expected is None:
        assert info.value.retry_after is None
    else:
        assert info.value.retry_after == pytest.approx(expected, abs=1.5)


def test_budget_stops_a_retry_that_would_end_too_late(loopback: Loopback) -> None:
    loopback.script(Answer(429, {"message": "slow down"}, {"Retry-After": "5"}), Answer(200, OK))
    start = time.monotonic()
    with pytest.raises(RateLimitError):
        call(client(loopback.url, retry_budget=1.0, retry_policy=RetryPolicy(max_retries=3)))
    assert time.monotonic() - start < 1.0 and len(loopback.received) == 1


async def test_budget_trims_the_attempt_timeout(loopback: Loopback) -> None:
    loopback.script(Answer(200, OK, delay=1.0))
    start = time.monotonic()
    with pytest.raises(APITimeoutError):
        await client(loopback.url, timeout=30, retry_budget=0.3).arerank(
            model="m", query="q", documents=["a", "b"]
        )
    assert time.monotonic() - start < 0.9


def test_budget_allows_retries_that_fit(loopback: Loopback) -> None:
    loopback.script(Answer(503, {"message": "busy"}), Answer(200, OK))
    resp = call(client(loopback.url, retry_budget=5.0))
    assert resp.results[0].index == 1 and len(loopback.received) == 2
