"""``UnifiedRerank`` inside ``ContextualCompressionRetriever`` and LCEL chains."""

from __future__ import annotations

from typing import Any

from langchain_classic.retrievers import ContextualCompressionRetriever
from langchain_classic.retrievers.document_compressors import DocumentCompressorPipeline
from langchain_core.callbacks import (
    AsyncCallbackManagerForRetrieverRun,
    CallbackManagerForRetrieverRun,
)
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableLambda, RunnablePassthrough
from langchain_unified_rerank import UnifiedRerank

from tests.support.cassettes import cassette, key

QUERY = "capital of France?"
HOTEL_QUERY = "quiet hotel for business travel"


class FixedRetriever(BaseRetriever):
    """Returns the same documents for any query (the objects themselves, not copies)."""

    docs: list[Document]

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        return self.docs

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun
    ) -> list[Document]:
        return self.docs


def capital_docs() -> list[Document]:
    return [
        Document("Paris is the capital.", id="p", metadata={"source": "wiki"}),
        Document("Berlin is in Germany.", id="b", metadata={"source": "atlas"}),
    ]


def hotel_docs() -> list[Document]:
    return [
        Document("airport hotel with meeting rooms", metadata={"title": "Airport Inn"}),
        Document("beach resort with nightlife", metadata={"title": "Sunny Beach"}),
        Document("calm boutique hotel near the business district", metadata={"title": "Old Town"}),
    ]


def reranker(**kwargs: Any) -> UnifiedRerank:
    return UnifiedRerank(
        model="cohere/rerank-v3.5", api_key=key("COHERE_API_KEY"), max_retries=0, **kwargs
    )


def compression_retriever(docs: list[Document]) -> ContextualCompressionRetriever:
    return ContextualCompressionRetriever(
        base_compressor=reranker(top_n=1, max_tokens_per_doc=512),
        base_retriever=FixedRetriever(docs=docs),
    )


def test_contextual_compression_retriever_invoke() -> None:
    docs = capital_docs()
    with cassette("cohere", "rerank_basic"):
        out = compression_retriever(docs).invoke(QUERY)
    assert [(d.id, d.metadata) for d in out] == [
        ("p", {"source": "wiki", "relevance_score": 0.9312})
    ]
    assert "relevance_score" not in docs[0].metadata  # the retriever's documents untouched


async def test_contextual_compression_retriever_ainvoke() -> None:
    with cassette("cohere", "rerank_basic"):
        out = await compression_retriever(capital_docs()).ainvoke(QUERY)
    assert [d.page_content for d in out] == ["Paris is the capital."]
    assert out[0].metadata["relevance_score"] == 0.9312


def test_compressor_pipeline_passes_callbacks() -> None:
    # DocumentCompressorPipeline passes `callbacks` only when the signature names it.
    pipeline = DocumentCompressorPipeline(transformers=[reranker(top_n=1, max_tokens_per_doc=512)])
    retriever = ContextualCompressionRetriever(
        base_compressor=pipeline, base_retriever=FixedRetriever(docs=capital_docs())
    )
    with cassette("cohere", "rerank_basic"):
        out = retriever.invoke(QUERY)
    assert [d.id for d in out] == ["p"]


def lcel_chain(rerank: UnifiedRerank, docs: list[Document]) -> Any:
    """retrieve -> rerank -> format, as an LCEL chain with sync and native async steps."""

    def rerank_step(x: dict[str, Any]) -> Any:
        return rerank.compress_documents(x["docs"], x["query"])

    async def arerank_step(x: dict[str, Any]) -> Any:
        return await rerank.acompress_documents(x["docs"], x["query"])

    def fmt(ranked: Any) -> str:
        return "\n".join(f"{d.metadata['title']} ({d.metadata['relevance_score']})" for d in ranked)

    return (
        {"docs": FixedRetriever(docs=docs), "query": RunnablePassthrough()}
        | RunnableLambda(rerank_step, afunc=arerank_step)
        | RunnableLambda(fmt)
    )


def test_lcel_chain_invoke() -> None:
    chain = lcel_chain(
        reranker(top_n=None, rank_fields=["title", "text"], priority=5), hotel_docs()
    )
    with cassette("cohere", "rerank_objects"):
        text = chain.invoke(HOTEL_QUERY)
    assert text == "Old Town (0.81)\nAirport Inn (0.64)\nSunny Beach (0.02)"


async def test_lcel_chain_ainvoke() -> None:
    chain = lcel_chain(
        reranker(top_n=None, rank_fields=["title", "text"], priority=5), hotel_docs()
    )
    with cassette("cohere", "rerank_objects"):
        text = await chain.ainvoke(HOTEL_QUERY)
    assert text.splitlines()[0] == "Old Town (0.81)"


def test_compression_retriever_in_lcel_chain() -> None:
    chain = compression_retriever(capital_docs()) | RunnableLambda(
        lambda docs: [d.page_content for d in docs]
    )
    with cassette("cohere", "rerank_basic"):
        assert chain.invoke(QUERY) == ["Paris is the capital."]
