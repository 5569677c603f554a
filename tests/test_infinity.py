from __future__ import annotations

import json

import pytest

from tests.support.cassettes import cassette
from tests.support.loopback import Answer, Loopback
from tests.support.provider_cases import HOTELS
from unified_rerank import InvalidRequestError, ProviderError, RateLimitError, RerankClient

BASE = "http://localhost:7997"
MODEL = "mixedbread-ai/mxbai-rerank-xsmall-v1"


def client(**kwargs: object) -> RerankClient:
    return RerankClient("infinity", base_url=BASE, max_retries=0, **kwargs)  # type: ignore[arg-type]


def test_basic_round_trip() -> None:
    with cassette("infinity", "rerank_basic"), client() as c:
        resp = c.rerank(
            model=MODEL,
            query="capital of France?",
            documents=["Paris is the capital.", "Berlin is in Germany."],
            top_n=1,
            priority=3,  # a scheduling hint: dropped
        )
    assert resp.model_dump(exclude_none=True) == {
        "id": "infinity-0f8e2c1a-0000-4000-8000-000000000001",
        "object": "list",
        "results": [{"index": 0, "relevance_score": 0.9734}],
        "model": MODEL,
        "usage": {"total_tokens": 21},
        "provider": "infinity",
    }


async def test_objects_raw_scores_parameter_backfill_async() -> None:
    with cassette("infinity", "rerank_objects_raw"):
        async with client() as c:
            resp = await c.arerank(
                model=f"infinity/{MODEL}",
                query="quiet hotel for business travel",
                documents=HOTELS,
                rank_fields=["title", "text"],
                top_n=2,
                return_documents=True,
                parameters={"raw_scores": True},
                truncation=True,
            )
    assert [(r.index, r.relevance_score) for r in resp.results] == [(2, 4.125), (0, -0.5)]
    # The bare-string echo is replaced by the caller's object, every field kept.
    assert resp.results[1].document == HOTELS[0]


async def test_overloaded_is_rate_limit_async() -> None:
    with (
        cassette("infinity", "overloaded"),
        pytest.raises(RateLimitError, match="currently overloaded") as info,
    ):
        async with client() as c:
            await c.arerank(model=MODEL, query="q", documents=["a"])
    assert info.value.status_code == 429 and info.value.provider == "infinity"


def test_fastapi_422_detail() -> None:
    with (
        cassette("infinity", "validation"),
        client() as c,
        pytest.raises(InvalidRequestError, match="at most 122880 characters") as info,
    ):
        c.rerank(model=MODEL, query="q", documents=["a"])
    assert info.value.status_code == 422


def test_base_url_required_and_options_checked() -> None:
    with pytest.raises(InvalidRequestError, match="infinity needs base_url"):
        RerankClient("infinity").rerank(model="m", query="q", documents=["a"])
    with pytest.raises(InvalidRequestError, match="raw_scores"):
        client(raw_scores=1)._plan(dict(model="m", query="q", documents=["a"]))
    for bad in ({"truncation": False}, {"max_tokens_per_doc": 5}, {"parameters": {"x": 1}}):
        with pytest.raises(InvalidRequestError):
            client()._plan(dict(model="m", query="q", documents=["a"], **bad))


def test_limit_default_2048_and_override() -> None:
    plan = client()._plan(dict(model="m", query="q", documents=["d"] * 2049))
    assert [len(w.documents) for _, w in plan.windows] == [2048, 1]
    plan = client(max_batch_size=1000)._plan(dict(model="m", query="q", documents=["d"] * 2049))
    assert [len(w.documents) for _, w in plan.windows] == [1000, 1000, 49]


def test_bearer_only_with_key() -> None:
    assert (
        "Authorization"
        not in client()._plan(dict(model="m", query="q", documents=["a"])).calls[0].headers
    )
    call = (
        RerankClient("infinity", base_url=BASE, api_key="k")
        ._plan(dict(model="m", query="q", documents=["a"]))
        .calls[0]
    )
    assert call.headers["Authorization"] == "Bearer k" and call.url == BASE + "/rerank"


def test_incomplete_answer_is_an_error(loopback: Loopback) -> None:
    loopback.script(Answer(200, {"results": [{"index": 0, "relevance_score": 0.5}]}))
    with (
        RerankClient("infinity", base_url=loopback.url, max_retries=0) as c,
        pytest.raises(ProviderError, match="1 results for 2 expected"),
    ):
        c.rerank(model="m", query="q", documents=["a", "b"])


def test_defaults_sent_as_infinitys_client_sends_them() -> None:
    # infinity-client 0.0.78 RerankInput.to_dict sends return_documents and raw_scores (false)
    # on every call: the defaults rule (docs/providers.md).
    plan = RerankClient("infinity", base_url="http://inf:7997")._plan(
        dict(model="m", query="q", documents=["a"], return_documents=True)
    )
    body = json.loads(plan.calls[0].body)
    assert (body["return_documents"], body["raw_scores"]) == (False, False)
