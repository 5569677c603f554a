"""Pinecone Inference: cassette round trips (providers.md section 4), sync and async."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.cassettes import cassette, key
from tests.support.provider_cases import call
from unified_rerank import AuthenticationError, InvalidRequestError, RerankClient


def client(**kw: Any) -> RerankClient:
    return RerankClient("pinecone", api_key=key("PINECONE_API_KEY"), max_retries=0, **kw)


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_basic_round_trip(mode: str) -> None:
    docs = [
        {"id": "doc_0", "text": "Paris is the capital."},
        {"id": "doc_1", "text": "Berlin is in Germany."},
    ]
    with cassette("pinecone", "rerank_basic"):
        resp = await call(
            client(),
            mode,
            model="bge-reranker-v2-m3",
            query="capital of France?",
            documents=docs,
            top_n=2,
            return_documents=True,
            rank_fields=["text"],
            parameters={"truncate": "END"},
        )
    dumped = resp.model_dump(exclude_none=True)
    assert dumped.pop("id").startswith("rerank-")  # Pinecone sends no id
    assert dumped == {
        "object": "list",
        "results": [
            {"index": 0, "relevance_score": 0.97, "document": docs[0]},
            {"index": 1, "relevance_score": 0.004, "document": docs[1]},
        ],
        "model": "bge-reranker-v2-m3",
        "usage": {"rerank_units": 1},  # its own unit: not search units, not tokens
        "provider": "pinecone",
    }


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_strings_wrapped_truncation_mapped_model_optional(mode: str) -> None:
    with cassette("pinecone", "rerank_strings"):
        resp = await call(
            client(),
            mode,
            model="pinecone-rerank-v0",
            query="capital of France?",
            documents=["Berlin is in Germany.", "Paris is the capital.", "Lyon is in France."],
            top_n=2,
            truncation=False,
            priority=9,  # a Cohere scheduling hint: dropped
        )
    assert [(r.index, r.relevance_score) for r in resp.results] == [(1, 0.9121), (2, 0.3317)]
    assert all(r.document is None for r in resp.results)
    assert resp.model == "pinecone-rerank-v0"  # the answer had no `model`: the request's
    assert resp.usage.rerank_units == 1


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_rank_fields_and_max_tokens_on_cohere_4_fast(mode: str) -> None:
    docs = [
        {"title": "Airport Inn", "text": "airport hotel with meeting rooms", "id": 7},
        {"title": "Sunny Beach", "text": "beach resort with nightlife"},
    ]
    with cassette("pinecone", "rerank_fields"):
        resp = await call(
            client(),
            mode,
            model="cohere-rerank-4-fast",
            query="quiet hotel for business travel",
            documents=docs,
            rank_fields=["title", "text"],
            max_tokens_per_doc=1024,
            return_documents=True,
        )
    assert [r.document for r in resp.results] == docs


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_400_keeps_pinecone_code(mode: str) -> None:
    with cassette("pinecone", "error_400"), pytest.raises(InvalidRequestError) as info:
        await call(client(), mode, model="bge-reranker-v2-m3", query="q", documents=["a"])
    err = info.value
    assert (err.status_code, err.code, err.provider) == (400, "INVALID_ARGUMENT", "pinecone")
    assert err.message == "Bad request. The request body included invalid request parameters."
    assert "INVALID_ARGUMENT" in str(err)


def test_401_is_authentication_error() -> None:
    with cassette("pinecone", "error_401"), pytest.raises(AuthenticationError) as info:
        client().rerank(model="bge-reranker-v2-m3", query="q", documents=["a"])
    assert info.value.code == "UNAUTHENTICATED" and "Invalid API key." in info.value.message


def test_headers_and_api_version_option() -> None:
    fields = dict(model="bge-reranker-v2-m3", query="q", documents=["a"])
    default = RerankClient("pinecone", api_key="pc-1")._plan(dict(fields)).calls[0]
    assert default.url == "https://api.pinecone.io/rerank"
    assert default.headers["Api-Key"] == "pc-1" and "Authorization" not in default.headers
    assert default.headers["X-Pinecone-Api-Version"] == "2026-07"
    newer = RerankClient("pinecone", api_key="pc-1", api_version="2026-04")
    assert newer._plan(dict(fields)).calls[0].headers["X-Pinecone-Api-Version"] == "2026-04"
    with pytest.raises(InvalidRequestError, match="YYYY-MM"):
        RerankClient("pinecone", api_key="pc-1", api_version="latest")._plan(dict(fields))


@pytest.mark.parametrize(
    ("model", "size"),
    [
        ("bge-reranker-v2-m3", 100),
        ("pinecone-rerank-v0", 100),
        ("cohere-rerank-3.5", 200),
        ("cohere-rerank-4-fast", 250),
        ("some-future-model", 100),
    ],
)
def test_per_model_windows(model: str, size: int) -> None:
    docs = [f"d{i}" for i in range(501)]
    plan = RerankClient("pinecone", api_key="k")._plan(dict(model=model, query="q", documents=docs))
    sizes = [len(w.documents) for _, w in plan.windows]
    assert max(sizes) == size and sum(sizes) == 501


def test_top_n_capped_and_other_fields_kept() -> None:
    plan = RerankClient("pinecone", api_key="k")._plan(
        dict(model="bge-reranker-v2-m3", query="q", documents=["a", {"text": "b", "n": 1}], top_n=7)
    )
    body = json.loads(plan.calls[0].body)
    assert body["top_n"] == 2
    assert body["documents"] == [{"text": "a"}, {"text": "b", "n": 1}]
    assert body["return_documents"] is False
    # Sent on every call, as Pinecone's SDK sends it (the defaults rule, docs/providers.md).
    assert body["rank_fields"] == ["text"]


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"model": "cohere-rerank-3.5", "truncation": True}, "no truncate parameter"),
        ({"model": "bge-reranker-v2-m3", "max_tokens_per_doc": 9}, "takes no `max_tokens"),
        (
            {"model": "bge-reranker-v2-m3", "truncation": True, "parameters": {"truncate": "NONE"}},
            "conflicts",
        ),
    ],
)
def test_unmappable_fields_are_refused(fields: dict[str, Any], match: str) -> None:
    with pytest.raises(InvalidRequestError, match=match):
        RerankClient("pinecone", api_key="k")._plan(dict(query="q", documents=["a"], **fields))


def test_matching_truncate_in_parameters_is_fine() -> None:
    plan = RerankClient("pinecone", api_key="k")._plan(
        dict(
            model="bge-reranker-v2-m3",
            query="q",
            documents=["a"],
            truncation=True,
            parameters={"truncate": "END"},
        )
    )
    assert json.loads(plan.calls[0].body)["parameters"] == {"truncate": "END"}
