"""Fixtures for the LlamaIndex wrapper tests.

The root ``tests/conftest.py`` does not reach this directory, so the fixtures these tests need
are built here from the same support modules.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from llama_index.core.schema import NodeWithScore, TextNode

from tests.support.loopback import Loopback

#: Key variables of every provider the core may read; cleared so no test sees a real key.
KEY_VARS = (
    "COHERE_API_KEY",
    "CO_API_KEY",
    "VOYAGE_API_KEY",
    "JINA_API_KEY",
    "PINECONE_API_KEY",
    "AZURE_AI_API_KEY",
    "AZURE_AI_ENDPOINT",
    "AWS_BEARER_TOKEN_BEDROCK",
)


@pytest.fixture(autouse=True)
def _no_ambient_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.support.cassettes import RECORDING

    if not RECORDING:
        for name in KEY_VARS:
            monkeypatch.delenv(name, raising=False)


@pytest.fixture
def loopback() -> Iterator[Loopback]:
    server = Loopback().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _quiet_retries(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="unified_rerank")


@pytest.fixture
def nodes() -> list[NodeWithScore]:
    """Three retrieved nodes; their EMBED text is what the cassettes under
    cassettes/llama-index/ pin (``internal_id`` is excluded from embed text, so never sent)."""
    return [
        NodeWithScore(
            node=TextNode(
                id_="n0",
                text="Paris is the capital of France.",
                metadata={"title": "France", "internal_id": "a1"},
                excluded_embed_metadata_keys=["internal_id"],
            ),
            score=0.3,
        ),
        NodeWithScore(
            node=TextNode(
                id_="n1", text="Berlin is the capital of Germany.", metadata={"title": "Germany"}
            ),
            score=0.8,
        ),
        NodeWithScore(
            node=TextNode(
                id_="n2", text="The Eiffel Tower is in Paris.", metadata={"title": "Landmarks"}
            ),
            score=0.5,
        ),
    ]
