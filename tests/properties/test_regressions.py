"""Example-based regressions for the bugs the property tests found."""

from __future__ import annotations

import pytest

from unified_rerank.errors import InvalidRequestError, ProviderError
from unified_rerank.providers import get_provider
from unified_rerank.providers.base import RawResponse
from unified_rerank.schema import RerankRequest

HUGE = b"1" + b"0" * 400  # a JSON integer no float can hold


@pytest.mark.parametrize(
    "body",
    [
        b'{"results": [{"index": 0, "relevance_score": ' + HUGE + b"}]}",
        b'{"results": [{"index": 0, "relevance_score": 0.5}, {"index": 1, "relevance_score": '
        + HUGE
        + b"}]}",
    ],
)
def test_a_score_too_large_for_a_float_is_a_provider_error(body: bytes) -> None:
    # Was an OverflowError from math.isfinite in finish().
    request = RerankRequest.create(model="m", query="q", documents=["a", "b"], top_n=1)
    with pytest.raises(ProviderError, match="too large for a float"):
        get_provider("jina").parse(RawResponse(200, {}, body), request)


def test_a_priority_too_large_for_a_float_is_an_invalid_request() -> None:
    # Was an OverflowError from math.isfinite in RerankRequest.create.
    with pytest.raises(InvalidRequestError, match="`priority` must be a finite number"):
        RerankRequest.create(model="m", query="q", documents=["a"], priority=10**400)
