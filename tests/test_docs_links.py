"""The documents a user reads point only to files that exist in the repository (a clone has
no ``shared/`` folder: issue 15, item 15)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [
    "README.md",
    "cassettes/README.md",
    "docs/cli.md",
    "integrations/langchain/README.md",
    "integrations/llama-index/README.md",
]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
MENTION = re.compile(r"`((?:docs|cassettes|scripts|examples|requirements|bench)/[\w./-]+)`")


@pytest.mark.parametrize("doc", DOCS)
def test_every_linked_or_named_repository_file_exists(doc: str) -> None:
    path = ROOT / doc
    text = path.read_text()
    missing = []
    for target in LINK.findall(text):
        if "://" in target or target.startswith("mailto:"):
            continue
        if not (path.parent / target).resolve().exists():
            missing.append(target)
    missing += [m for m in MENTION.findall(text) if not (ROOT / m).exists()]
    assert missing == []
    assert "shared/" not in text.replace("unified-rerank-shared", "")
