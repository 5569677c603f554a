from __future__ import annotations

import pytest

from tests.support.cassettes import cassette, key
from tests.support.loopback import Answer, Loopback
from tests.support.provider_cases import CAPITALS, HOTELS
from unified_rerank import (
    AuthenticationError,
    InvalidRequestError,
    ProviderError,
    RateLimitError,
    RerankClient,
)

MODEL = "accounts/fireworks/models/qwen3-reranker-8b"


def client() -> RerankClient:
    return RerankClient("fireworks", api_key=key("FIREWORKS_API_KEY"), max_retries=0)


def test_basic_usage_is_tokens_never_search_units() -> None:
    with cassette("fireworks", "rerank_basic"), client() as c:
        resp = c.rerank(model=MODEL, query="capital of France?", documents=CAPITALS, top_n=2)
    dumped = resp.model_dump(exclude_none=True)
    assert dumped["results"] == [
        {"index": 0, "relevance_score": 0.9643},
        {"index": 2, "relevance_score": 0.4418},
    ]
    assert dumped["usage"] == {"total_tokens": 52}  # LiteLLM says search_units: not copied
    assert dumped["model"] == MODEL and dumped["provider"] == "fireworks"


async def test_objects_rendered_task_backfill_async() -> None:
    with cassette("fireworks", "rerank_objects_task"):
        async with client() as c:
            resp = await c.arerank(
                model=f"fireworks/{MODEL}",
                query="quiet hotel for business travel",
                documents=HOTELS,
                rank_fields=["title", "text"],
                return_documents=True,
                parameters={"task": "Given a travel request, find hotels that fit it"},
            )
    assert [r.index for r in resp.results] == [2, 0, 1]
    assert resp.results[1].document == HOTELS[0]
    assert resp.usage.total_tokens == 118


def test_unauthorized() -> None:
    with (
        cassette("fireworks", "unauthorized"),
        client() as c,
        pytest.raises(AuthenticationError, match="API key you provided is invalid") as info,
    ):
        c.rerank(model=MODEL, query="q", documents=["a"])
    assert info.value.status_code == 401 and info.value.code == "unauthorized"


def test_key_variable_and_url(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(AuthenticationError, match="FIREWORKS_API_KEY"):
        RerankClient("fireworks")._plan(dict(model=MODEL, query="q", documents=["a"]))
    monkeypatch.setenv("FIREWORKS_API_KEY", "from-env")
    call = RerankClient("fireworks")._plan(dict(model=MODEL, query="q", documents=["a"])).calls[0]
    assert call.headers["Authorization"] == "Bearer from-env"
    assert call.url == "https://api.fireworks.ai/inference/v1/rerank"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_tokens_per_doc": 5}, "no equivalent of `max_tokens_per_doc`"),
        ({"truncation": True}, "no equivalent of `truncation`"),
        ({"parameters": {"return_documents": True}}, "does not take parameters"),
        ({"parameters": {"task": ["x"]}}, "must be a string"),
    ],
)
def test_schema_refuses_extra_fields_before_io(
    loopback: Loopback, kwargs: dict[str, object], match: str
) -> None:
    with (
        RerankClient("fireworks", api_key="k", base_url=loopback.url) as c,
        pytest.raises(InvalidRequestError, match=match),
    ):
        c.rerank(model=MODEL, query="q", documents=["a"], **kwargs)  # type: ignore[arg-type]
    assert loopback.received == []


def test_top_n_capped_and_sdk_retry_rule(loopback: Loopback) -> None:
    loopback.script(
        Answer(409, {"error": {"message": "conflict", "type": "x", "code": "conflict"}}),
        Answer(
            200,
            {"data": [{"index": 1, "relevance_score": 0.8}, {"index": 0, "relevance_score": 0.2}]},
        ),
    )
    with RerankClient("fireworks", api_key="k", base_url=loopback.url, max_retries=1) as c:
        resp = c.rerank(model=MODEL, query="q", documents=["a", "b"], top_n=5)
    assert [r.index for r in resp.results] == [1, 0]
    assert loopback.received[-1].path == "/rerank" and loopback.received[-1].json()["top_n"] == 2
    for status, header, retryable in (
        (500, None, True),
        (500, "false", False),
        (400, "true", True),
    ):
        loopback.script(
            Answer(
                status,
                {"error": {"message": "boom"}},
                headers={"x-should-retry": header} if header else {},
            )
        )
        with (
            RerankClient("fireworks", api_key="k", base_url=loopback.url, max_retries=0) as c,
            pytest.raises((ProviderError, InvalidRequestError)) as info,
        ):
            c.rerank(model=MODEL, query="q", documents=["a"])
        assert info.value.retryable is retryable, (status, header)
    loopback.script(Answer(429, {"error": {"message": "slow down"}}, headers={"retry-after": "1"}))
    with (
        RerankClient("fireworks", api_key="k", base_url=loopback.url, max_retries=0) as c,
        pytest.raises(RateLimitError) as limited,
    ):
        c.rerank(model=MODEL, query="q", documents=["a"])
    assert limited.value.retry_after == 1.0 and limited.value.retryable


def test_missing_results_are_an_error(loopback: Loopback) -> None:
    loopback.script(Answer(200, {"data": [{"index": 0, "relevance_score": 0.8}]}))
    with (
        RerankClient("fireworks", api_key="k", base_url=loopback.url, max_retries=0) as c,
        pytest.raises(ProviderError, match="malformed"),
    ):
        c.rerank(model=MODEL, query="q", documents=["a", "b"])
