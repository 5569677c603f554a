"""Client fields set after construction (or through ``model_copy``) reach the wire; copies
never share a pool; bad values and unknown providers fail at once, with no I/O."""

from __future__ import annotations

import pytest
from llama_index.core.bridge.pydantic import ValidationError
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode
from llama_index.postprocessor.unified_rerank import UnifiedRerank

from tests.support.loopback import Answer, Loopback, closed_port
from unified_rerank import InvalidRequestError, RerankClient

OK = {"results": [{"index": 1, "relevance_score": 0.9}, {"index": 0, "relevance_score": 0.2}]}
NODES = [NodeWithScore(node=TextNode(text="a")), NodeWithScore(node=TextNode(text="b"))]
NOWHERE = f"http://127.0.0.1:{closed_port()}"


def reranker(**kwargs: object) -> UnifiedRerank:
    options: dict[str, object] = {"api_key": "k-old", "base_url": NOWHERE, "max_retries": 0}
    options.update(kwargs)
    return UnifiedRerank("cohere/rerank-v3.5", **options)  # type: ignore[arg-type]


def test_construction_builds_no_client() -> None:
    assert reranker()._cache.client is None


def test_fields_set_later_reach_the_wire(loopback: Loopback) -> None:
    loopback.script(Answer(200, OK))
    r = reranker()
    first = r.client
    r.base_url = loopback.url
    r.api_key = "k-new"
    r.max_retries = 3
    r.headers = {"X-Trace": "t1"}
    out = r.postprocess_nodes(NODES, QueryBundle("q"))
    assert [n.node.get_content() for n in out] == ["b", "a"]
    sent = loopback.received[0]
    assert sent.headers["Authorization"] == "Bearer k-new" and sent.headers["X-Trace"] == "t1"
    assert r.client is not first and r.client.max_retries == 3  # type: ignore[attr-defined]
    assert r.client is r.client  # built once per change, not per call


async def test_model_copy_with_update_goes_where_the_copy_says(loopback: Loopback) -> None:
    loopback.script(Answer(200, OK))
    r = reranker()
    original = r.client
    copy = r.model_copy(update={"base_url": loopback.url})
    out = await copy.apostprocess_nodes(NODES, QueryBundle("q"))
    assert len(out) == 2 and len(loopback.received) == 1
    assert copy.client is not original and r.client is original
    assert r.base_url == NOWHERE


def test_copies_never_share_a_pool() -> None:
    r = reranker()
    built = r.client
    for copy in (r.model_copy(), r.model_copy(deep=True)):
        assert copy.client is not built
        assert copy.client._transport() is not built._transport()  # type: ignore[attr-defined]


def test_injected_client_fields_cannot_change() -> None:
    core = RerankClient("cohere", api_key="k")
    r = UnifiedRerank("rerank-v3.5", client=core)
    with pytest.raises(ValueError, match="client="):
        r.base_url = "http://127.0.0.1:1"
    with pytest.raises(ValueError, match="client="):
        r.api_key = "other"
    assert r.base_url is None and r.client is core


# -- refused at once (issue 15, item 14) ------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "provider"), [("foo/bar", None), ("rerank-v3.5", "nope"), ("bare-model", None)]
)
def test_unknown_provider_refused_at_construction(
    model: str, provider: str | None, loopback: Loopback
) -> None:
    with pytest.raises(InvalidRequestError, match="known providers: cohere"):
        UnifiedRerank(model, provider=provider, base_url=loopback.url)
    assert loopback.received == []


@pytest.mark.parametrize("top_n", [True, "2", 2.0, 0])
def test_top_n_must_be_a_real_integer(top_n: object) -> None:
    with pytest.raises(ValidationError):
        reranker(top_n=top_n)


def test_assignment_is_validated_and_a_refusal_changes_nothing() -> None:
    r = reranker(top_n=3)
    with pytest.raises(ValidationError):
        r.top_n = 0
    with pytest.raises(InvalidRequestError, match="unknown provider 'nope'"):
        r.provider = "nope"
    with pytest.raises(InvalidRequestError, match="unknown option"):
        r.provider_options = {"region": "us-east-1"}
    assert (r.top_n, r.provider, r.provider_options) == (3, None, {})
    r.top_n = None
    assert r.top_n is None
