from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from tests.support.loopback import Loopback
from tests.support.provider_cases import provider_variables

#: Cleared before each test: every variable a provider module declares (``ENV_KEYS``, ``*_ENV``),
#: so a new provider is covered without editing this file.
PROVIDER_KEY_VARS = provider_variables()


@pytest.fixture(autouse=True)
def _no_ambient_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the developer's real keys or settings (base URLs, regions, projects), so
    a test can't pass (or leak) by accident."""
    from tests.support.cassettes import RECORDING

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
