"""Property-based: the answer of a token exchange (watsonx's IBM IAM, and any provider whose
built call carries an ``HttpExchange``) gives usable bearer headers with a sane lifetime, or
a typed error; never another exception."""

from __future__ import annotations

import base64
import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.properties import strategies as S
from tests.properties.checks import cases, check_error, name_of
from tests.properties.tally import count
from tests.properties.test_provider_properties import PROPERTY
from tests.support.provider_configs import Setup, client_config
from unified_rerank.errors import RerankError
from unified_rerank.providers import _tokens, get_provider
from unified_rerank.providers.base import RawResponse
from unified_rerank.schema import RerankRequest


def _exchange(slug: str, setup: Setup) -> _tokens.HttpExchange | None:
    """The HTTP token exchange of ``setup``'s calls, if they have one."""
    provider = get_provider(slug)
    if provider.build is None:
        return None
    request = RerankRequest.create(model=setup.models[0], query="q", documents=["a"])
    call = provider.build(request, client_config(slug, setup))
    exchange = getattr(call.credentials, "_exchange", None)
    return exchange if isinstance(exchange, _tokens.HttpExchange) else None


def _segment(value: Any) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value, allow_nan=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


#: Lifetimes: odd values mostly (huge integers, NaN, infinities, negatives, strings, bools).
LIFETIMES = st.sampled_from([3600, 0, -5, 10**400, 1e400, math.nan, "3600", True]) | S.ODD
#: JWTs with odd claims: missing, non-numeric, huge, NaN, negative lifetimes, not JSON.
CLAIMS = st.fixed_dictionaries({}, optional={"iat": LIFETIMES, "exp": LIFETIMES}) | S.JSON
JWTS = st.one_of(
    st.text(max_size=20),
    st.builds(lambda c: f"{_segment({'alg': 'none'})}.{_segment(c)}.sig", CLAIMS),
    st.builds(lambda b: f"h.{_segment(b)}.s", st.binary(max_size=12) | S.DEEP),
)
#: Token answers: near-valid ones mostly (a token, odd lifetimes), then anything.
NEAR_VALID_TOKEN_ANSWERS = st.fixed_dictionaries(
    {"access_token": JWTS},
    optional={"expires_in": LIFETIMES, "expiration": LIFETIMES, "token_type": S.ODD},
).map(S.dumps)
OTHER_TOKEN_ANSWERS = st.one_of(
    st.fixed_dictionaries({"access_token": S.ODD}, optional={"expires_in": S.ODD}).map(S.dumps),
    S.JSON.map(S.dumps),
    st.binary(max_size=40),
    S.DEEP,
)


#: The set-ups whose calls carry an HTTP token exchange (watsonx today).
EXCHANGING = [p for p in cases(http_only=True) if not p.marks and _exchange(*p.values)]


@pytest.mark.parametrize(("slug", "setup"), EXCHANGING)
@settings(PROPERTY, max_examples=60)
@given(data=st.data())
def test_any_token_answer_gives_headers_or_a_typed_error(
    slug: str, setup: Setup, data: st.DataObject
) -> None:
    exchange = _exchange(slug, setup)
    assert exchange is not None
    near_valid = data.draw(st.integers(0, 3), label="kind") > 0
    body = data.draw(
        NEAR_VALID_TOKEN_ANSWERS if near_valid else OTHER_TOKEN_ANSWERS, label="answer"
    )
    status = 200 if near_valid else data.draw(st.sampled_from([200, 400, 401, 429, 500]))
    try:
        issued = exchange.read(RawResponse(status, {}, body))
    except RerankError as err:
        check_error(err, setup)
        count(name_of(slug, setup), "token", type(err).__name__)
        return
    assert 200 <= status < 300
    token = json.loads(body)["access_token"]
    assert dict(issued.headers) == {"Authorization": f"Bearer {token}"}
    assert issued.lifetime is None or (math.isfinite(issued.lifetime) and issued.lifetime > 0)
    count(name_of(slug, setup), "token", "issued")
