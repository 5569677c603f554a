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

MODEL = "Qwen/Qwen3-Reranker-0.6B"


def client() -> RerankClient:
    return RerankClient("deepinfra", api_key=key("DEEPINFRA_API_KEY"), max_retries=0)


def test_scores_in_document_order_sorted_and_cut_client_side() -> None:
    with cassette("deepinfra", "rerank_basic"), client() as c:
        resp = c.rerank(model=MODEL, query="capital of France?", documents=CAPITALS, top_n=2)
    assert resp.model_dump(exclude_none=True) == {
        "id": "RVsyn7Fq2Pj1bX8a",
        "object": "list",
        "results": [
            {"index": 0, "relevance_score": 0.9132},
            {"index": 2, "relevance_score": 0.3345},
        ],
        "model": MODEL,
        "usage": {"total_tokens": 41},
        "provider": "deepinfra",
    }


async def test_objects_rank_fields_instruction_backfill_async() -> None:
    with cassette("deepinfra", "rerank_objects_instruction"):
        async with client() as c:
            resp = await c.arerank(
                model=f"deepinfra/{MODEL}",
                query="quiet hotel for business travel",
                documents=HOTELS,
                rank_fields=["title", "text"],
                return_documents=True,
                parameters={"instruction": "Given a travel request, find hotels that fit it"},
                priority=3,  # a scheduling hint: dropped
            )
    assert [r.index for r in resp.results] == [2, 0, 1]
    assert resp.results[1].document == HOTELS[0]
    assert resp.usage.total_tokens == 96


def test_unauthorized_reads_detail_error() -> None:
    with (
        cassette("deepinfra", "unauthorized"),
        client() as c,
        pytest.raises(AuthenticationError, match="Invalid token") as info,
    ):
        c.rerank(model=MODEL, query="q", documents=["a"])
    assert info.value.status_code == 401 and not info.value.retryable


def test_key_variables_url_and_base_url_env(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(AuthenticationError, match="DEEPINFRA_API_KEY or DEEPINFRA_TOKEN"):
        RerankClient("deepinfra")._plan(dict(model=MODEL, query="q", documents=["a"]))
    monkeypatch.setenv("DEEPINFRA_TOKEN", "from-token-var")
    call = RerankClient("deepinfra")._plan(dict(model=MODEL, query="q", documents=["a"])).calls[0]
    assert call.headers["Authorization"] == "Bearer from-token-var"
    assert call.url == "https://api.deepinfra.com/v1/inference/Qwen/Qwen3-Reranker-0.6B"
    monkeypatch.setenv("DEEPINFRA_API_KEY", "from-key-var")  # the SDK's name wins
    monkeypatch.setenv("DEEPINFRA_BASE_URL", "http://127.0.0.1:9/")
    call = RerankClient("deepinfra")._plan(dict(model=MODEL, query="q", documents=["a"])).calls[0]
    assert call.headers["Authorization"] == "Bearer from-key-var"
    assert call.url == "http://127.0.0.1:9/v1/inference/Qwen/Qwen3-Reranker-0.6B"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_tokens_per_doc": 5}, "no equivalent of `max_tokens_per_doc`"),
        ({"truncation": True}, "no equivalent of `truncation`"),
        ({"truncation": False}, "no equivalent of `truncation`"),
        ({"parameters": {"service_tier": "priority"}}, "does not take parameters"),
        ({"parameters": {"instruction": 3}}, "must be a string"),
        ({"model": "Qwen/../../v1/openai"}, "model ids look like"),
        ({"model": "Qwen//x"}, "model ids look like"),
    ],
)
def test_unsupported_refused_before_io(
    loopback: Loopback, kwargs: dict[str, object], match: str
) -> None:
    with (
        RerankClient("deepinfra", api_key="k", base_url=loopback.url) as c,
        pytest.raises(InvalidRequestError, match=match),
    ):
        c.rerank(**{"model": MODEL, "query": "q", "documents": ["a"], **kwargs})  # type: ignore[arg-type]
    assert loopback.received == []


@pytest.mark.parametrize(
    "answer",
    [
        b'{"scores": [0.5]}',  # fewer scores than documents, though top_n=1
        b'{"scores": [0.5, 0.4, 0.3]}',
        b'{"scores": "0.5"}',
        b'{"scores": [0.5, "high"]}',
        b'{"scores": [0.5, NaN]}',
        b'{"results": [{"index": 0, "relevance_score": 0.5}]}',
        b"[0.5, 0.4]",
    ],
)
def test_malformed_scores_are_errors(loopback: Loopback, answer: bytes) -> None:
    loopback.script(Answer(200, answer))
    with (
        RerankClient("deepinfra", api_key="k", base_url=loopback.url, max_retries=0) as c,
        pytest.raises(ProviderError, match=r"malformed|not valid JSON"),
    ):
        c.rerank(model=MODEL, query="q", documents=["a", "b"], top_n=1)


def test_retryable_set(loopback: Loopback) -> None:
    loopback.script(
        Answer(503, {"detail": "no capacity"}),
        Answer(200, {"scores": [0.1, 0.7], "input_tokens": 9}),
    )
    with RerankClient("deepinfra", api_key="k", base_url=loopback.url, max_retries=1) as c:
        resp = c.rerank(model=MODEL, query="q", documents=["a", "b"])
    assert [r.index for r in resp.results] == [1, 0] and len(loopback.received) == 2
    assert loopback.received[0].path == "/v1/inference/Qwen/Qwen3-Reranker-0.6B"
    assert loopback.received[0].json() == {"queries": ["q", "q"], "documents": ["a", "b"]}
    loopback.received.clear()
    loopback.script(Answer(500, {"detail": {"error": "model crashed"}}))
    with (
        RerankClient("deepinfra", api_key="k", base_url=loopback.url, max_retries=2) as c,
        pytest.raises(ProviderError, match="model crashed") as info,
    ):
        c.rerank(model=MODEL, query="q", documents=["a"])
    assert not info.value.retryable and len(loopback.received) == 1  # not in the SDK's set
    loopback.script(Answer(429, {"error": "rate limited"}, headers={"Retry-After": "0"}))
    with (
        RerankClient("deepinfra", api_key="k", base_url=loopback.url, max_retries=0) as c,
        pytest.raises(RateLimitError, match="rate limited") as limited,
    ):
        c.rerank(model=MODEL, query="q", documents=["a"])
    assert limited.value.retryable
