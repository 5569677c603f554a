from __future__ import annotations

import pytest

from tests.support.cassettes import cassette
from tests.support.loopback import Answer, Loopback
from tests.support.provider_cases import CAPITALS, HOTELS
from unified_rerank import (
    AuthenticationError,
    InvalidRequestError,
    ProviderError,
    RerankClient,
)

BASE = "http://localhost:8080"
MODEL = "bge-reranker-v2-m3"


def client(**kwargs: object) -> RerankClient:
    return RerankClient("llamacpp", base_url=BASE, max_retries=0, **kwargs)  # type: ignore[arg-type]


def test_basic_raw_logits_kept() -> None:
    with cassette("llamacpp", "rerank_basic"), client() as c:
        resp = c.rerank(model=MODEL, query="capital of France?", documents=CAPITALS, top_n=2)
    dumped = resp.model_dump(exclude_none=True)
    assert dumped["results"] == [
        {"index": 0, "relevance_score": 7.8125},
        {"index": 2, "relevance_score": -1.40625},
    ]
    assert dumped["usage"] == {"total_tokens": 47} and dumped["provider"] == "llamacpp"


async def test_objects_key_backfill_async() -> None:
    with cassette("llamacpp", "rerank_objects"):
        async with client(api_key="server-key") as c:
            resp = await c.arerank(
                model=f"llamacpp/{MODEL}",
                query="quiet hotel for business travel",
                documents=HOTELS,
                rank_fields=["title", "text"],
                return_documents=True,
            )
    assert [r.index for r in resp.results] == [2, 0, 1]
    assert resp.results[1].document == HOTELS[0]


def test_reranking_off_says_how_to_start_the_server() -> None:
    with (
        cassette("llamacpp", "reranking_off"),
        client() as c,
        pytest.raises(ProviderError, match="--reranking") as info,
    ):
        c.rerank(model=MODEL, query="q", documents=["a"])
    assert "reranking off" in str(info.value) and "does not support reranking" in str(info.value)
    assert info.value.status_code == 501 and info.value.code == "not_supported_error"
    assert not info.value.retryable


async def test_context_exceeded_is_invalid_request_async() -> None:
    with (
        cassette("llamacpp", "context_exceeded"),
        pytest.raises(InvalidRequestError, match="too large") as info,
    ):
        async with client() as c:
            await c.arerank(model=MODEL, query="q", documents=["a"])
    assert info.value.code == "exceed_context_size_error"


def test_never_top_n_zero_nor_texts(loopback: Loopback) -> None:
    plan = client()._plan(dict(model=MODEL, query="q", documents=["a", "b"]))
    assert plan.calls[0].body == b'{"model":"bge-reranker-v2-m3","query":"q","documents":["a","b"]}'
    plan = client()._plan(dict(model=MODEL, query="q", documents=["a", "b"], top_n=9))
    assert b'"top_n":2' in plan.calls[0].body and b"texts" not in plan.calls[0].body
    with pytest.raises(InvalidRequestError, match="top_n"):
        client()._plan(dict(model=MODEL, query="q", documents=["a"], top_n=0))
    assert "Authorization" not in plan.calls[0].headers


def test_key_optional_from_server_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLAMA_API_KEY", "k-env")
    call = client()._plan(dict(model=MODEL, query="q", documents=["a"])).calls[0]
    assert call.headers["Authorization"] == "Bearer k-env"
    assert call.url == "http://localhost:8080/v1/rerank"


@pytest.mark.parametrize(
    "kwargs", [{"max_tokens_per_doc": 5}, {"truncation": True}, {"parameters": {}}]
)
def test_refused_before_io(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidRequestError, match="no equivalent"):
        client()._plan(dict(model=MODEL, query="q", documents=["a"], **kwargs))
    with pytest.raises(InvalidRequestError, match="llamacpp needs base_url"):
        RerankClient("llamacpp")._plan(dict(model=MODEL, query="q", documents=["a"]))


def test_loading_retried_then_answer_and_bad_key(loopback: Loopback) -> None:
    loading = {"error": {"code": 503, "message": "Loading model", "type": "unavailable_error"}}
    ok = {"results": [{"index": 0, "relevance_score": -0.25}], "usage": {"total_tokens": 5}}
    loopback.script(Answer(503, loading), Answer(200, ok))
    with RerankClient("llamacpp", base_url=loopback.url, max_retries=1) as c:
        resp = c.rerank(model=MODEL, query="q", documents=["a"])
    assert resp.results[0].relevance_score == -0.25 and len(loopback.received) == 2
    bad_key = {"error": {"message": "Invalid API Key", "type": "authentication_error", "code": 401}}
    loopback.script(Answer(401, bad_key))
    with (
        RerankClient("llamacpp", base_url=loopback.url, api_key="wrong", max_retries=0) as c,
        pytest.raises(AuthenticationError, match="Invalid API Key"),
    ):
        c.rerank(model=MODEL, query="q", documents=["a"])
    assert loopback.received[-1].headers["Authorization"] == "Bearer wrong"


def test_tei_format_answer_is_refused(loopback: Loopback) -> None:
    # What the server sends for a `texts` request: a bare list. Never a ranking here.
    loopback.script(Answer(200, [{"index": 0, "score": 0.5}]))
    with (
        RerankClient("llamacpp", base_url=loopback.url, max_retries=0) as c,
        pytest.raises(ProviderError, match="malformed"),
    ):
        c.rerank(model=MODEL, query="q", documents=["a"])
