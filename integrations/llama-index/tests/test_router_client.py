"""Any Reranker (a Router, a CachedReranker) works as the postprocessor's client."""

from __future__ import annotations

from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode
from llama_index.postprocessor.unified_rerank import UnifiedRerank

from tests.support.loopback import Answer, Loopback
from unified_rerank import RerankClient
from unified_rerank.routing import Router

OK = {"results": [{"index": 1, "relevance_score": 0.9}, {"index": 0, "relevance_score": 0.2}]}


async def test_router_falls_back_inside_the_postprocessor(loopback: Loopback) -> None:
    loopback.script(Answer(503, {"message": "down"}), Answer(200, OK))
    failing = RerankClient("cohere", api_key="k1", base_url=loopback.url, max_retries=0)
    healthy = RerankClient("cohere", api_key="k2", base_url=loopback.url, max_retries=0)
    reranker = UnifiedRerank(model="rerank-v3.5", client=Router([failing, healthy]), top_n=2)
    nodes = [NodeWithScore(node=TextNode(text="a")), NodeWithScore(node=TextNode(text="b"))]
    out = await reranker.apostprocess_nodes(nodes, QueryBundle("q"))
    assert [n.node.get_content() for n in out] == ["b", "a"]
    assert out[0].score == 0.9
    assert len(loopback.received) == 2
