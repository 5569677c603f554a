"""Voyage AI: cassette round trips (providers.md section 2), sync and async."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.cassettes import cassette, key
from tests.support.provider_cases import HOTELS, call
from unified_rerank import InvalidRequestError, RerankClient, rerank
from unified_rerank.providers.base import RawResponse
from unified_rerank.providers.voyage import error as voyage_error


def client(**kw: Any) -> RerankClient:
    return RerankClient("voyage", api_key=key("VOYAGE_API_KEY"), max_retries=0, **kw)


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_basic_round_trip(mode: str) -> None:
    with cassette("voyage", "rerank_basic"):
        resp = await call(
            client(),
            mode,
            model="rerank-2.5",
            query="capital of France?",
            documents=["Paris is the capital.", "Berlin is in Germany."],
            top_n=1,
            return_documents=True,
            truncation=True,
        )
    dumped = resp.model_dump(exclude_none=True)
    assert dumped["id"].startswith("rerank-")
    del dumped["id"]
    assert dumped == {
        "object": "list",
        # Voyage's bare-string document becomes the unified {"text": ...} object.
        "results": [
            {"index": 0, "relevance_score": 0.8125, "document": {"text": "Paris is the capital."}}
        ],
        "model": "rerank-2.5",
        "usage": {"total_tokens": 19},  # tokens, never search units
        "provider": "voyage",
    }


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_objects_rank_fields_sorted_priority_dropped(mode: str) -> None:
    with cassette("voyage", "rerank_objects"):
        resp = await call(
            client(),
            mode,
            model="rerank-2.5-lite",
            query="quiet hotel for business travel",
            documents=HOTELS,
            rank_fields=["title", "text"],
            priority=5,  # a scheduling hint voyage has no field for: not in the wire body
            truncation=False,
        )
    assert [r.index for r in resp.results] == [2, 0, 1]  # sorted though the wire was not
    assert [r.relevance_score for r in resp.results] == [0.78515625, 0.5703125, 0.0869140625]
    assert all(r.document is None for r in resp.results)
    assert resp.usage.total_tokens == 61 and resp.usage.search_units is None


def test_model_prefix_selects_voyage() -> None:
    with cassette("voyage", "rerank_basic"):
        resp = rerank(
            model="voyage/rerank-2.5",
            query="capital of France?",
            documents=["Paris is the capital.", "Berlin is in Germany."],
            top_n=1,
            return_documents=True,
            truncation=True,
            api_key=key("VOYAGE_API_KEY"),
        )
    assert resp.provider == "voyage" and resp.results[0].index == 0


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_400_detail_becomes_invalid_request(mode: str) -> None:
    with cassette("voyage", "error_400"), pytest.raises(InvalidRequestError) as info:
        await call(client(), mode, model="wrong-model", query="q", documents=["a"])
    err = info.value
    assert err.status_code == 400 and err.provider == "voyage"
    assert err.message == "Model wrong-model is not supported."


def test_plan_headers_top_k_cap_and_atlas_keys() -> None:
    fields = dict(model="rerank-2", query="q", documents=["a", "b"], top_n=9)
    call_ = RerankClient("voyage", api_key="pa-123")._plan(dict(fields)).calls[0]
    assert call_.url == "https://api.voyageai.com/v1/rerank"
    assert call_.headers["Authorization"] == "Bearer pa-123"
    assert b'"top_k":2' in call_.body and b"top_n" not in call_.body
    # MongoDB Atlas keys go to MongoDB's mirror of the API, as Voyage's SDK does.
    atlas = RerankClient("voyage", api_key="al-123")._plan(dict(fields)).calls[0]
    assert atlas.url == "https://ai.mongodb.com/v1/rerank"
    # ... unless a base_url says otherwise.
    own = RerankClient("voyage", api_key="al-123", base_url="http://proxy:1/")
    assert own._plan(dict(fields)).calls[0].url == "http://proxy:1/v1/rerank"


def test_key_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOYAGE_API_KEY", "from-env")
    c = RerankClient("voyage")._plan(dict(model="m", query="q", documents=["a"])).calls[0]
    assert c.headers["Authorization"] == "Bearer from-env"


def test_large_calls_are_split_at_1000_documents() -> None:
    docs = [f"doc {i}" for i in range(2500)]
    plan = RerankClient("voyage", api_key="k")._plan(dict(model="m", query="q", documents=docs))
    assert [len(w.documents) for _, w in plan.windows] == [1000, 1000, 500]


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        ({"max_tokens_per_doc": 100}, "voyage has no `max_tokens_per_doc`"),
        ({"parameters": {"truncate": "END"}}, "only by pinecone"),
    ],
)
def test_unsupported_fields_are_refused(extra: dict[str, Any], match: str) -> None:
    with pytest.raises(InvalidRequestError, match=match):
        RerankClient("voyage", api_key="k")._plan(
            dict(model="m", query="q", documents=["a"], **extra)
        )


def test_error_fallbacks_and_empty_bodies() -> None:
    from unified_rerank.schema import RerankRequest

    req = RerankRequest.create(model="m", query="q", documents=["a"])
    err = voyage_error(RawResponse(503, {}, b"<html>overloaded</html>"), req)
    assert err.retryable and "overloaded" in err.message
    err = voyage_error(RawResponse(429, {"retry-after": "3"}, b'{"detail":"slow"}'), req)
    assert type(err).__name__ == "RateLimitError" and err.message == "slow"
