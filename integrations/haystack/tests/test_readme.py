"""The README's examples run as written (offline: the embedded BM25, a cassette for Cohere)."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest
from haystack import Pipeline
from haystack_integrations.components.rankers.unified_rerank import UnifiedRanker

from tests.support.cassettes import key

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)


def block_with(marker: str) -> str:
    (block,) = [b for b in python_blocks() if marker in b]
    return block


async def run_block(block: str, namespace: dict[str, Any]) -> None:
    code = compile(block, str(README), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    result = eval(code, namespace)
    if result is not None:  # a coroutine when the block awaits
        await result


def test_every_python_example_compiles() -> None:
    blocks = python_blocks()
    assert len(blocks) >= 4
    for block in blocks:
        compile(block, str(README), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


async def test_pipeline_example_runs_as_written(capsys: pytest.CaptureFixture[str]) -> None:
    namespace: dict[str, Any] = {}
    await run_block(block_with("pipeline.connect("), namespace)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[0].endswith("The Eiffel Tower stands in Paris.")
    ranked = namespace["result"]["ranker"]["documents"]
    assert ranked[0].score >= ranked[1].score
    if not hasattr(Pipeline, "run_async"):
        pytest.skip("Pipeline.run_async is Haystack 3's (2.x: AsyncPipeline, tested elsewhere)")
    await run_block(block_with("await pipeline.run_async("), namespace)
    assert namespace["result"]["ranker"]["documents"] == ranked


async def test_standalone_example_runs_as_written(
    monkeypatch: pytest.MonkeyPatch, replay: Any
) -> None:
    monkeypatch.setenv("COHERE_API_KEY", key("COHERE_API_KEY"))
    namespace: dict[str, Any] = {}
    with replay("cohere_readme"):
        await run_block(block_with("best = ranker.run("), namespace)
    assert [(d.content, d.score) for d in namespace["best"]] == [("Berlin", 0.86), ("Paris", 0.06)]


def test_swap_in_example_constructs_without_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_AWS_KEY_ID", "AKIA-test-not-a-key")
    monkeypatch.setenv("MY_AWS_SECRET", "test-secret-not-a-secret")
    namespace: dict[str, Any] = {}
    exec(block_with("self_hosted = "), namespace)
    for name in ("cohere", "bedrock", "self_hosted"):
        ranker = namespace[name]
        assert isinstance(ranker, UnifiedRanker)
        assert ranker._built is None  # nothing built, nothing sent
        ranker.warm_up()  # builds the client only: no network
    serialized = str(namespace["bedrock"].to_dict())
    assert "MY_AWS_SECRET" in serialized and "test-secret-not-a-secret" not in serialized
