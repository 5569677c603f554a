"""``UnifiedRanker`` in real Haystack pipelines: an ``InMemoryDocumentStore`` and an
``InMemoryBM25Retriever`` feeding the ranker, run sync and async (``Pipeline.run_async`` in
Haystack 3, ``AsyncPipeline`` in 2.x), against cassettes and the embedded ``local/bm25``."""

from __future__ import annotations

import threading
from copy import deepcopy
from typing import Any

import pytest
from haystack import Document
from haystack_integrations.components.rankers.unified_rerank import UnifiedRanker

from tests.support.cassettes import key
from unified_rerank import (
    AuthenticationError,
    InvalidRequestError,
    RateLimitError,
    RerankClient,
    RerankError,
    RerankResponse,
)
from unified_rerank.cache import CachedReranker
from unified_rerank.routing import Router

QUERY = "What is the capital of France?"


def cohere(**kwargs: Any) -> UnifiedRanker:
    options: dict[str, Any] = {"max_retries": 0}
    options.update(kwargs)
    return UnifiedRanker("cohere/rerank-v3.5", **options)


async def run(pipeline: Any, data: dict[str, Any], run_async: bool, **kw: Any) -> dict[str, Any]:
    if run_async:
        result: dict[str, Any] = await pipeline.run_async(data=data, **kw)
    else:
        result = pipeline.run(data=data, **kw)
    return result


def typed_cause(exc: BaseException) -> BaseException:
    """The first unified-rerank error in ``exc``'s chain (Haystack wraps a component's error
    in ``PipelineRuntimeError`` and chains it)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, RerankError):
            return seen
        seen = seen.__cause__ or seen.__context__
    raise AssertionError(f"no unified-rerank error in the chain of {exc!r}")


@pytest.fixture(autouse=True)
def _cohere_key(monkeypatch: pytest.MonkeyPatch) -> None:
    # The ranker's default Secret reads COHERE_API_KEY (a placeholder unless recording).
    monkeypatch.setenv("COHERE_API_KEY", key("COHERE_API_KEY"))


@pytest.mark.parametrize("run_async", [False, True])
async def test_cohere_behind_bm25_retriever(
    run_async: bool, pipeline_for: Any, replay: Any, pipeline_inputs: Any
) -> None:
    pipeline = pipeline_for(cohere(top_k=2), for_async=run_async)
    with replay("cohere_pipeline"):
        result = await run(
            pipeline, pipeline_inputs(), run_async, include_outputs_from={"retriever"}
        )
    retrieved = result["retriever"]["documents"]
    ranked = result["ranker"]["documents"]
    assert [d.id for d in retrieved] == ["fr", "de", "rome", "eiffel"]
    assert [(d.id, d.score) for d in ranked] == [("fr", 0.95), ("eiffel", 0.42)]
    assert ranked[1].content == "The Eiffel Tower stands in Paris."
    assert ranked[1].meta == {"title": "Landmarks"}
    # The retriever's documents (the ranker's inputs) keep their BM25 scores: not mutated.
    assert all(d.score is not None and d.score > 0.1 for d in retrieved)
    assert retrieved[0] is not ranked[0] and retrieved[0].meta is not ranked[0].meta


@pytest.mark.parametrize("run_async", [False, True])
async def test_local_bm25_needs_no_key_and_no_network(
    run_async: bool, pipeline_for: Any, pipeline_inputs: Any
) -> None:
    # The embedded BM25 reranker (in process): the ranking of the core's own client.
    pipeline = pipeline_for(UnifiedRanker("local/bm25", top_k=3), for_async=run_async)
    query = "Eiffel Tower Paris"
    result = await run(
        pipeline, pipeline_inputs(query), run_async, include_outputs_from={"retriever"}
    )
    retrieved, ranked = result["retriever"]["documents"], result["ranker"]["documents"]
    expected = RerankClient("local").rerank(
        model="local/bm25", query=query, documents=[d.content for d in retrieved], top_n=3
    )
    assert [(d.id, d.score) for d in ranked] == [
        (retrieved[r.index].id, r.relevance_score) for r in expected.results
    ]
    assert ranked[0].id == "eiffel"
    assert ranked[0].score is not None and ranked[0].score > ranked[-1].score  # type: ignore[operator]


@pytest.mark.parametrize("run_async", [False, True])
async def test_meta_fields_rendered_into_text_for_string_providers(
    run_async: bool, pipeline_for: Any, replay: Any, pipeline_inputs: Any
) -> None:
    ranker = cohere(top_k=None, meta_fields_to_embed=["title", "year"], meta_data_separator=" | ")
    pipeline = pipeline_for(ranker, for_async=run_async)
    with replay("cohere_meta_rendered"):
        result = await run(pipeline, pipeline_inputs(), run_async)
    ranked = result["ranker"]["documents"]
    assert [d.id for d in ranked] == ["fr", "eiffel", "de", "rome"]
    # The rendering is what was sent, never what is returned: content and meta as stored.
    assert ranked[0].content == "Paris is the capital of France."
    assert ranked[0].meta == {"title": "France", "year": 2024}


@pytest.mark.parametrize("run_async", [False, True])
async def test_meta_fields_as_rank_fields_where_ranked_natively(
    run_async: bool,
    monkeypatch: pytest.MonkeyPatch,
    pipeline_for: Any,
    replay: Any,
    pipeline_inputs: Any,
) -> None:
    monkeypatch.setenv("PINECONE_API_KEY", key("PINECONE_API_KEY"))
    ranker = UnifiedRanker(
        "pinecone/bge-reranker-v2-m3", top_k=3, meta_fields_to_embed=["title"], max_retries=0
    )
    pipeline = pipeline_for(ranker, for_async=run_async)
    with replay("pinecone_meta_native"):
        result = await run(pipeline, pipeline_inputs(), run_async)
    ranked = result["ranker"]["documents"]
    assert [(d.id, d.score) for d in ranked] == [("fr", 0.91), ("eiffel", 0.37), ("de", 0.05)]


@pytest.mark.parametrize("run_async", [False, True])
async def test_provider_error_reaches_the_pipeline_typed(
    run_async: bool, pipeline_for: Any, replay: Any, pipeline_inputs: Any
) -> None:
    pipeline = pipeline_for(cohere(top_k=2), for_async=run_async)
    with replay("cohere_rate_limited"), pytest.raises(Exception) as caught:
        await run(pipeline, pipeline_inputs(), run_async)
    error = typed_cause(caught.value)
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 7
    assert error.provider == "cohere"


@pytest.mark.parametrize("run_async", [False, True])
async def test_missing_key_is_an_authentication_error_naming_the_variables(
    run_async: bool, monkeypatch: pytest.MonkeyPatch, pipeline_for: Any, pipeline_inputs: Any
) -> None:
    monkeypatch.delenv("COHERE_API_KEY")
    pipeline = pipeline_for(cohere(), for_async=run_async)
    with pytest.raises(Exception) as caught:
        await run(pipeline, pipeline_inputs(), run_async)
    error = typed_cause(caught.value)
    assert isinstance(error, AuthenticationError)
    assert "COHERE_API_KEY" in str(error)


@pytest.mark.parametrize("run_async", [False, True])
async def test_bad_top_k_at_run_fails_before_any_call(
    run_async: bool, pipeline_for: Any, pipeline_inputs: Any
) -> None:
    pipeline = pipeline_for(cohere(), for_async=run_async)
    with pytest.raises(Exception) as caught:  # no cassette: any request would fail otherwise
        await run(pipeline, pipeline_inputs(top_k=0), run_async)
    assert isinstance(typed_cause(caught.value), InvalidRequestError)


class SyncForbidden:
    """A ``Reranker`` whose sync path must not be used: proves ``run_async`` awaits the core's
    ``arerank`` on the event loop's thread (no executor hop)."""

    provider = "local"

    def __init__(self) -> None:
        self.threads: list[int] = []
        self.inner = RerankClient("local")

    def rerank(self, **kwargs: Any) -> RerankResponse:
        raise AssertionError("the sync path was used from an async pipeline")

    async def arerank(self, **kwargs: Any) -> RerankResponse:
        self.threads.append(threading.get_ident())
        return self.inner.rerank(**kwargs)


async def test_async_pipeline_awaits_arerank_on_the_loop_thread(
    pipeline_for: Any, pipeline_inputs: Any
) -> None:
    client = SyncForbidden()
    pipeline = pipeline_for(UnifiedRanker("local/bm25", client=client), for_async=True)
    result = await pipeline.run_async(data=pipeline_inputs("Eiffel Tower Paris"))
    assert result["ranker"]["documents"][0].id == "eiffel"
    assert client.threads == [threading.get_ident()]


@pytest.mark.parametrize("run_async", [False, True])
async def test_router_and_cache_as_client(
    run_async: bool, pipeline_for: Any, pipeline_inputs: Any
) -> None:
    # A ready Reranker: a fallback Router over the embedded BM25, behind a cache. A router's
    # provider is not known up front, so meta fields are rendered into the text.
    router = Router([RerankClient("local")], "fallback")
    cached = CachedReranker(router)
    ranker = UnifiedRanker("local/bm25", client=cached, top_k=2, meta_fields_to_embed=["title"])
    pipeline = pipeline_for(ranker, for_async=run_async)
    first = await run(pipeline, pipeline_inputs("Landmarks in Paris"), run_async)
    again = await run(pipeline, pipeline_inputs("Landmarks in Paris"), run_async)
    ranked = first["ranker"]["documents"]
    assert ranked[0].id == "eiffel"  # "Landmarks" is only in its rendered title
    assert [(d.id, d.score) for d in again["ranker"]["documents"]] == [
        (d.id, d.score) for d in ranked
    ]
    assert (cached.misses, cached.hits) == (1, 1)


def test_inputs_untouched_when_run_directly(documents: list[Document]) -> None:
    before = deepcopy(documents)
    out = UnifiedRanker("local/bm25", top_k=None).run(query="Paris", documents=documents)
    assert documents == before
    ranked = out["documents"]
    assert sorted(d.id for d in ranked) == sorted(d.id for d in documents)
    rome = next(d for d in ranked if d.id == "rome")
    rome.meta["tags"].append("changed")  # the output's meta is its own, nested values too
    assert documents[2].meta == {"title": "Italy", "tags": ["old"]}


def test_query_used_is_the_pipeline_input(pipeline_for: Any, pipeline_inputs: Any) -> None:
    ranked = pipeline_for(UnifiedRanker("local/bm25", top_k=1)).run(
        data=pipeline_inputs("Colosseum Rome")
    )["ranker"]["documents"]
    assert [d.id for d in ranked] == ["rome"]
