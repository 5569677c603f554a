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


def test_readme_says_what_the_test_setup_installs() -> None:
    readme = (ROOT / "README.md").read_text()
    development = readme[readme.index("## Development") :]
    setup = (ROOT / "scripts" / "install-dev.sh").read_text()
    for name in set(re.findall(r"UNIFIED_RERANK_SKIP_\w+", setup)):
        assert name in development, name
    for script in set(re.findall(r"scripts/[\w-]+\.sh", setup)):
        assert script in development, script
    extras = re.search(r'-e "\.\[([\w,]+)\]"', setup)
    assert extras is not None and extras[1] in development
    assert "download.pytorch.org/whl/cpu" in development and "minutes" in development
    torch_pin = re.search(r"^torch==([\w.]+)$", (ROOT / "requirements/test.txt").read_text(), re.M)
    assert torch_pin is not None  # the version the CPU-build command refers to


def test_readme_installs_a_wrapper_from_a_clone() -> None:
    readme = (ROOT / "README.md").read_text()
    assert '.venv/bin/pip install ".[bm25]" ./integrations/langchain' in readme
    assert (ROOT / "integrations/langchain/pyproject.toml").exists()
