"""Jina AI: cassette round trips (providers.md section 3), sync and async."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.cassettes import cassette, key
from tests.support.provider_cases import HOTELS, call
from unified_rerank import InvalidRequestError, RerankClient
from unified_rerank.providers.base import RawResponse
from unified_rerank.providers.jina import error as jina_error
from unified_rerank.schema import RerankRequest


def client(**kw: Any) -> RerankClient:
    return RerankClient("jina", api_key=key("JINA_API_KEY"), max_retries=0, **kw)


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_basic_round_trip_sends_return_documents_false(mode: str) -> None:
    with cassette("jina", "rerank_basic"):
        resp = await call(
            client(),
            mode,
            model="jina-reranker-v2-base-multilingual",
            query="capital of France?",
            documents=["Paris is the capital.", "Berlin is in Germany."],
            top_n=2,
        )
    dumped = resp.model_dump(exclude_none=True)
    assert dumped.pop("id").startswith("rerank-")  # Jina sends no id: one is made up
    assert dumped == {
        "object": "list",
        "results": [
            {"index": 0, "relevance_score": 0.91},
            {"index": 1, "relevance_score": 0.07},
        ],
        "model": "jina-reranker-v2-base-multilingual",
        "usage": {"total_tokens": 24},
        "provider": "jina",
    }


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_objects_rank_fields_documents_backfilled(mode: str) -> None:
    with cassette("jina", "rerank_objects"):
        resp = await call(
            client(),
            mode,
            model="jina-reranker-v3",
            query="quiet hotel for business travel",
            documents=HOTELS,
            rank_fields=["title", "text"],
            top_n=2,
            return_documents=True,
            truncation=True,  # Jina fits long input itself: nothing to send
            priority=1,  # scheduling hint: nothing to send
        )
    assert [r.index for r in resp.results] == [2, 0]
    # The caller's objects with every field, not the rendered text Jina echoed.
    assert [r.document for r in resp.results] == [HOTELS[2], HOTELS[0]]
    assert resp.usage.total_tokens == 58


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_422_becomes_invalid_request(mode: str) -> None:
    with cassette("jina", "error_422"), pytest.raises(InvalidRequestError) as info:
        await call(client(), mode, model="jina-reranker-v9", query="q", documents=["a"])
    err = info.value
    assert err.status_code == 422 and err.provider == "jina"
    assert err.message == "Model jina-reranker-v9 is not available"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"detail":"bad model"}', "bad model"),
        (b'{"message":"bad input"}', "bad input"),
        (b'{"error":{"message":"Invalid input or parameters"}}', "Invalid input or parameters"),
        (b'{"detail":[{"loc":["body","query"],"msg":"field required"}]}', "field required"),
    ],
)
def test_every_documented_error_shape_is_read(body: bytes, message: str) -> None:
    req = RerankRequest.create(model="m", query="q", documents=["a"])
    err = jina_error(RawResponse(422, {}, body), req)
    assert isinstance(err, InvalidRequestError) and message in err.message


def test_plan_url_headers_and_top_n_cap() -> None:
    c = RerankClient("jina", api_key="jina_x")
    call_ = c._plan(dict(model="m", query="q", documents=["a", "b"], top_n=50)).calls[0]
    assert call_.url == "https://api.jina.ai/v1/rerank"
    assert call_.headers["Authorization"] == "Bearer jina_x"
    assert call_.body == (
        b'{"model":"m","query":"q","documents":["a","b"],"top_n":2,"return_documents":false}'
    )


def test_no_documented_limit_means_no_split() -> None:
    docs = [f"d{i}" for i in range(3000)]
    plan = RerankClient("jina", api_key="k")._plan(dict(model="m", query="q", documents=docs))
    assert len(plan.calls) == 1
    windowed = RerankClient("jina", api_key="k", window_size=1000)
    assert len(windowed._plan(dict(model="m", query="q", documents=docs)).calls) == 3


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        ({"truncation": False}, "cannot refuse over-long input"),
        ({"max_tokens_per_doc": 64}, "jina has no `max_tokens_per_doc`"),
        ({"parameters": {"x": 1}}, "only by pinecone"),
    ],
)
def test_unsupported_fields_are_refused(extra: dict[str, Any], match: str) -> None:
    with pytest.raises(InvalidRequestError, match=match):
        RerankClient("jina", api_key="k")._plan(
            dict(model="m", query="q", documents=["a"], **extra)
        )


def test_missing_key_names_variable() -> None:
    from unified_rerank import AuthenticationError

    with pytest.raises(AuthenticationError, match="JINA_API_KEY"):
        RerankClient("jina")._plan(dict(model="m", query="q", documents=["a"]))
