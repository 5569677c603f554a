from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from tests.support.loopback import Loopback

PROVIDER_KEY_VARS = (
    "COHERE_API_KEY",
    "CO_API_KEY",
    "VOYAGE_API_KEY",
    "JINA_API_KEY",
    "PINECONE_API_KEY",
    "AZURE_AI_API_KEY",
    "AZURE_AI_ENDPOINT",
    "AWS_BEARER_TOKEN_BEDROCK",
    "TOGETHER_API_KEY",
    "MXBAI_API_KEY",
    "MIXEDBREAD_API_KEY",
    "NVIDIA_API_KEY",
    "PORTKEY_API_KEY",
    "TEI_API_KEY",
    "INFINITY_API_KEY",
    "VLLM_API_KEY",
)


@pytest.fixture(autouse=True)
def _no_ambient_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the developer's real keys, so a test can't pass (or leak) by accident."""
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
