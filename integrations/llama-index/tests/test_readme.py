"""The README's examples run as written (offline, no key), or at least compile and construct
without network; the install command is the one that works from a clone."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from llama_index.postprocessor.unified_rerank import UnifiedRerank

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)


def test_every_python_example_compiles() -> None:
    blocks = python_blocks()
    assert len(blocks) >= 4
    for block in blocks:
        compile(block, str(README), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


def test_quick_start_runs_as_written(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("bm25s")
    exec(python_blocks()[0], {})
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[0].endswith("Paris is the capital of France.")


def test_query_engine_example_runs_as_written_without_openai(
    capsys: pytest.CaptureFixture[str],
) -> None:
    pytest.importorskip("bm25s")
    (block,) = [b for b in python_blocks() if "as_query_engine" in b]
    exec(block, {})
    shown = capsys.readouterr().out.strip()
    assert shown.startswith("['Paris is the capital of France.'")
    assert shown.count("'") == 4  # top_n=2 source nodes


def test_swap_in_examples_construct_without_network() -> None:
    (block,) = [b for b in python_blocks() if "AWSBedrockRerank" in b]
    namespace: dict[str, object] = {}
    exec(block, namespace)
    reranker = namespace["reranker"]
    assert isinstance(reranker, UnifiedRerank) and reranker._cache.client is None


def test_install_command_works_from_a_clone() -> None:
    commands = re.findall(r"```bash\n(.*?)```", README.read_text(), flags=re.DOTALL)[0]
    assert commands.splitlines()[0] == 'pip install ".[bm25]" ./integrations/llama-index'
