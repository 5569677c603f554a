"""Construction, configuration and secrets of ``UnifiedRerank``."""

from __future__ import annotations

import pickle
from typing import Any

import langchain_unified_rerank
import pytest
from langchain_core.documents import BaseDocumentCompressor, Document
from langchain_unified_rerank import UnifiedRerank
from pydantic import SecretStr, ValidationError

from tests.support.loopback import Answer, Loopback
from unified_rerank import InvalidRequestError, RerankClient

SECRET = "sk-live-abcdef0123456789"


def test_public_names() -> None:
    assert langchain_unified_rerank.__all__ == ["UnifiedRerank"]
    assert issubclass(UnifiedRerank, BaseDocumentCompressor)


def test_defaults_follow_langchain_rerankers() -> None:
    r = UnifiedRerank(model="cohere/rerank-v3.5")
    assert r.top_n == 3
    assert r.api_key is None and r.rank_fields is None and r.provider_options == {}
    assert r.timeout == 60.0 and r.max_retries == 2


def test_secret_never_shown() -> None:
    r = UnifiedRerank(
        model="cohere/rerank-v3.5",
        api_key=SECRET,
        headers={"x-portkey-api-key": SECRET},
    )
    assert isinstance(r.api_key, SecretStr) and r.api_key.get_secret_value() == SECRET
    for shown in (repr(r), str(r), str(r.model_dump()), r.model_dump_json(), repr(r.api_key)):
        assert SECRET not in shown
    assert "headers" not in r.model_dump()


def test_secret_not_shown_by_the_built_client(loopback: Loopback) -> None:
    r = UnifiedRerank(model="cohere/rerank-v3.5", api_key=SECRET, base_url=loopback.url)
    assert SECRET not in repr(r._rerank_client())
    assert SECRET not in repr(r)


def test_unknown_argument_rejected() -> None:
    with pytest.raises(ValidationError, match="top_k"):
        UnifiedRerank(model="cohere/rerank-v3.5", top_k=2)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    "kwargs",
    [{"top_n": 0}, {"max_retries": -1}, {"timeout": 0}, {"max_tokens_per_doc": 0}],
)
def test_bad_options_rejected_at_construction(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        UnifiedRerank(model="cohere/rerank-v3.5", **kwargs)


def test_model_without_provider_rejected_naming_providers() -> None:
    with pytest.raises(InvalidRequestError, match="known providers: cohere"):
        UnifiedRerank(model="BAAI/bge-reranker-v2-m3")
    with pytest.raises(InvalidRequestError, match="unknown provider"):
        UnifiedRerank(model="m", provider="nope")


def test_provider_field_or_prefix() -> None:
    assert UnifiedRerank(model="rerank-v3.5", provider="cohere").provider == "cohere"
    assert UnifiedRerank(model="vllm/BAAI/bge-reranker-v2-m3").model.startswith("vllm/")


def test_construction_makes_no_request(loopback: Loopback) -> None:
    r = UnifiedRerank(model="cohere/rerank-v3.5", base_url=loopback.url, api_key="k")
    assert r._cache.client is None
    assert loopback.received == []


def test_client_and_client_options_are_exclusive() -> None:
    core = RerankClient("cohere", api_key="k")
    with pytest.raises(ValidationError, match="either `client`"):
        UnifiedRerank(model="rerank-v3.5", client=core, api_key="other")
    r = UnifiedRerank(model="rerank-v3.5", client=core)  # provider comes from the client
    assert r._rerank_client() is core
    assert "client" not in r.model_dump()


def test_options_reach_the_core_client(loopback: Loopback) -> None:
    r = UnifiedRerank(
        model="rerank-v3.5",
        provider="cohere",
        api_key="k",
        base_url=loopback.url,
        timeout=5.0,
        max_retries=4,
        window_size=7,
        max_concurrency=3,
    )
    core = r._rerank_client()
    assert (core.provider, core.base_url, core.timeout, core.max_retries) == (
        "cohere",
        loopback.url,
        5.0,
        4,
    )
    assert (core.window_size, core.max_concurrency) == (7, 3)


def test_copy_and_pickle_round_trip() -> None:
    r = UnifiedRerank(model="cohere/rerank-v3.5", api_key=SECRET, top_n=5)
    clone = r.model_copy(update={"top_n": 1})
    assert clone.top_n == 1 and r.top_n == 5
    again = pickle.loads(pickle.dumps(r))
    assert again.api_key is not None and again.api_key.get_secret_value() == SECRET


def test_secret_provider_options_hidden_but_passed_on() -> None:
    r = UnifiedRerank(
        model="bedrock/amazon.rerank-v1:0",
        provider_options={
            "region": "us-west-2",
            "aws_access_key_id": "AKIDEXAMPLE",
            "aws_secret_access_key": SECRET,
            "aws_session_token": SECRET + "-token",
        },
    )
    for shown in (repr(r), str(r), str(r.model_dump()), r.model_dump_json()):
        assert SECRET not in shown
        assert "us-west-2" in shown  # non-secret options stay visible
    options = r.provider_options
    assert isinstance(options["aws_secret_access_key"], SecretStr)
    assert options["aws_secret_access_key"].get_secret_value() == SECRET
    assert options["region"] == "us-west-2"
    assert SECRET not in repr(r._rerank_client())


def test_bedrock_through_provider_options_clamps_top_n(loopback: Loopback) -> None:
    # The SecretStr-wrapped AWS credentials reach the core (the request is SigV4-signed with
    # them), and the default top_n=3 is clamped to the 2 documents: langchain-aws sends
    # numberOfResults > sources and gets a 400 (langchain-aws#761).
    pytest.importorskip("botocore")
    loopback.script(
        Answer(
            200,
            {"results": [{"index": 1, "relevanceScore": 0.9}, {"index": 0, "relevanceScore": 0.1}]},
        )
    )
    r = UnifiedRerank(
        model="bedrock/amazon.rerank-v1:0",
        base_url=loopback.url,
        max_retries=0,
        provider_options={
            "region": "us-west-2",
            "aws_access_key_id": "AKIDEXAMPLE",
            "aws_secret_access_key": SECRET,
        },
    )
    out = r.compress_documents([Document("a", id="A"), Document("b", id="B")], "q")
    assert [(d.id, d.metadata["relevance_score"]) for d in out] == [("B", 0.9), ("A", 0.1)]
    sent = loopback.received[0]
    assert sent.path == "/rerank"
    assert sent.headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert SECRET not in str(sent.headers)
    config = sent.json()["rerankingConfiguration"]["bedrockRerankingConfiguration"]
    assert config["numberOfResults"] == 2
