"""Property-based tests over every registered provider (``known_slugs()``):

(a) any 2xx answer (bytes, arbitrary JSON, near-valid answers in the provider's and other
    providers' shapes, arbitrary headers) parses into a valid ranking or a ``ProviderError``;
    a valid answer gives exactly its ranking;
(b) any non-2xx answer becomes a typed ``RerankError`` fitting its status, holding no secret;
(c) any unified request is refused with a typed error before I/O, or built into a body the
    provider's schema accepts (documents in order, sound ``top_n``, no secret in sight).

The cases tried are counted and printed at the end of the run (``tests/properties/tally``).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.properties import strategies as S
from tests.properties.checks import (
    cases,
    check_documents_in_order,
    check_error,
    check_exact,
    check_query,
    check_ranking,
    check_secrets,
    check_sendable,
    check_top_n,
    decoded_body,
    name_of,
    status_category,
)
from tests.properties.schemas import check_schema
from tests.properties.tally import count
from tests.support.provider_configs import Setup, client_config, setups_for
from unified_rerank.errors import ProviderError, RerankError
from unified_rerank.providers import get_provider, known_slugs, split_model
from unified_rerank.providers.base import RawResponse
from unified_rerank.schema import RerankRequest

# derandomize: the same cases on every run. too_slow is suppressed because a case draws a
# request and then an answer shaped by it (a few hundred bytes of choices), which the health
# check flags on this 2-core machine though each case takes about a millisecond.
PROPERTY = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

#: Providers whose 2xx answers may carry a business error (then typed by its code, e.g. an
#: ``InvalidApiKey`` is an AuthenticationError), with the reason.
TYPED_2XX_ERRORS = {
    # DashScope answers HTTP 200 with {"code", "message"} for some failures (providers-more.md).
    "dashscope",
}


@pytest.mark.parametrize("slug", known_slugs())
def test_every_registered_provider_has_a_setup(slug: str) -> None:
    assert setups_for(slug)


def _parse_errors(slug: str) -> type[RerankError]:
    return RerankError if slug in TYPED_2XX_ERRORS else ProviderError


@pytest.mark.parametrize(("slug", "setup"), cases(http_only=True))
@PROPERTY
@given(data=st.data())
def test_any_2xx_answer_is_a_ranking_or_a_provider_error(
    slug: str, setup: Setup, data: st.DataObject
) -> None:
    provider = get_provider(slug)
    assert provider.parse is not None
    request = data.draw(S.valid_requests(setup), label="request")
    kind, body = data.draw(S.any_answer(setup.answer, request), label="answer")
    headers = data.draw(S.HEADERS, label="headers")
    status = data.draw(st.sampled_from([200, 200, 201, 203, 299]), label="status")
    try:
        resp = provider.parse(RawResponse(status, headers, body), request)
    except _parse_errors(slug) as err:
        check_error(err, setup)
        count(name_of(slug, setup), "parse", f"{kind}: {type(err).__name__}")
        return
    check_ranking(resp, request)
    assert resp.provider == slug
    count(name_of(slug, setup), "parse", f"{kind}: ranking")


@pytest.mark.parametrize(("slug", "setup"), cases(http_only=True))
@settings(PROPERTY, max_examples=30)
@given(data=st.data())
def test_a_valid_answer_gives_exactly_its_ranking(
    slug: str, setup: Setup, data: st.DataObject
) -> None:
    provider = get_provider(slug)
    assert provider.parse is not None
    request = data.draw(S.valid_requests(setup), label="request")
    answer, given_scores = data.draw(S.valid_answers(setup.answer, request), label="answer")
    headers = data.draw(S.HEADERS, label="headers")
    resp = provider.parse(RawResponse(200, headers, S.dumps(answer)), request)
    check_exact(resp, request, given_scores)
    assert resp.provider == slug
    count(name_of(slug, setup), "valid", "ranking")


@pytest.mark.parametrize(("slug", "setup"), cases(http_only=True))
@PROPERTY
@given(data=st.data())
def test_any_error_answer_is_a_typed_error(slug: str, setup: Setup, data: st.DataObject) -> None:
    provider = get_provider(slug)
    assert provider.error is not None
    request = data.draw(S.valid_requests(setup), label="request")
    status = data.draw(S.STATUSES, label="status")
    coded = data.draw(st.booleans(), label="coded")
    if coded:  # bodies and headers naming provider error codes: the code may decide
        body = data.draw(S.ERROR_BODIES, label="body")
        headers = data.draw(S.HEADERS | S.RETRY_HEADERS, label="headers")
    else:
        body = data.draw(S.PLAIN_ERROR_BODIES, label="body")
        headers = data.draw(S.PLAIN_HEADERS, label="headers")
    err = provider.error(RawResponse(status, headers, body), request)
    check_error(err, setup)
    assert err.status_code == status, (err.status_code, status)
    if not coded:
        fits = status_category(slug, status)
        assert isinstance(err, fits), f"HTTP {status} gave {type(err).__name__}: {err}"
    count(name_of(slug, setup), "error", f"{'coded' if coded else 'plain'}: {type(err).__name__}")


@pytest.mark.parametrize(("slug", "setup"), cases())
@settings(PROPERTY, max_examples=80)
@given(data=st.data())
def test_any_request_is_refused_before_io_or_built_soundly(
    slug: str, setup: Setup, data: st.DataObject
) -> None:
    provider = get_provider(slug)
    fields: dict[str, Any] = data.draw(S.request_fields(setup), label="fields")
    if isinstance(fields["model"], str) and data.draw(st.booleans(), label="prefixed"):
        fields["model"] = f"{slug}/{fields['model']}"  # "cohere/rerank-v3.5": stripped
    config = client_config(slug, setup)
    name = name_of(slug, setup)
    try:
        # As the client plans a call: the model's route and window size first, then the
        # request, the provider's checks and the body.
        if isinstance(fields["model"], str) and fields["model"]:
            _, fields["model"] = split_model(fields["model"], slug)
            if provider.run_local is None:
                window = provider.limits(fields["model"], config).max_documents
                assert window is None or (type(window) is int and window >= 1), window
        request = RerankRequest.create(**fields)
        provider.validate(request, config)
        if provider.run_local is not None:
            check_ranking(provider.run_local(request, config), request)
            count(name, "build", "ranked in-process")
            return
        assert provider.build is not None
        call = provider.build(request, config)
        if call.signer is not None:  # signed before each attempt: may refuse too
            call.signer(call)
    except RerankError as err:
        check_error(err, setup)
        assert err.status_code is None, "refused with an HTTP status before any I/O"
        count(name, "build", f"refused: {type(err).__name__}")
        return
    check_secrets(call, setup)
    check_sendable(call)
    body = decoded_body(call)
    assert isinstance(body, dict), body
    check_documents_in_order(body, request)
    check_query(body, request)
    check_top_n(body, request, setup)
    checked = check_schema(slug, call.url, body)
    count(name, "build", f"built ({checked})")
