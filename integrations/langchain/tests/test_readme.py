"""The README's examples compile, and the construction-only one runs (offline)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from langchain_unified_rerank import UnifiedRerank

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)


def test_every_python_example_compiles() -> None:
    blocks = python_blocks()
    assert len(blocks) >= 5
    for block in blocks:
        compile(block, str(README), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


def test_swap_in_example_constructs_without_network() -> None:
    (block,) = [b for b in python_blocks() if "self_hosted = " in b]
    namespace: dict[str, object] = {}
    exec(block, namespace)
    for name in ("cohere", "bedrock", "self_hosted"):
        reranker = namespace[name]
        assert isinstance(reranker, UnifiedRerank)
        assert reranker._cache.client is None  # nothing built, nothing sent


def test_keyless_quick_start_runs_as_written(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("bm25s")
    blocks = python_blocks()
    first = blocks[0]
    assert '"local/bm25"' in first  # the first example needs no key
    exec(first, {})
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[0].startswith("a ")
    assert lines[0].endswith("Paris is the capital of France.")


def test_install_commands_work_from_a_clone() -> None:
    text = README.read_text()
    commands = re.findall(r"```bash\n(.*?)```", text, flags=re.DOTALL)[0]
    first = commands.splitlines()[0]
    assert first == 'pip install ".[bm25]" ./integrations/langchain'
    root = README.parents[2]
    assert (root / "pyproject.toml").exists() and (root / "integrations/langchain").is_dir()
