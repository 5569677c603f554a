"""The README's examples compile, and the construction-only one runs (offline)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

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
