"""Fixtures for the Haystack integration tests.

The root ``tests/conftest.py`` does not reach this folder, so the fixtures these tests need are
re-exported from it here. Haystack's telemetry is switched off before Haystack is imported:
the tests are offline and must not try to reach its collector.
"""

from __future__ import annotations

import os

os.environ["HAYSTACK_TELEMETRY_ENABLED"] = "False"

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from haystack import Document, Pipeline
from haystack.components.retrievers.in_memory import InMemoryBM25Retriever
from haystack.document_stores.in_memory import InMemoryDocumentStore
from haystack_integrations.components.rankers.unified_rerank import UnifiedRanker

# The root fixtures (no ambient keys, the loopback server, retry logs captured) are the same
# here: re-exported, not rewritten (pytest registers fixtures found in a conftest's namespace).
from tests.conftest import _no_ambient_keys, _quiet_retries, loopback
from tests.support.cassettes import RECORDING, VCR

__all__ = ["_no_ambient_keys", "_quiet_retries", "loopback"]

CASSETTES = Path(__file__).resolve().parent / "cassettes"

QUERY = "What is the capital of France?"


def corpus() -> list[Document]:
    """The store's documents. A BM25 retriever with top_k=4 returns them for QUERY in the order
    fr, de, rome, eiffel: the order the cassettes' request bodies pin."""
    return [
        Document(
            id="fr",
            content="Paris is the capital of France.",
            meta={"title": "France", "year": 2024},
        ),
        Document(id="de", content="Berlin is the capital of Germany.", meta={"title": "Germany"}),
        Document(
            id="eiffel", content="The Eiffel Tower stands in Paris.", meta={"title": "Landmarks"}
        ),
        Document(
            id="rome", content="Rome has the Colosseum.", meta={"title": "Italy", "tags": ["old"]}
        ),
    ]


@contextmanager
def cassette(name: str) -> Iterator[None]:
    """Replay ``tests/cassettes/<name>.yaml`` (the project's matching: method, URL, JSON body);
    every recorded request must be sent."""
    with VCR.use_cassette(str(CASSETTES / f"{name}.yaml")) as cass:
        yield
    if not RECORDING:
        assert cass.all_played, f"{name}: not every recorded request was sent"


def has_pipeline_run_async() -> bool:
    """Haystack 3 runs any ``Pipeline`` asynchronously; 2.x has a separate ``AsyncPipeline``."""
    return hasattr(Pipeline, "run_async")


def rag_pipeline(ranker: UnifiedRanker, *, for_async: bool = False) -> Any:
    """retriever (BM25 over an in-memory store) -> ranker, as users wire it."""
    if for_async and not has_pipeline_run_async():
        from haystack import AsyncPipeline  # type: ignore[attr-defined]  # Haystack 2.x only

        pipeline: Any = AsyncPipeline()
    else:
        pipeline = Pipeline()
    store = InMemoryDocumentStore()
    store.write_documents(corpus())
    pipeline.add_component("retriever", InMemoryBM25Retriever(store, top_k=4, scale_score=False))
    pipeline.add_component("ranker", ranker)
    pipeline.connect("retriever.documents", "ranker.documents")
    return pipeline


def inputs(query: str = QUERY, **ranker: Any) -> dict[str, Any]:
    return {"retriever": {"query": query}, "ranker": {"query": query, **ranker}}


@pytest.fixture
def replay() -> Any:
    """``replay(name)``: the context manager replaying ``tests/cassettes/<name>.yaml``."""
    return cassette


@pytest.fixture
def pipeline_for() -> Any:
    """``pipeline_for(ranker, for_async=False)``: the retriever -> ranker pipeline."""
    return rag_pipeline


@pytest.fixture
def pipeline_inputs() -> Any:
    """``pipeline_inputs(query=QUERY, **ranker_inputs)``: the pipeline's ``data``."""
    return inputs


@pytest.fixture
def documents() -> list[Document]:
    """The retrieved documents, in the retriever's order (fr, de, rome, eiffel)."""
    by_id = {doc.id: doc for doc in corpus()}
    return [by_id[i] for i in ("fr", "de", "rome", "eiffel")]
