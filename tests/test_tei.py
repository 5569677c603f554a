from __future__ import annotations

import pytest

from tests.support.cassettes import cassette
from tests.support.loopback import Answer, Loopback
from tests.support.provider_cases import HOTELS
from unified_rerank import (
    AuthenticationError,
    InvalidRequestError,
    ProviderError,
    RateLimitError,
    RerankClient,
)

BASE = "http://localhost:8080"


def client(**kwargs: object) -> RerankClient:
    return RerankClient("tei", base_url=BASE, max_retries=0, **kwargs)  # type: ignore[arg-type]


def test_basic_no_server_top_n_cut_client_side_usage_from_header() -> None:
    with cassette("tei", "rerank_basic"), client() as c:
        resp = c.rerank(
            model="BAAI/bge-reranker-base",
            query="capital of France?",
            documents=["Paris is the capital.", "Berlin is in Germany."],
            top_n=1,
            truncation=True,
        )
    dumped = resp.model_dump(exclude_none=True)
    assert dumped["results"] == [{"index": 0, "relevance_score": 0.998}]
    assert dumped["model"] == "BAAI/bge-reranker-base" and dumped["provider"] == "tei"
    assert dumped["usage"] == {"total_tokens": 17}
    assert dumped["id"].startswith("rerank-")


async def test_objects_raw_scores_option_direction_backfill_async() -> None:
    with cassette("tei", "rerank_objects_raw"):
        async with client(raw_scores=True) as c:
            resp = await c.arerank(
                model="tei/any",
                query="quiet hotel for business travel",
                documents=HOTELS,
                rank_fields=["title", "text"],
                return_documents=True,
                parameters={"truncation_direction": "left"},
            )
    assert [r.index for r in resp.results] == [2, 0, 1]
    assert [r.relevance_score for r in resp.results] == [3.25, 1.5, -2.75]  # raw logits kept
    assert resp.results[1].document == HOTELS[0]


def test_overloaded_is_rate_limit() -> None:
    with cassette("tei", "overloaded"), client() as c, pytest.raises(RateLimitError) as info:
        c.rerank(model="m", query="q", documents=["a"])
    assert info.value.status_code == 429 and info.value.code == "Overloaded"
    assert "overloaded" in str(info.value)


def test_overloaded_lowercase_on_other_status_is_still_rate_limit(loopback: Loopback) -> None:
    loopback.script(Answer(503, {"error": "busy", "error_type": "overloaded"}))
    with (
        RerankClient("tei", base_url=loopback.url, max_retries=0) as c,
        pytest.raises(RateLimitError),
    ):
        c.rerank(model="m", query="q", documents=["a"])


def test_empty_401_names_the_key_variable() -> None:
    with (
        cassette("tei", "unauthorized"),
        client() as c,
        pytest.raises(AuthenticationError, match="TEI_API_KEY"),
    ):
        c.rerank(model="m", query="q", documents=["a"])


def test_validation_error() -> None:
    with (
        cassette("tei", "validation"),
        client() as c,
        pytest.raises(InvalidRequestError, match="maximum allowed batch size") as info,
    ):
        c.rerank(model="m", query="q", documents=["a"])
    assert info.value.status_code == 422 and info.value.code == "Validation"


def test_base_url_required() -> None:
    with pytest.raises(InvalidRequestError, match="tei needs base_url"):
        RerankClient("tei").rerank(model="m", query="q", documents=["a"])


def test_key_is_optional_and_sent_as_bearer_when_set(monkeypatch: pytest.MonkeyPatch) -> None:
    plan = client()._plan(dict(model="m", query="q", documents=["a"]))
    assert "Authorization" not in plan.calls[0].headers
    monkeypatch.setenv("TEI_API_KEY", "k-env")
    plan = RerankClient("tei", base_url=BASE)._plan(dict(model="m", query="q", documents=["a"]))
    assert plan.calls[0].headers["Authorization"] == "Bearer k-env"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_tokens_per_doc": 10},
        {"parameters": {"top_k": 3}},
        {"parameters": {"truncation_direction": "middle"}},
        {"parameters": {"raw_scores": "yes"}},
    ],
)
def test_bad_input_rejected_before_sending(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidRequestError):
        client()._plan(dict(model="m", query="q", documents=["a"], **kwargs))


def test_windows_of_max_batch_size(loopback: Loopback) -> None:
    # 5 documents, windows of 2: three calls, one global ranking.
    loopback.script(
        Answer(200, [{"index": 1, "score": 0.9}, {"index": 0, "score": 0.1}]),
        Answer(200, [{"index": 0, "score": 0.5}, {"index": 1, "score": 0.95}]),
        Answer(200, [{"index": 0, "score": 0.3}]),
    )
    with RerankClient("tei", base_url=loopback.url, max_batch_size=2, max_concurrency=1) as c:
        resp = c.rerank(model="m", query="q", documents=list("abcde"), top_n=3)
    assert [len(r.json()["texts"]) for r in loopback.received] == [2, 2, 1]
    assert all("top_n" not in r.json() for r in loopback.received)
    assert [(r.index, r.relevance_score) for r in resp.results] == [(3, 0.95), (1, 0.9), (2, 0.5)]


def test_default_window_is_32() -> None:
    plan = client()._plan(dict(model="m", query="q", documents=["d"] * 70))
    assert [len(w.documents) for _, w in plan.windows] == [32, 32, 6]
    with pytest.raises(InvalidRequestError, match="max_batch_size"):
        client(max_batch_size=0)._plan(dict(model="m", query="q", documents=["a"]))


def test_bare_list_required(loopback: Loopback) -> None:
    loopback.script(Answer(200, {"results": []}))
    with (
        RerankClient("tei", base_url=loopback.url, max_retries=0) as c,
        pytest.raises(ProviderError, match="malformed"),
    ):
        c.rerank(model="m", query="q", documents=["a"])


@pytest.mark.parametrize(("header", "count"), [("17", 17), ("²", None), ("1.5", None), ("", None)])
def test_compute_tokens_header_read_strictly(header: str, count: int | None) -> None:
    # Found by the property tests: "²".isdigit() is True but int("²") fails.
    from unified_rerank.providers import tei

    assert tei.token_count(header) == count
