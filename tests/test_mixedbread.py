from __future__ import annotations

import pytest

from tests.support.cassettes import cassette, key
from tests.support.provider_cases import HOTELS
from unified_rerank import AuthenticationError, InvalidRequestError, RateLimitError, RerankClient

MODEL = "mixedbread-ai/mxbai-rerank-large-v2"


def client() -> RerankClient:
    return RerankClient("mixedbread", api_key=key("MXBAI_API_KEY"), max_retries=0)


def test_basic_round_trip() -> None:
    with cassette("mixedbread", "rerank_basic"), client() as c:
        resp = c.rerank(
            model=MODEL,
            query="capital of France?",
            documents=["Paris is the capital.", "Berlin is in Germany."],
            top_n=1,
        )
    dumped = resp.model_dump(exclude_none=True)
    assert dumped["results"] == [{"index": 0, "relevance_score": 0.9652}]
    assert dumped["usage"] == {"total_tokens": 19} and dumped["provider"] == "mixedbread"
    assert dumped["model"] == MODEL and dumped["id"].startswith("rerank-")


async def test_object_input_rank_fields_async() -> None:
    with cassette("mixedbread", "rerank_objects"):
        async with client() as c:
            resp = await c.arerank(
                model=f"mixedbread/{MODEL}",
                query="quiet hotel for business travel",
                documents=HOTELS,
                rank_fields=["title", "text"],
                return_documents=True,
            )
    assert [(r.index, r.relevance_score) for r in resp.results] == [(2, 0.88), (0, 0.31), (1, 0.02)]
    assert [r.document for r in resp.results] == [HOTELS[2], HOTELS[0], HOTELS[1]]


def test_rate_limited_with_retry_after() -> None:
    with (
        cassette("mixedbread", "rate_limited"),
        client() as c,
        pytest.raises(RateLimitError) as info,
    ):
        c.rerank(model=MODEL, query="q", documents=["a"])
    assert info.value.retry_after == 3.0 and "slow down" in str(info.value)


def test_both_key_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(AuthenticationError, match="MXBAI_API_KEY or MIXEDBREAD_API_KEY"):
        RerankClient("mixedbread").rerank(model=MODEL, query="q", documents=["a"])
    monkeypatch.setenv("MIXEDBREAD_API_KEY", "from-env")
    call = RerankClient("mixedbread")._plan(dict(model=MODEL, query="q", documents=["a"])).calls[0]
    assert call.headers["Authorization"] == "Bearer from-env"
    with pytest.raises(InvalidRequestError, match="max_tokens_per_doc"):
        RerankClient("mixedbread")._plan(
            dict(model=MODEL, query="q", documents=["a"], max_tokens_per_doc=9)
        )
