"""UnifiedRerank: behaviour over recorded Cohere exchanges and a loopback server."""

from __future__ import annotations

import copy
import json
import pickle
import threading

import pytest
from llama_index.core.bridge.pydantic import SecretStr, ValidationError
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.schema import Document, MetadataMode, NodeWithScore, QueryBundle, TextNode
from llama_index.postprocessor.unified_rerank import UnifiedRerank

from tests.support.cassettes import cassette, key
from tests.support.loopback import Answer, Loopback
from unified_rerank import (
    AuthenticationError,
    InvalidRequestError,
    ProviderError,
    RateLimitError,
    RerankClient,
)

QUERY = "What is the capital of France?"
SECRET = "sk-live-DO-NOT-LEAK-0123456789"


def reranker(**kwargs: object) -> UnifiedRerank:
    options: dict[str, object] = {"api_key": key("COHERE_API_KEY"), "max_retries": 0}
    options.update(kwargs)
    return UnifiedRerank("cohere/rerank-v3.5", **options)  # type: ignore[arg-type]


def snapshot(nodes: list[NodeWithScore]) -> list[tuple[object, ...]]:
    return [
        (
            n.score,
            n.node.node_id,
            copy.deepcopy(n.node.metadata),
            list(n.node.excluded_llm_metadata_keys),
            list(n.node.excluded_embed_metadata_keys),
        )
        for n in nodes
    ]


# -- the class ---------------------------------------------------------------------------------


def test_class() -> None:
    assert BaseNodePostprocessor.__name__ in [c.__name__ for c in UnifiedRerank.__mro__]
    assert UnifiedRerank.class_name() == "UnifiedRerank"
    r = reranker()
    assert r.top_n == 2 and r.metadata_mode == MetadataMode.EMBED and r.provider is None


def test_unknown_kwargs_are_rejected() -> None:
    with pytest.raises(TypeError, match="model_id"):
        UnifiedRerank("cohere/rerank-v3.5", model_id="rerank-v3.5")  # type: ignore[call-arg]
    data = reranker().to_dict()
    data["top_k"] = 5
    with pytest.raises(TypeError, match="top_k"):
        UnifiedRerank.from_dict(data)


def test_unknown_provider_option_is_rejected_at_construction() -> None:
    with pytest.raises(InvalidRequestError, match="region"):
        UnifiedRerank("rerank-v3.5", provider="cohere", provider_options={"region": "x"})


@pytest.mark.parametrize("top_n", [0, -1, True, "2"])
def test_bad_top_n(top_n: object) -> None:
    with pytest.raises(ValidationError):
        reranker(top_n=top_n)


def test_construction_makes_no_network_call(loopback: Loopback) -> None:
    UnifiedRerank("rerank-v3.5", provider="cohere", api_key="k", base_url=loopback.url)
    assert loopback.received == []


def test_client_injection_and_conflicts() -> None:
    client = RerankClient("cohere", api_key="k", timeout=5.0, max_retries=1)
    r = UnifiedRerank("rerank-v3.5", client=client)
    assert r.client is client
    assert (r.provider, r.timeout, r.max_retries) == ("cohere", 5.0, 1)
    with pytest.raises(ValueError, match=r"\['api_key', 'timeout'\]"):
        UnifiedRerank("rerank-v3.5", client=client, api_key="k2", timeout=3.0)
    with pytest.raises(ValueError, match="differs"):
        UnifiedRerank("rerank-v3.5", client=client, provider="voyage")


# -- secrets -----------------------------------------------------------------------------------


def test_key_is_in_no_dump_repr_or_pickle(caplog: pytest.LogCaptureFixture) -> None:
    r = UnifiedRerank(
        "rerank-v3.5",
        provider="cohere",
        api_key=SECRET,
        headers={"X-Proxy-Auth": SECRET},
        base_url="http://127.0.0.1:9",
    )
    shown = [repr(r), str(r), r.to_json(), json.dumps(r.to_dict()), repr(r.client)]
    shown.append(r.model_dump_json())
    assert all(SECRET not in s for s in shown)
    assert "api_key" not in r.to_dict() and "headers" not in r.to_dict()
    assert SECRET.encode() not in pickle.dumps(r)
    # ... and the key still reaches the wire.
    assert r.client._config(_cohere()).api_key.get_secret_value() == SECRET  # type: ignore[union-attr]


def _cohere():  # type: ignore[no-untyped-def]
    from unified_rerank.providers import get_provider

    return get_provider("cohere")


def test_secret_looking_provider_options_stay_private() -> None:
    options = {
        "region": "us-east-1",
        "aws_access_key_id": "AKIDEXAMPLE",
        "aws_secret_access_key": SECRET,
        "aws_session_token": SecretStr(SECRET),
    }
    r = UnifiedRerank("cohere.rerank-v3-5:0", provider="bedrock", provider_options=options)
    assert r.provider_options == {"region": "us-east-1"}
    assert SECRET not in r.to_json() and SECRET not in repr(r) and "AKID" not in r.to_json()
    assert r.client._options["aws_secret_access_key"] == SECRET  # still sent to the client
    for name in ("provider_api_key", "virtual_key"):  # Portkey's credentials
        portkey = UnifiedRerank("portkey/cohere/rerank-v3.5", provider_options={name: SECRET})
        assert SECRET not in portkey.to_json() and portkey.provider_options == {}


def test_to_dict_round_trip() -> None:
    r = reranker(top_n=None, metadata_mode=MetadataMode.NONE, rank_fields=["title", "text"])
    data = json.loads(r.to_json())
    assert data["class_name"] == "UnifiedRerank" and data["metadata_mode"] == "none"
    again = UnifiedRerank.from_dict(data)
    assert again.model_dump() == r.model_dump()
    assert again.metadata_mode is MetadataMode.NONE


# -- reranking over cassettes -----------------------------------------------------------------


def test_sync_rerank_sends_embed_text_and_returns_new_nodes(nodes: list[NodeWithScore]) -> None:
    before = snapshot(nodes)
    with cassette("llama-index", "rerank_nodes"):
        out = reranker().postprocess_nodes(nodes, query_str=QUERY)
    assert [(n.node.node_id, n.score) for n in out] == [("n0", 0.97), ("n2", 0.41)]
    _check_untouched(nodes, before, out)


async def test_async_rerank_same_exchange(nodes: list[NodeWithScore]) -> None:
    before = snapshot(nodes)
    r = reranker()
    with cassette("llama-index", "rerank_nodes"):
        out = await r.apostprocess_nodes(nodes, query_bundle=QueryBundle(QUERY))
    assert [(n.node.node_id, n.score) for n in out] == [("n0", 0.97), ("n2", 0.41)]
    _check_untouched(nodes, before, out)
    await r.aclose()


async def test_async_path_does_not_hop_to_a_thread(
    nodes: list[NodeWithScore], monkeypatch: pytest.MonkeyPatch
) -> None:
    r = reranker()
    seen: list[str] = []

    def no_sync(*args: object, **kwargs: object) -> None:
        raise AssertionError("the async path called the sync rerank")

    real = r.client.arerank

    async def spy(**kwargs: object):  # type: ignore[no-untyped-def]
        seen.append(threading.current_thread().name)
        return await real(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(r.client, "rerank", no_sync)
    monkeypatch.setattr(r.client, "arerank", spy)
    with cassette("llama-index", "rerank_nodes"):
        out = await r.apostprocess_nodes(nodes, query_str=QUERY)
    assert len(out) == 2 and seen == [threading.main_thread().name]


def _check_untouched(
    nodes: list[NodeWithScore], before: list[tuple[object, ...]], out: list[NodeWithScore]
) -> None:
    assert snapshot(nodes) == before  # input scores and node metadata unchanged
    for result in out:
        # A new NodeWithScore around the caller's own node (identity kept, per LlamaIndex's
        # convention); the score lives on the NodeWithScore only, so prompts do not change.
        wrapper = next(n for n in nodes if n.node.node_id == result.node.node_id)
        assert result.node is wrapper.node and result is not wrapper
        assert "relevance_score" not in result.node.metadata


def test_top_n_none_returns_all_and_metadata_mode_none(nodes: list[NodeWithScore]) -> None:
    with cassette("llama-index", "rerank_nodes_all"):
        out = reranker(top_n=None, metadata_mode="none").postprocess_nodes(nodes, query_str=QUERY)
    assert [(n.node.node_id, n.score) for n in out] == [("n2", 0.62), ("n0", 0.58), ("n1", 0.013)]


def test_top_n_is_clamped_to_the_node_count(nodes: list[NodeWithScore]) -> None:
    with cassette("llama-index", "rerank_nodes_clamped"):
        out = reranker(top_n=10).postprocess_nodes(nodes, query_str=QUERY)
    assert [n.node.node_id for n in out] == ["n0", "n2", "n1"]


async def test_rank_fields_send_metadata_fields(nodes: list[NodeWithScore]) -> None:
    r = reranker(
        top_n=1,
        metadata_mode=MetadataMode.NONE,
        rank_fields=["title", "text"],
        max_tokens_per_doc=256,
    )
    with cassette("llama-index", "rerank_nodes_rank_fields"):
        out = await r.apostprocess_nodes(nodes, query_str=QUERY)
    assert [(n.node.node_id, n.score) for n in out] == [("n0", 0.99)]


def test_existing_metadata_score_is_left_alone(nodes: list[NodeWithScore]) -> None:
    """A score some earlier step put in the metadata is the caller's: not read, not changed."""
    old = nodes[0].node
    old.metadata["relevance_score"] = 0.1
    old.excluded_embed_metadata_keys.append("relevance_score")  # the same text is sent
    with cassette("llama-index", "rerank_nodes"):
        out = reranker().postprocess_nodes(nodes, query_str=QUERY)
    assert out[0].node is old and out[0].score == 0.97
    assert old.metadata["relevance_score"] == 0.1


# -- input checks ------------------------------------------------------------------------------


def test_missing_query_bundle(nodes: list[NodeWithScore], loopback: Loopback) -> None:
    r = UnifiedRerank("rerank-v3.5", provider="cohere", api_key="k", base_url=loopback.url)
    with pytest.raises(ValueError, match="query bundle"):
        r.postprocess_nodes(nodes)
    assert loopback.received == []


async def test_missing_query_bundle_async(nodes: list[NodeWithScore]) -> None:
    with pytest.raises(ValueError, match="query bundle"):
        await reranker().apostprocess_nodes(nodes)


async def test_empty_input_returns_empty_without_a_call(loopback: Loopback) -> None:
    r = UnifiedRerank("rerank-v3.5", provider="cohere", api_key="k", base_url=loopback.url)
    assert r.postprocess_nodes([], query_str=QUERY) == []
    assert await r.apostprocess_nodes([], query_str=QUERY) == []
    assert loopback.received == []


# -- errors are raised, typed, never swallowed -------------------------------------------------


def _loopback_reranker(loopback: Loopback, **kwargs: object) -> UnifiedRerank:
    options: dict[str, object] = {"api_key": "k", "base_url": loopback.url, "max_retries": 0}
    options.update(kwargs)
    return UnifiedRerank("rerank-v3.5", provider="cohere", **options)  # type: ignore[arg-type]


def test_server_error_raises_provider_error(nodes: list[NodeWithScore], loopback: Loopback) -> None:
    loopback.script(Answer(500, {"id": "x", "message": "internal error"}))
    before = snapshot(nodes)
    with pytest.raises(ProviderError) as info:
        _loopback_reranker(loopback).postprocess_nodes(nodes, query_str=QUERY)
    assert info.value.status_code == 500 and info.value.provider == "cohere"
    assert len(loopback.received) == 1 and snapshot(nodes) == before
    sent = loopback.received[0]
    assert sent.path == "/v2/rerank" and sent.headers["Authorization"] == "Bearer k"
    assert sent.json()["documents"][0] == "title: France\n\nParis is the capital of France."


async def test_retryable_error_retried_then_raised_async(
    nodes: list[NodeWithScore], loopback: Loopback
) -> None:
    loopback.script(Answer(429, {"message": "slow down"}, {"Retry-After": "0"}))
    with pytest.raises(RateLimitError):
        await _loopback_reranker(loopback, max_retries=2).apostprocess_nodes(nodes, query_str=QUERY)
    assert len(loopback.received) == 3  # max_retries reaches the core client


async def test_rate_limit_and_auth_errors(nodes: list[NodeWithScore], loopback: Loopback) -> None:
    loopback.script(Answer(429, {"message": "slow down"}, {"Retry-After": "3"}))
    with pytest.raises(RateLimitError) as info:
        await _loopback_reranker(loopback).apostprocess_nodes(nodes, query_str=QUERY)
    assert info.value.retry_after == 3.0
    loopback.script(Answer(401, {"message": "invalid api token"}))
    with pytest.raises(AuthenticationError):
        _loopback_reranker(loopback).postprocess_nodes(nodes, query_str=QUERY)


def test_missing_key_fails_before_any_call(nodes: list[NodeWithScore], loopback: Loopback) -> None:
    r = UnifiedRerank("rerank-v3.5", provider="cohere", base_url=loopback.url)
    with pytest.raises(AuthenticationError, match="COHERE_API_KEY"):
        r.postprocess_nodes(nodes, query_str=QUERY)
    assert loopback.received == []


def test_malformed_answer_is_an_error_not_a_ranking(
    nodes: list[NodeWithScore], loopback: Loopback
) -> None:
    loopback.script(Answer(200, {"results": [{"index": 7, "relevance_score": 0.5}]}))
    with pytest.raises(ProviderError):
        _loopback_reranker(loopback).postprocess_nodes(nodes, query_str=QUERY)


def test_rank_field_missing_from_metadata_is_invalid_before_a_call(
    loopback: Loopback,
) -> None:
    r = _loopback_reranker(loopback, rank_fields=["title", "text"])
    bare = [NodeWithScore(node=TextNode(text="no title here"), score=1.0)]
    with pytest.raises(InvalidRequestError, match="title"):
        r.postprocess_nodes(bare, query_str=QUERY)
    assert loopback.received == []


# -- the README examples -----------------------------------------------------------------------


async def test_readme_quick_start_runs_offline() -> None:
    pytest.importorskip("bm25s")
    nodes = [
        NodeWithScore(node=TextNode(text=t), score=0.5)
        for t in ["Berlin is in Germany.", "Paris is the capital of France.", "Cats sleep a lot."]
    ]
    r = UnifiedRerank("local/bm25", top_n=2)
    out = r.postprocess_nodes(nodes, query_str="capital of France")
    aout = await r.apostprocess_nodes(nodes, query_str="capital of France")
    for got in (out, aout):
        assert got[0].node.get_content() == "Paris is the capital of France."
        assert len(got) == 2 and (got[0].score or 0.0) > (got[1].score or 0.0)
    assert [n.score for n in nodes] == [0.5, 0.5, 0.5]


def test_readme_bedrock_swap_ins_construct() -> None:
    arn = "arn:aws:bedrock:us-east-1::foundation-model/cohere.rerank-v3-5:0"
    assert UnifiedRerank(arn, provider="bedrock", top_n=2).provider == "bedrock"
    r = UnifiedRerank(
        "cohere.rerank-v3-5:0", provider="bedrock", provider_options={"region": "us-east-1"}
    )
    assert r.to_dict()["provider_options"] == {"region": "us-east-1"}


@pytest.mark.parametrize("mode", list(MetadataMode))
def test_plain_text_node_content_is_its_text(mode: MetadataMode) -> None:
    """The wrapper sends a metadata-free TextNode's ``text`` without calling get_content:
    this pins the LlamaIndex behaviour that shortcut relies on."""
    assert TextNode(text="  Paris\n").get_content(metadata_mode=mode) == "  Paris\n"


@pytest.mark.parametrize("mode", [MetadataMode.EMBED, MetadataMode.LLM, MetadataMode.NONE])
@pytest.mark.parametrize("mixed", [False, True])
def test_the_text_sent_is_get_content_for_every_node(
    loopback: Loopback, mode: MetadataMode, mixed: bool
) -> None:
    """Plain metadata-free TextNodes are gathered without get_content; any other node in the
    list (metadata, a TextNode subclass) sends the whole list through get_content. Either way
    the wire holds exactly what get_content returns."""
    nodes = [NodeWithScore(node=TextNode(text=f"plain {i}\n"), score=1.0) for i in range(4)]
    if mixed:
        nodes[1] = NodeWithScore(
            node=TextNode(text="with metadata", metadata={"title": "T", "page": 3}), score=1.0
        )
        nodes[2] = NodeWithScore(node=Document(text="a Document"), score=1.0)
    results = [{"index": i, "relevance_score": 1.0 - i / 10} for i in range(4)]
    loopback.script(Answer(200, {"id": "x", "results": results}))
    r = _loopback_reranker(loopback, metadata_mode=mode, top_n=None)
    out = r.postprocess_nodes(nodes, query_str=QUERY)
    sent = loopback.received[0].json()["documents"]
    assert sent == [n.node.get_content(metadata_mode=mode) for n in nodes]
    if mixed and mode is not MetadataMode.NONE:
        assert sent[1] != "with metadata"  # the metadata really went through get_content
    assert [o.node for o in out] == [n.node for n in nodes]
