"""For tests of providers behind a token exchange: ``from tests.support.tokens import
fresh_tokens`` makes every test of the importing module start and end with no token cached
(``providers._tokens.shared`` is process-wide, so each test sees its own exchange) and without
the developer's watsonx and Google variables (unless re-recording cassettes)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.cassettes import RECORDING
from unified_rerank.providers import _tokens

AMBIENT = (
    "WATSONX_APIKEY",
    "WATSONX_API_KEY",
    "WATSONX_URL",
    "WATSONX_PROJECT_ID",
    "WATSONX_SPACE_ID",
    "WATSONX_IAM_URL",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "GOOGLE_CLOUD_PROJECT",
    "GCLOUD_PROJECT",
    "GOOGLE_CLOUD_QUOTA_PROJECT",
)


@pytest.fixture(autouse=True)
def fresh_tokens(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    if not RECORDING:
        for name in AMBIENT:
            monkeypatch.delenv(name, raising=False)
    _tokens.clear_shared()
    yield
    _tokens.clear_shared()
