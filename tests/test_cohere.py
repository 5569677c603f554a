from __future__ import annotations

import pytest

from tests.support.cassettes import cassette, key
from unified_rerank import AuthenticationError, RateLimitError, RerankClient, rerank


def client() -> RerankClient:
    return RerankClient("cohere", api_key=key("COHERE_API_KEY"), max_retries=0)


def test_basic_round_trip() -> None:
    with cassette("cohere", "rerank_basic"), client() as c:
        resp = c.rerank(
            model="rerank-v3.5",
            query="capital of France?",
            documents=["Paris is the capital.", "Berlin is in Germany."],
            top_n=1,
            max_tokens_per_doc=512,
        )
    assert resp.model_dump(exclude_none=True) == {
        "id": "5d1c2f0a-0000-4000-8000-000000000001",
        "object": "list",
        "results": [{"index": 0, "relevance_score": 0.9312}],
        "model": "rerank-v3.5",
        "usage": {"search_units": 1},
        "provider": "cohere",
    }


async def test_objects_rank_fields_priority_backfill_async() -> None:
    docs = [
        {"title": "Airport Inn", "text": "airport hotel with meeting rooms", "id": 7},
        {"title": "Sunny Beach", "text": "beach resort with nightlife"},
        {"title": "Old Town", "text": "calm boutique hotel near the business district"},
    ]
    with cassette("cohere", "rerank_objects"):
        async with client() as c:
            resp = await c.arerank(
                model="rerank-v3.5",
                query="quiet hotel for business travel",
                documents=docs,
                rank_fields=["title", "text"],
                priority=5,
                return_documents=True,
            )
    assert [r.index for r in resp.results] == [2, 0, 1]
    assert resp.results[1].document == docs[0]  # back-filled with every field kept
    assert resp.usage.search_units == 1


def test_model_prefix_selects_provider() -> None:
    with cassette("cohere", "rerank_basic"):
        resp = rerank(
            model="cohere/rerank-v3.5",
            query="capital of France?",
            documents=["Paris is the capital.", "Berlin is in Germany."],
            top_n=1,
            max_tokens_per_doc=512,
            api_key=key("COHERE_API_KEY"),
        )
    assert resp.provider == "cohere" and resp.model == "rerank-v3.5"


def test_rate_limit_error_carries_retry_after() -> None:
    with cassette("cohere", "rate_limited"), client() as c, pytest.raises(RateLimitError) as info:
        c.rerank(model="rerank-v3.5", query="q", documents=["a"])
    err = info.value
    assert err.status_code == 429 and err.retry_after == 7.0 and err.provider == "cohere"
    assert "per minute request limit" in str(err)


def test_missing_key_names_both_variables() -> None:
    with pytest.raises(AuthenticationError, match="COHERE_API_KEY or CO_API_KEY"):
        RerankClient("cohere").rerank(model="rerank-v3.5", query="q", documents=["a"])


def test_key_from_co_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CO_API_KEY", "from-env")
    call = RerankClient("cohere")._plan(dict(model="m", query="q", documents=["a"])).calls[0]
    assert call.headers["Authorization"] == "Bearer from-env"


@pytest.mark.parametrize(
    ("extra", "match"),
    [({"parameters": {"x": 1}}, "parameters"), ({"truncation": False}, "truncation")],
)
def test_v2_refuses_what_it_cannot_take(extra: dict[str, object], match: str) -> None:
    from unified_rerank import InvalidRequestError

    with pytest.raises(InvalidRequestError, match=match):
        client().rerank(model="rerank-v3.5", query="q", documents=["a"], **extra)  # type: ignore[arg-type]


def test_498_invalid_token_is_authentication_error() -> None:
    # Cohere's SDK raises InvalidTokenError for 498 (cohere 7.3 v2/raw_client.py): a key problem.
    from unified_rerank.providers import cohere
    from unified_rerank.providers.base import RawResponse
    from unified_rerank.schema import RerankRequest

    raw = RawResponse(498, {}, b'{"id": "x", "message": "invalid api token"}')
    request = RerankRequest.create(model="rerank-v3.5", query="q", documents=["a"])
    err = cohere.error(raw, request)
    assert isinstance(err, AuthenticationError) and not err.retryable
    assert err.status_code == 498 and "invalid api token" in err.message
