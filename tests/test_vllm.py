from __future__ import annotations

import pytest

from tests.support.cassettes import cassette
from tests.support.loopback import Answer, Loopback
from tests.support.provider_cases import HOTELS
from unified_rerank import InvalidRequestError, ProviderError, RerankClient

MODEL = "BAAI/bge-reranker-v2-m3"


def client(base: str = "http://localhost:8000") -> RerankClient:
    return RerankClient("vllm", base_url=base, max_retries=0)


def test_v1_base_url_truncation_and_top_n() -> None:
    with cassette("vllm", "rerank_v1"), client("http://localhost:8000/v1/") as c:
        resp = c.rerank(
            model=MODEL,
            query="capital of France?",
            documents=["Paris is the capital.", "Berlin is in Germany."],
            top_n=1,
            truncation=True,
        )
    assert resp.model_dump(exclude_none=True) == {
        "id": "rerank-9a8b7c6d",
        "object": "list",
        "results": [{"index": 0, "relevance_score": 0.9921875}],
        "model": MODEL,
        "usage": {"total_tokens": 24},
        "provider": "vllm",
    }


async def test_parameters_priority_objects_backfill_async() -> None:
    with cassette("vllm", "rerank_objects_params"):
        async with client() as c:
            resp = await c.arerank(
                model=f"vllm/{MODEL}",
                query="quiet hotel for business travel",
                documents=HOTELS,
                rank_fields=["title", "text"],
                priority=1,
                return_documents=True,
                parameters={"use_activation": False},
            )
    assert [r.index for r in resp.results] == [2, 0, 1]
    assert resp.results[1].document == HOTELS[0]  # the object, not vLLM's {"text": rendered}
    assert resp.usage.total_tokens == 70


def test_current_error_shape() -> None:
    with (
        cassette("vllm", "error_current"),
        client() as c,
        pytest.raises(InvalidRequestError, match="does not exist") as info,
    ):
        c.rerank(model="nope", query="q", documents=["a"])
    assert info.value.status_code == 404 and info.value.code == "NotFoundError"


async def test_legacy_error_shape_async() -> None:
    with (
        cassette("vllm", "error_legacy"),
        pytest.raises(InvalidRequestError, match="maximum context length") as info,
    ):
        async with client() as c:
            await c.arerank(model=MODEL, query="q", documents=["a"])
    assert info.value.status_code == 400 and info.value.code == "BadRequestError"


@pytest.mark.parametrize(
    ("base", "url"),
    [
        ("http://h:8000", "http://h:8000/rerank"),
        ("http://h:8000/v1", "http://h:8000/v1/rerank"),
        ("http://h:8000/v2/rerank", "http://h:8000/v2/rerank"),
        ("http://h:8000/rerank/", "http://h:8000/rerank"),
    ],
)
def test_url_rule(base: str, url: str) -> None:
    assert client(base)._plan(dict(model="m", query="q", documents=["a"])).calls[0].url == url


def test_no_top_n_means_all_and_bad_input() -> None:
    call = client()._plan(dict(model="m", query="q", documents=["a", "b"])).calls[0]
    assert b"top_n" not in call.body and "Authorization" not in call.headers
    with pytest.raises(InvalidRequestError, match="truncate_prompt_tokens"):
        client()._plan(dict(model="m", query="q", documents=["a"], max_tokens_per_doc=5))
    with pytest.raises(InvalidRequestError, match="cannot set"):
        client()._plan(dict(model="m", query="q", documents=["a"], parameters={"top_n": 0}))
    with pytest.raises(InvalidRequestError, match="integer"):
        client()._plan(dict(model="m", query="q", documents=["a"], priority=1.5))
    with pytest.raises(InvalidRequestError, match="vllm needs base_url"):
        RerankClient("vllm")._plan(dict(model="m", query="q", documents=["a"]))


def test_5xx_retried_then_answer(loopback: Loopback) -> None:
    loopback.script(
        Answer(503, {"error": {"message": "busy", "type": "x", "param": None, "code": 503}}),
        Answer(200, {"results": [{"index": 0, "relevance_score": 0.7, "document": {"text": "a"}}]}),
    )
    with RerankClient("vllm", base_url=loopback.url, api_key="k", max_retries=1) as c:
        resp = c.rerank(model="m", query="q", documents=["a"])
    assert resp.results[0].relevance_score == 0.7 and len(loopback.received) == 2
    assert loopback.received[0].headers["Authorization"] == "Bearer k"


def test_nan_score_is_provider_error(loopback: Loopback) -> None:
    loopback.script(Answer(200, b'{"results":[{"index":0,"relevance_score":NaN}]}'))
    with (
        RerankClient("vllm", base_url=loopback.url, max_retries=0) as c,
        pytest.raises(ProviderError),
    ):
        c.rerank(model="m", query="q", documents=["a"])
