"""Fixtures for the LangChain integration tests.

The root ``tests/conftest.py`` does not apply to this folder, so the pieces needed here are
re-created from the shared test support (the repo root is on ``sys.path`` when pytest runs
from it with ``python -m pytest``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from tests.conftest import PROVIDER_KEY_VARS
from tests.support.cassettes import RECORDING
from tests.support.loopback import Loopback


@pytest.fixture(autouse=True)
def _no_ambient_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the developer's real keys, so a test can't pass (or leak) by accident."""
    if not RECORDING:
        for name in PROVIDER_KEY_VARS:
            monkeypatch.delenv(name, raising=False)


@pytest.fixture
def loopback() -> Iterator[Loopback]:
    server = Loopback().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _quiet_retries(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="unified_rerank")
