"""End to end: UnifiedRerank as a node postprocessor of real LlamaIndex query engines.

A small VectorStoreIndex over MockEmbedding, answered by MockLLM (which echoes its prompt),
with the rerank service played by a loopback server, so the test checks what was sent, the
order the engine ends up with and the prompt the LLM sees.
"""

from __future__ import annotations

from typing import Any

import pytest
from llama_index.core import Document, VectorStoreIndex
from llama_index.core.embeddings import MockEmbedding
from llama_index.core.llms import MockLLM
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.schema import MetadataMode
from llama_index.postprocessor.unified_rerank import UnifiedRerank

from tests.support.loopback import Answer, Loopback

QUERY = "Which city is the capital of France?"
TEXTS = {
    "France": "Paris is the capital of France.",
    "Germany": "Berlin is the capital of Germany.",
    "Italy": "Rome is the capital of Italy.",
    "Landmarks": "The Eiffel Tower stands in Paris.",
}


@pytest.fixture
def index() -> VectorStoreIndex:
    docs = [Document(text=text, metadata={"title": title}) for title, text in TEXTS.items()]
    return VectorStoreIndex.from_documents(docs, embed_model=MockEmbedding(embed_dim=8))


@pytest.fixture
def reranker(loopback: Loopback) -> UnifiedRerank:
    # The service ranks the 3rd document sent first, then the 1st; whatever order the
    # retriever produced, the engine must end up with exactly those two nodes, in that order.
    loopback.script(
        Answer(
            200,
            {
                "id": "e2e",
                "results": [
                    {"index": 2, "relevance_score": 0.9},
                    {"index": 0, "relevance_score": 0.4},
                ],
                "meta": {"billed_units": {"search_units": 1}},
            },
        )
    )
    return UnifiedRerank(
        "cohere/rerank-v3.5", api_key="k", base_url=loopback.url, max_retries=0, top_n=2
    )


def check(response: Any, loopback: Loopback) -> None:
    (sent,) = loopback.received
    body = sent.json()
    assert body["query"] == QUERY and body["top_n"] == 2 and len(body["documents"]) == 3
    docs = body["documents"]
    assert all(d.startswith("title: ") for d in docs)  # EMBED text, metadata included
    got = [n.node.get_content(metadata_mode=MetadataMode.EMBED) for n in response.source_nodes]
    assert got == [docs[2], docs[0]]
    assert [n.score for n in response.source_nodes] == [0.9, 0.4]
    # MockLLM echoes its prompt: the reranked context is in it, the score key is not.
    prompt = str(response)
    for node in response.source_nodes:
        assert node.node.get_content() in prompt
    assert "relevance_score" not in prompt
    dropped = set(TEXTS.values()) - {n.node.get_content() for n in response.source_nodes}
    assert all(text not in prompt for text in dropped)


def test_as_query_engine(
    index: VectorStoreIndex, reranker: UnifiedRerank, loopback: Loopback
) -> None:
    engine = index.as_query_engine(
        llm=MockLLM(), similarity_top_k=3, node_postprocessors=[reranker]
    )
    check(engine.query(QUERY), loopback)


async def test_retriever_query_engine_async(
    index: VectorStoreIndex, reranker: UnifiedRerank, loopback: Loopback
) -> None:
    engine = RetrieverQueryEngine.from_args(
        index.as_retriever(similarity_top_k=3), llm=MockLLM(), node_postprocessors=[reranker]
    )
    check(await engine.aquery(QUERY), loopback)
    await reranker.aclose()
