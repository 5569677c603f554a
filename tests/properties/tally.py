"""The cases the property tests tried, by provider set-up, property and outcome."""

from __future__ import annotations

from collections import Counter, defaultdict

#: (set-up name, property) -> outcome -> cases
TRIED: defaultdict[tuple[str, str], Counter[str]] = defaultdict(Counter)


def count(setup: str, prop: str, outcome: str) -> None:
    TRIED[(setup, prop)][outcome] += 1
