"""Retries, timeouts and malformed answers against a loopback server the test starts."""

from __future__ import annotations

import logging

import pytest

from tests.support.loopback import Answer, Loopback, closed_port
from unified_rerank import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    ProviderError,
    RerankClient,
)
from unified_rerank.transport import RetryPolicy

SECRET = "sk-live-THIS-MUST-NEVER-LEAK-0123456789"
OK = {
    "id": "x",
    "results": [{"index": 1, "relevance_score": 0.9}, {"index": 0, "relevance_score": 0.1}],
}


def client(url: str, **kw: object) -> RerankClient:
    c = RerankClient("cohere", api_key=SECRET, base_url=url, **kw)  # type: ignore[arg-type]
    # Short backoff so the suite stays fast; the policy itself is tested below.
    c._transport().retry = RetryPolicy(max_retries=c.max_retries, base_delay=0.01, max_delay=0.02)
    return c


def call(c: RerankClient) -> object:
    return c.rerank(model="rerank-v3.5", query="q", documents=["a", "b"])


@pytest.mark.parametrize(
    "first",
    [
        Answer(429, {"message": "slow down"}, {"Retry-After": "0"}),
        Answer(429, {"message": "slow down"}, {"retry-after-ms": "5"}),
        Answer(500, {"message": "boom"}),
        Answer(502, b"<html>bad gateway</html>"),
        Answer(503, {"message": "overloaded"}),
        Answer(408, {"message": "timeout"}),
        Answer(200, b'{"results": [{"index": 0,'),  # cut short: retried like a dropped link
        Answer(fault="reset"),
        Answer(200, OK, fault="truncate"),
    ],
)
def test_retryable_then_success(loopback: Loopback, first: Answer) -> None:
    loopback.script(first, Answer(200, OK))
    resp = call(client(loopback.url))
    assert [r.index for r in resp.results] == [1, 0]  # type: ignore[attr-defined]
    assert len(loopback.received) == 2


async def test_async_retry_then_success(loopback: Loopback) -> None:
    loopback.script(Answer(503, {"message": "x"}), Answer(200, OK))
    resp = await client(loopback.url).arerank(model="m", query="q", documents=["a", "b"])
    assert resp.results[0].index == 1 and len(loopback.received) == 2


def test_401_is_not_retried(loopback: Loopback) -> None:
    loopback.script(Answer(401, {"message": "invalid api token"}))
    with pytest.raises(AuthenticationError) as info:
        call(client(loopback.url))
    assert info.value.status_code == 401 and len(loopback.received) == 1


def test_gives_up_after_max_retries(loopback: Loopback) -> None:
    loopback.script(Answer(500, {"message": "still down"}))
    with pytest.raises(ProviderError, match="still down"):
        call(client(loopback.url, max_retries=2))
    assert len(loopback.received) == 3


def test_timeout(loopback: Loopback) -> None:
    loopback.script(Answer(200, OK, delay=0.5))
    with pytest.raises(APITimeoutError):
        call(client(loopback.url, timeout=0.1, max_retries=0))


async def test_timeout_async(loopback: Loopback) -> None:
    loopback.script(Answer(200, OK, delay=0.5))
    with pytest.raises(APITimeoutError):
        await client(loopback.url, timeout=0.1, max_retries=0).arerank(
            model="m", query="q", documents=["a"]
        )


def test_connection_refused() -> None:
    with pytest.raises(APIConnectionError) as info:
        call(client(f"http://127.0.0.1:{closed_port()}", max_retries=1))
    assert SECRET not in str(info.value)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ({"id": "x"}, "`results`"),
        ({"results": {"index": 0}}, "result list"),
        (
            {
                "results": [
                    {"index": 2, "relevance_score": 0.5},
                    {"index": 0, "relevance_score": 0.4},
                ]
            },
            "not in 0..1",
        ),
        (
            {
                "results": [
                    {"index": 0, "relevance_score": 0.5},
                    {"index": 0, "relevance_score": 0.4},
                ]
            },
            "twice",
        ),
        (
            {
                "results": [
                    {"index": 0, "relevance_score": "high"},
                    {"index": 1, "relevance_score": 0.4},
                ]
            },
            "not a number",
        ),
        (
            {
                "results": [
                    {"index": 0, "relevance_score": True},
                    {"index": 1, "relevance_score": 0.4},
                ]
            },
            "not a number",
        ),
        (
            {
                "results": [
                    {"index": 0.0, "relevance_score": 0.5},
                    {"index": 1, "relevance_score": 0.4},
                ]
            },
            "not in",
        ),
        ({"results": [{"index": 0, "relevance_score": 0.5}]}, "1 results for 2 expected"),
        ([1, 2], "`results`"),
    ],
)
def test_malformed_answers_are_errors_not_rankings(
    loopback: Loopback, body: object, why: str
) -> None:
    loopback.script(Answer(200, body))
    with pytest.raises(ProviderError, match=why):
        call(client(loopback.url))
    assert len(loopback.received) == 1  # decodable but wrong: not retried


@pytest.mark.parametrize("score", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_scores(loopback: Loopback, score: str) -> None:
    body = '{"results":[{"index":0,"relevance_score":%s},{"index":1,"relevance_score":0.1}]}'
    loopback.script(Answer(200, body % score))
    with pytest.raises(ProviderError, match="score of document 0"):
        call(client(loopback.url))


def test_results_sorted_even_if_provider_does_not(loopback: Loopback) -> None:
    body = {
        "results": [
            {"index": 0, "relevance_score": 0.1},
            {"index": 2, "relevance_score": 0.7},
            {"index": 1, "relevance_score": 0.7},
        ]
    }
    loopback.script(Answer(200, body))
    resp = client(loopback.url).rerank(model="m", query="q", documents=["a", "b", "c"])
    assert [(r.index, r.relevance_score) for r in resp.results] == [(1, 0.7), (2, 0.7), (0, 0.1)]


def test_no_secret_in_requests_errors_reprs_or_logs(
    loopback: Loopback, caplog: pytest.LogCaptureFixture
) -> None:
    loopback.script(Answer(503, {"message": "down"}), Answer(401, {"message": "bad key"}))
    c = client(loopback.url)
    with pytest.raises(AuthenticationError) as info:
        call(c)
    assert loopback.received[0].headers["Authorization"] == f"Bearer {SECRET}"
    plan = c._plan(dict(model="m", query="q", documents=["a"]))
    texts = [
        str(info.value),
        repr(info.value),
        repr(c),
        repr(plan),
        repr(plan.calls[0]),
        repr(plan.config),
        caplog.text,
    ]
    assert any("retrying cohere" in r.getMessage() for r in caplog.records)
    for text in texts:
        assert SECRET not in text


def test_retry_policy_backoff_and_retry_after_cap() -> None:
    from unified_rerank import RateLimitError

    policy = RetryPolicy(max_retries=3, base_delay=1.0, max_delay=4.0, max_retry_after=10.0)
    err = ProviderError("x", retryable=True)
    for attempt in range(3):
        d = policy.delay(attempt, err)
        assert d is not None and 0.0 <= d <= min(4.0, 2.0**attempt)
    assert policy.delay(3, err) is None
    assert policy.delay(0, ProviderError("x")) is None
    assert policy.delay(0, RateLimitError("x", retry_after=3.0)) == 3.0
    assert policy.delay(0, RateLimitError("x", retry_after=500.0)) == 10.0


def test_retry_after_http_date() -> None:
    from unified_rerank.providers.base import retry_after_seconds

    assert (
        retry_after_seconds({"retry-after": "Wed, 21 Oct 2015 07:28:30 GMT"}, now=1445412500.0)
        == 10.0
    )
    assert retry_after_seconds({"Retry-After": "2.5"}) == 2.5
    assert retry_after_seconds({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert retry_after_seconds({"retry-after": "soon"}) is None
    assert retry_after_seconds({}) is None


def test_logging_never_holds_documents_at_info(
    loopback: Loopback, caplog: pytest.LogCaptureFixture
) -> None:
    loopback.script(Answer(500, {"message": "x"}), Answer(200, OK))
    client(loopback.url).rerank(model="m", query="private query", documents=["secret doc", "b"])
    for record in caplog.records:
        if record.levelno >= logging.INFO:
            assert "private query" not in record.getMessage()
            assert "secret doc" not in record.getMessage()
