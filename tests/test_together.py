from __future__ import annotations

from typing import Any

import pytest

from tests.support.cassettes import cassette, key
from tests.support.loopback import Answer, Loopback
from tests.support.provider_cases import HOTELS
from unified_rerank import AuthenticationError, InvalidRequestError, RerankClient

MODEL = "Salesforce/Llama-Rank-V1"


def client() -> RerankClient:
    return RerankClient("together", api_key=key("TOGETHER_API_KEY"), max_retries=0)


def test_basic_round_trip() -> None:
    with cassette("together", "rerank_basic"), client() as c:
        resp = c.rerank(
            model=MODEL,
            query="capital of France?",
            documents=["Paris is the capital.", "Berlin is in Germany."],
            top_n=1,
        )
    assert resp.model_dump(exclude_none=True) == {
        "id": "oGs6Zt9-62bZhn-8c5a6d7e8f9a0b1c",
        "object": "list",
        "results": [{"index": 0, "relevance_score": 0.9876}],
        "model": MODEL,
        "usage": {"total_tokens": 30},
        "provider": "together",
    }


async def test_objects_and_rank_fields_passed_through_async() -> None:
    with cassette("together", "rerank_objects"):
        async with client() as c:
            resp = await c.arerank(
                model=f"together/{MODEL}",
                query="quiet hotel for business travel",
                documents=HOTELS,
                rank_fields=["title", "text"],
                top_n=2,
                return_documents=True,
            )
    assert [r.index for r in resp.results] == [2, 0]
    # Not Together's JSON-stringified echo: the caller's object.
    assert resp.results[1].document == HOTELS[0]
    assert resp.usage.total_tokens == 88


def test_unauthorized() -> None:
    with (
        cassette("together", "unauthorized"),
        client() as c,
        pytest.raises(AuthenticationError) as info,
    ):
        c.rerank(model=MODEL, query="q", documents=["a"])
    assert info.value.status_code == 401 and info.value.code == "invalid_api_key"
    assert "Invalid API key" in str(info.value)


def test_key_variable_and_unsupported_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(AuthenticationError, match="TOGETHER_API_KEY"):
        RerankClient("together").rerank(model=MODEL, query="q", documents=["a"])
    monkeypatch.setenv("TOGETHER_API_KEY", "from-env")
    call = RerankClient("together")._plan(dict(model=MODEL, query="q", documents=["a"])).calls[0]
    assert call.headers["Authorization"] == "Bearer from-env"
    assert call.url == "https://api.together.ai/v1/rerank"
    bad: dict[str, Any]
    for bad in ({"truncation": True}, {"max_tokens_per_doc": 5}, {"parameters": {}}):
        with pytest.raises(InvalidRequestError, match="together has no equivalent"):
            RerankClient("together")._plan(dict(model=MODEL, query="q", documents=["a"], **bad))


def test_server_error_retried(loopback: Loopback) -> None:
    loopback.script(
        Answer(502, b"<html>bad gateway</html>"),
        Answer(200, {"results": [{"index": 0, "relevance_score": 0.5}]}),
    )
    with RerankClient("together", api_key="k", base_url=loopback.url, max_retries=1) as c:
        resp = c.rerank(model=MODEL, query="q", documents=["a"])
    assert resp.results[0].index == 0 and loopback.received[-1].path == "/v1/rerank"
