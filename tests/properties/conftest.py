"""Prints the cases the property tests tried at the end of the run (also with -q)."""

from __future__ import annotations

import pytest

from tests.properties.tally import TRIED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not TRIED:
        return
    terminalreporter.write_sep("-", "property-based cases tried, per provider set-up and property")
    for (setup, prop), outcomes in sorted(TRIED.items()):
        detail = ", ".join(f"{n} {what}" for what, n in sorted(outcomes.items()))
        terminalreporter.write_line(
            f"{setup:<16} {prop:<6} {sum(outcomes.values()):>5} cases ({detail})"
        )
    total = sum(sum(c.values()) for c in TRIED.values())
    terminalreporter.write_line(f"total: {total} cases")
