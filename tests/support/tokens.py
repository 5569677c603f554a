"""For tests of providers behind a token exchange: ``from tests.support.tokens import
fresh_tokens`` makes every test of the importing module start and end with no token cached
(``providers._tokens.shared`` is process-wide, so each test sees its own exchange). The
developer's watsonx and Google variables are cleared for every test by ``tests/conftest.py``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from unified_rerank.providers import _tokens


@pytest.fixture(autouse=True)
def fresh_tokens() -> Iterator[None]:
    _tokens.clear_shared()
    yield
    _tokens.clear_shared()
