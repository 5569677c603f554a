"""Every cassette is scanned: no credential header, and nothing that looks like a key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.support.cassettes import CASSETTES, SECRET_HEADERS

FILES = sorted(CASSETTES.rglob("*.yaml"))
# Shapes of real keys: bearer tokens, AWS access keys and signatures, vendor key prefixes.
KEY_PATTERNS = [
    re.compile(p)
    for p in (
        r"Bearer\s+[A-Za-z0-9._\-]{8,}",
        r"\bAKIA[0-9A-Z]{16}\b",
        r"\bASIA[0-9A-Z]{16}\b",
        r"Signature=[0-9a-f]{32,}",
        r"\bpcsk_[A-Za-z0-9_]{10,}",
        r"\bjina_[A-Za-z0-9]{16,}",
        r"\bpa-[A-Za-z0-9_\-]{20,}",
        r"\bsk-[A-Za-z0-9_\-]{16,}",
        r"\bnvapi-[A-Za-z0-9_\-]{16,}",
        r"\bABSK[A-Za-z0-9+/=]{20,}",  # Bedrock API keys
    )
]


def test_there_are_cassettes() -> None:
    assert len(FILES) >= 3


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(CASSETTES)))
def test_cassette_holds_no_secret(path: Path) -> None:
    text = path.read_text()
    for pattern in KEY_PATTERNS:
        assert not pattern.search(text), f"{path}: looks like a key: {pattern.pattern}"
    data = yaml.safe_load(text)
    for interaction in data["interactions"]:
        for side in ("request", "response"):
            headers = {k.lower() for k in (interaction[side].get("headers") or {})}
            leaked = headers & set(SECRET_HEADERS)
            assert not leaked, f"{path}: {side} keeps secret header(s) {leaked}"


def test_scanner_catches_a_planted_key(tmp_path: Path) -> None:
    planted = "Authorization: Bearer abcdefgh12345678"
    assert any(p.search(planted) for p in KEY_PATTERNS)
