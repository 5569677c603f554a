from __future__ import annotations

import json

import pytest

from tests.support.cassettes import cassette
from tests.support.loopback import Answer, Loopback
from tests.support.provider_cases import CAPITALS, HOTELS
from unified_rerank import InvalidRequestError, ProviderError, RateLimitError, RerankClient

BASE = "http://localhost:9997"


def client(**kwargs: object) -> RerankClient:
    return RerankClient("xinference", base_url=BASE, max_retries=0, **kwargs)  # type: ignore[arg-type]


def test_basic_no_usage_without_return_len() -> None:
    with cassette("xinference", "rerank_basic"), client() as c:
        resp = c.rerank(
            model="bge-reranker-v2-m3", query="capital of France?", documents=CAPITALS, top_n=2
        )
    assert resp.model_dump(exclude_none=True) == {
        "id": "8d3c1e6a-2f4b-11f0-9a7c-0242ac120002",
        "object": "list",
        "results": [
            {"index": 0, "relevance_score": 0.99853515625},
            {"index": 2, "relevance_score": 0.0460205078125},
        ],
        "model": "bge-reranker-v2-m3",
        "usage": {},
        "provider": "xinference",
    }


async def test_return_len_usage_and_kwargs_async() -> None:
    with cassette("xinference", "rerank_return_len_kwargs"):
        async with client() as c:
            resp = await c.arerank(
                model="xinference/my-reranker",
                query="quiet hotel for business travel",
                documents=HOTELS,
                rank_fields=["title", "text"],
                return_documents=True,
                parameters={"return_len": True, "batch_size": 8},
            )
    assert [r.index for r in resp.results] == [2, 0, 1]
    assert resp.results[1].document == HOTELS[0]
    assert resp.usage.total_tokens == 93


def test_unknown_uid_names_it() -> None:
    with (
        cassette("xinference", "unknown_uid"),
        client() as c,
        pytest.raises(InvalidRequestError, match="UID 'bge-reranker-v3'") as info,
    ):
        c.rerank(model="bge-reranker-v3", query="q", documents=["a"])
    assert info.value.status_code == 404 and "Model not found in the model list" in str(info.value)


async def test_loading_is_retryable_async() -> None:
    with cassette("xinference", "loading"), pytest.raises(ProviderError, match="loading") as info:
        async with client() as c:
            await c.arerank(model="bge-reranker-v2-m3", query="q", documents=["a"])
    assert info.value.status_code == 503 and info.value.retryable


def test_body_fields_and_kwargs_string() -> None:
    call = (
        client(api_key="secret")
        ._plan(
            dict(
                model="uid",
                query="q",
                documents=["a", "b"],
                top_n=5,
                parameters={"max_chunks_per_doc": 2, "temperature": "é"},
            )
        )
        .calls[0]
    )
    sent = json.loads(call.body)
    assert sent == {
        "model": "uid",
        "query": "q",
        "documents": ["a", "b"],
        "return_documents": False,
        "top_n": 2,
        "max_chunks_per_doc": 2,
        "kwargs": '{"temperature": "\\u00e9"}',
    }
    assert call.headers["Authorization"] == "Bearer secret"
    assert (
        "Authorization"
        not in client()._plan(dict(model="uid", query="q", documents=["a"])).calls[0].headers
    )


def test_endpoint_and_key_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InvalidRequestError, match="xinference needs base_url"):
        RerankClient("xinference")._plan(dict(model="uid", query="q", documents=["a"]))
    monkeypatch.setenv("XINFERENCE_ENDPOINT", "http://127.0.0.1:9997/")
    monkeypatch.setenv("XINFERENCE_API_KEY", "k-env")
    call = RerankClient("xinference")._plan(dict(model="uid", query="q", documents=["a"])).calls[0]
    assert call.url == "http://127.0.0.1:9997/v1/rerank"
    assert call.headers["Authorization"] == "Bearer k-env"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_tokens_per_doc": 5}, "no equivalent"),
        ({"truncation": False}, "no equivalent"),
        ({"parameters": {"top_n": 1}}, "cannot set"),
        ({"parameters": {"kwargs": "{}"}}, "cannot set"),
        ({"parameters": {"return_len": "yes"}}, "true or false"),
        ({"parameters": {"max_chunks_per_doc": 0}}, "integer >= 1"),
        ({"parameters": {"max_chunks_per_doc": True}}, "integer >= 1"),
    ],
)
def test_refused_before_io(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(InvalidRequestError, match=match):
        client()._plan(dict(model="uid", query="q", documents=["a"], **kwargs))


def test_rate_limit_and_server_errors(loopback: Loopback) -> None:
    loopback.script(Answer(429, {"detail": "Rate limit reached for model uid"}))
    with (
        RerankClient("xinference", base_url=loopback.url, max_retries=0) as c,
        pytest.raises(RateLimitError, match="Rate limit reached"),
    ):
        c.rerank(model="uid", query="q", documents=["a"])
    loopback.script(
        Answer(500, {"detail": "CUDA out of memory"}),
        Answer(
            200,
            {
                "id": "x",
                "results": [{"index": 0, "relevance_score": 0.3, "document": None}],
                "meta": {},
            },
        ),
    )
    with RerankClient("xinference", base_url=loopback.url, max_retries=1) as c:
        resp = c.rerank(model="uid", query="q", documents=["a"])
    assert resp.results[0].relevance_score == 0.3 and loopback.received[-1].path == "/v1/rerank"


def test_partial_answer_is_an_error(loopback: Loopback) -> None:
    loopback.script(
        Answer(200, {"id": "x", "results": [{"index": 0, "relevance_score": 0.3}], "meta": {}})
    )
    with (
        RerankClient("xinference", base_url=loopback.url, max_retries=0) as c,
        pytest.raises(ProviderError, match="malformed"),
    ):
        c.rerank(model="uid", query="q", documents=["a", "b"])
