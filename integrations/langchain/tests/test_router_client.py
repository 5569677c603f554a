"""Any Reranker (a Router, a CachedReranker) works as the wrapper's client."""

from __future__ import annotations

from langchain_core.documents import Document
from langchain_unified_rerank import UnifiedRerank

from tests.support.loopback import Answer, Loopback
from unified_rerank import RerankClient
from unified_rerank.routing import Router

OK = {"results": [{"index": 1, "relevance_score": 0.9}, {"index": 0, "relevance_score": 0.2}]}


def test_router_falls_back_inside_the_compressor(loopback: Loopback) -> None:
    loopback.script(Answer(503, {"message": "down"}), Answer(200, OK))
    failing = RerankClient("cohere", api_key="k1", base_url=loopback.url, max_retries=0)
    healthy = RerankClient("cohere", api_key="k2", base_url=loopback.url, max_retries=0)
    router = Router([failing, healthy], strategy="fallback")
    reranker = UnifiedRerank(model="rerank-v3.5", client=router, top_n=2)
    docs = [Document(page_content="a"), Document(page_content="b")]
    out = reranker.compress_documents(docs, "q")
    assert [d.page_content for d in out] == ["b", "a"]
    assert out[0].metadata["relevance_score"] == 0.9
    assert len(loopback.received) == 2
    assert loopback.received[1].headers["Authorization"] == "Bearer k2"
