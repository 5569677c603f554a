"""Fixtures for the LlamaIndex wrapper tests.

The root ``tests/conftest.py`` does not reach this directory, so the fixtures these tests need
are re-exported from it here.
"""

from __future__ import annotations

import pytest
from llama_index.core.schema import NodeWithScore, TextNode

# The root fixtures (no ambient keys, the loopback server, retry logs captured) are the same
# here: re-exported, not rewritten (pytest registers fixtures found in a conftest's namespace).
from tests.conftest import _no_ambient_keys, _quiet_retries, loopback

__all__ = ["_no_ambient_keys", "_quiet_retries", "loopback"]


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
