"""One test set-up per registered provider: how to configure a client for it, and where its
answers keep their results. Used by the property-based tests (``tests/properties``), which run
over every slug in ``unified_rerank.providers.known_slugs()``.

Adding a provider? Add one line to ``SETUPS`` (a tuple of set-ups when the provider has
distinct wire shapes worth covering, e.g. Bedrock's two APIs). A registered slug without an
entry makes the property tests fail with a message pointing here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import SecretStr

from unified_rerank.providers import get_provider
from unified_rerank.providers.base import ClientConfig

__all__ = ["SETUPS", "Answer", "Setup", "client_config", "secrets_of", "setups_for"]


@dataclass(frozen=True)
class Answer:
    """Where a provider's 2xx answer keeps its ranking: the result list at ``items_at`` (a
    key path; ``()``: the answer is the list), each result's ``index`` and ``score`` keys.
    ``index_as``: ``"int"`` (a JSON integer), ``"str"`` (a string of digits: Vertex's record
    ids), or ``"position"`` (a bare list of scores in document order: DeepInfra)."""

    items_at: tuple[str, ...] = ("results",)
    index: str = "index"
    score: str = "relevance_score"
    index_as: Literal["int", "str", "position"] = "int"


@dataclass(frozen=True)
class Setup:
    """A client configuration for one provider. ``models``: model ids valid for it (the
    requests generated pick among them). ``key``: the API key, made distinctive so a leak is
    found by substring; ``options``: provider options (secret ones are checked for leaks too).
    ``caps_top_n``: the body never asks for more results than documents (False where the
    provider accepts a larger ``top_n`` and the adapter passes it through)."""

    models: tuple[str, ...]
    name: str = ""
    base_url: str | None = None
    key: str | None = "sk-PROPERTY-TEST-KEY-9f3b"
    options: Mapping[str, Any] = field(default_factory=dict)
    answer: Answer = Answer()
    caps_top_n: bool = True


_LOOPBACK = "http://127.0.0.1:9"  # never contacted: build() is pure
_AWS = {"aws_access_key_id": "AKIAPROPERTYTEST0001", "aws_secret_access_key": "aws-SECRET-7c1d"}

SETUPS: dict[str, Setup | tuple[Setup, ...]] = {
    "cohere": Setup(("rerank-v3.5", "rerank-english-v3.0"), caps_top_n=False),
    "voyage": Setup(("rerank-2.5", "rerank-2-lite"), answer=Answer(("data",))),
    "jina": Setup(("jina-reranker-v2-base-multilingual",)),
    "pinecone": Setup(
        ("bge-reranker-v2-m3", "cohere-rerank-3.5", "cohere-rerank-4-fast"),
        answer=Answer(("data",), score="score"),
    ),
    "bedrock": (
        Setup(
            ("arn:aws:bedrock:us-west-2::foundation-model/amazon.rerank-v1:0",),
            name="bedrock-rerank",
            key=None,
            options=_AWS,
            answer=Answer(score="relevanceScore"),
        ),
        Setup(
            ("cohere.rerank-v3-5:0",),
            name="bedrock-invoke",
            options={"region": "us-east-1"},
            caps_top_n=False,
        ),
    ),
    "azure-ai": (
        Setup(
            ("cohere.rerank-v3.5",), name="azure-ai-v2", base_url="https://x.models.ai.azure.com"
        ),
        Setup(
            ("cohere.rerank-v3.5",), name="azure-ai-v1", base_url="https://x.azure.com/v1/rerank"
        ),
    ),
    "vertex-ai": Setup(
        ("semantic-ranker-default@latest",),
        options={"project": "property-test"},
        answer=Answer(("records",), index="id", score="score", index_as="str"),
    ),
    "watsonx": Setup(
        ("cross-encoder/ms-marco-minilm-l-12-v2",),
        options={"url": "https://us-south.ml.cloud.ibm.com", "project_id": "p-123"},
        answer=Answer(score="score"),
    ),
    "deepinfra": Setup(
        ("Qwen/Qwen3-Reranker-0.6B",), answer=Answer(("scores",), index_as="position")
    ),
    "fireworks": Setup(("fireworks/qwen3-reranker-8b",), answer=Answer(("data",))),
    "dashscope": Setup(("gte-rerank-v2",), answer=Answer(("output", "results")), caps_top_n=False),
    "tei": Setup(("bge-reranker-base",), base_url=_LOOPBACK, answer=Answer((), score="score")),
    "infinity": Setup(("mixedbread-ai/mxbai-rerank-xsmall-v1",), base_url=_LOOPBACK),
    "vllm": Setup(("BAAI/bge-reranker-v2-m3",), base_url=_LOOPBACK),
    "llamacpp": Setup(("bge-reranker-v2-m3",), base_url=_LOOPBACK),
    "xinference": Setup(("bge-reranker-base",), base_url=_LOOPBACK),
    "together": Setup(("Salesforce/Llama-Rank-v1",)),
    "mixedbread": Setup(
        ("mixedbread-ai/mxbai-rerank-large-v2",), answer=Answer(("data",), score="score")
    ),
    "nvidia": Setup(
        ("nvidia/llama-3.2-nv-rerankqa-1b-v2", "nv-rerank-qa-mistral-4b:1"),
        answer=Answer(("rankings",), score="logit"),
    ),
    "portkey": Setup(
        ("cohere/rerank-v3.5",),
        options={"provider_api_key": "pk-SECRET-upstream-4e2a"},
        caps_top_n=False,
    ),
    "local": Setup(("bm25",), key=None),
}


def setups_for(slug: str) -> tuple[Setup, ...]:
    entry = SETUPS.get(slug)
    if entry is None:
        raise LookupError(
            f"provider {slug!r} is registered but has no test set-up: add one line for it to "
            "SETUPS in tests/support/provider_configs.py (its models, base_url, key, options "
            "and answer shape)"
        )
    return entry if isinstance(entry, tuple) else (entry,)


def client_config(slug: str, setup: Setup) -> ClientConfig:
    """The ``ClientConfig`` the client would build for ``setup`` (no environment read)."""
    provider = get_provider(slug)
    return ClientConfig(
        provider=slug,
        api_key=SecretStr(setup.key) if setup.key else None,
        base_url=setup.base_url,
        options=dict(setup.options),
        env_keys=provider.env_keys,
    )


def secrets_of(setup: Setup) -> list[str]:
    """Every secret in ``setup``: the key and the secret-looking option values."""
    found = [setup.key] if setup.key else []
    found += [
        v
        for k, v in setup.options.items()
        if ("secret" in k or k.endswith("api_key")) and isinstance(v, str) and v
    ]
    return found
