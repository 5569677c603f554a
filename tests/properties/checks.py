"""What the properties assert: a valid unified ranking, a clean typed error, a sound body."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.provider_configs import SETUPS, Setup, secrets_of, setups_for
from unified_rerank.errors import (
    APITimeoutError,
    AuthenticationError,
    InvalidRequestError,
    ProviderError,
    RateLimitError,
    RerankError,
)
from unified_rerank.providers import get_provider, known_slugs
from unified_rerank.providers.base import HttpCall
from unified_rerank.schema import Document, RerankRequest, RerankResponse

CONCRETE_ERRORS = (
    APITimeoutError,
    AuthenticationError,
    InvalidRequestError,
    ProviderError,
    RateLimitError,
)


def cases(*, http_only: bool = False) -> list[Any]:
    """``(slug, setup)`` params for every registered provider that has a set-up (one without
    fails ``test_every_registered_provider_has_a_setup``)."""
    params = []
    for slug in known_slugs():
        if slug not in SETUPS:
            continue
        for setup in setups_for(slug):
            local = get_provider(slug).run_local is not None
            marks = (
                [pytest.mark.skip(reason=f"{slug} runs in-process: it has no HTTP answer")]
                if http_only and local
                else []
            )
            params.append(pytest.param(slug, setup, id=setup.name or slug, marks=marks))
    return params


def name_of(slug: str, setup: Setup) -> str:
    return setup.name or slug


# --- rankings ----------------------------------------------------------------------------


def check_ranking(resp: RerankResponse, request: RerankRequest) -> None:
    """A valid unified ranking of ``request``'s documents."""
    assert isinstance(resp, RerankResponse)
    n = len(request.documents)
    indices = [r.index for r in resp.results]
    scores = [r.relevance_score for r in resp.results]
    assert all(type(i) is int and 0 <= i < n for i in indices), indices
    assert len(set(indices)) == len(indices), f"an index is repeated: {indices}"
    assert all(type(s) is float and math.isfinite(s) for s in scores), scores
    assert scores == sorted(scores, reverse=True), f"not best first: {scores}"
    assert len(indices) == request.expected_results, (len(indices), request.expected_results)
    for r in resp.results:
        expected = request.document_object(r.index) if request.return_documents else None
        assert r.document == expected, (r.index, r.document, expected)
    json.loads(resp.model_dump_json())  # the whole response serialises (id, model, usage)
    for name in ("search_units", "total_tokens", "rerank_units"):
        units = getattr(resp.usage, name)
        finite = type(units) is int or (type(units) is float and math.isfinite(units))
        assert units is None or (finite and units >= 0), f"usage.{name} = {units!r}"
    assert isinstance(resp.id, str) and resp.id
    assert isinstance(resp.model, str) and resp.model


def check_exact(resp: RerankResponse, request: RerankRequest, given: dict[int, float]) -> None:
    """``resp`` ranks exactly what the answer said: the best ``expected_results`` scores,
    each attached to its own document."""
    check_ranking(resp, request)
    for r in resp.results:
        assert r.relevance_score == given[r.index], (r.index, r.relevance_score, given)
    best = sorted(given.values(), reverse=True)[: request.expected_results]
    assert [r.relevance_score for r in resp.results] == best


# --- errors --------------------------------------------------------------------------------


def check_error(err: BaseException, setup: Setup) -> None:
    """A typed error, whose text and repr hold no secret."""
    assert isinstance(err, CONCRETE_ERRORS), f"{type(err).__name__}: {err}"
    assert isinstance(err.retryable, bool)
    shown = f"{err} {err!r} {err.message}"
    for secret in secrets_of(setup):
        assert secret not in shown, f"secret in the error: {shown}"
    if isinstance(err, RateLimitError) and err.retry_after is not None:
        assert math.isfinite(err.retry_after) and err.retry_after >= 0, err.retry_after


def status_category(slug: str, status: int) -> tuple[type[RerankError], ...]:
    """The error types that fit ``status`` for an answer naming no provider error code."""
    special = STATUS_EXCEPTIONS.get((slug, status))
    if special is not None:
        return special
    if status in (401, 403):
        return (AuthenticationError,)
    if status == 408:
        return (APITimeoutError,)
    if status == 429:
        return (RateLimitError,)
    if status >= 500:
        return (ProviderError,)
    if 400 <= status < 500:
        return (InvalidRequestError,)
    return (InvalidRequestError, ProviderError)  # 1xx / 3xx: not a defined answer


#: Statuses a provider gives a meaning of its own, with the reason.
STATUS_EXCEPTIONS: dict[tuple[str, int], tuple[type[RerankError], ...]] = {
    # Cohere's 498 is an invalid token: the SDK raises InvalidTokenError (a key problem).
    ("cohere", 498): (AuthenticationError,),
}


# --- request bodies ------------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise AssertionError(f"the body holds {name}, which is not JSON")


def decoded_body(call: HttpCall) -> Any:
    """The body as JSON (strict: no NaN or Infinity literals, UTF-8)."""
    return json.loads(call.body.decode("utf-8"), parse_constant=_reject_constant)


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def _mentions(node: Any, text: str) -> bool:
    return any(text in s for s in _strings(node))


def key_texts(doc: Document, rank_fields: list[str] | None) -> list[str]:
    """The texts of ``doc`` a provider must send: the text, or the ranked fields."""
    if isinstance(doc, str):
        return [doc]
    return [str(doc[f]) for f in (rank_fields or ["text"])]


def _lists(node: Any) -> Iterator[list[Any]]:
    if isinstance(node, list):
        yield node
        for value in node:
            yield from _lists(value)
    elif isinstance(node, dict):
        for value in node.values():
            yield from _lists(value)


def check_documents_in_order(body: Any, request: RerankRequest) -> None:
    """Some list in the body has one entry per document, in the request's order, each
    holding that document's text (or ranked fields)."""
    docs = request.documents
    wanted = [key_texts(d, request.rank_fields) for d in docs]
    for candidate in _lists(body):
        if len(candidate) == len(docs) and all(
            all(_mentions(entry, t) for t in texts)
            for entry, texts in zip(candidate, wanted, strict=True)
        ):
            return
    raise AssertionError(f"no list in the body holds the {len(docs)} documents in order")


def check_query(body: Any, request: RerankRequest) -> None:
    assert _mentions(body, request.query), "the query is not in the body"


TOP_N_PATHS = (
    ("top_n",),
    ("top_k",),
    ("topN",),
    ("parameters", "top_n"),
    ("parameters", "return_options", "top_n"),
    ("rerankingConfiguration", "bedrockRerankingConfiguration", "numberOfResults"),
)


def _at(node: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def check_top_n(body: Any, request: RerankRequest, setup: Setup) -> None:
    """Every result count in the body is an integer >= 1, at most the documents unless the
    provider takes more, and the request's ``top_n`` when it set one."""
    n = len(request.documents)
    for path in TOP_N_PATHS:
        value = _at(body, path)
        passed_through = path == ("parameters", "top_n") and bool(request.parameters)
        if value is None or passed_through:
            continue
        assert type(value) is int and value >= 1, (path, value)
        if setup.caps_top_n:
            assert value <= n, (path, value, n)
        if request.top_n is not None:
            wanted = min(request.top_n, n) if setup.caps_top_n else request.top_n
            assert value in (wanted, min(request.top_n, n)), (path, value, request.top_n)
        else:  # no top_n asked: every result (a provider needing a count sends them all)
            assert value == n, (path, value, n)


def check_sendable(call: HttpCall) -> None:
    """A request httpx can send where it was meant to go: a URL without spaces, fragment or
    stray query (a model id in a path is escaped), headers of printable ASCII."""
    url = httpx.URL(call.url)
    assert url.scheme in ("http", "https") and url.host, call.url
    assert not any(c.isspace() for c in call.url), call.url
    assert not url.fragment, f"a fragment in {call.url}"
    assert set(url.params) <= {"version"}, f"a stray query in {call.url}"
    signed = call.signer(call) if call.signer is not None else {}  # as sent: signed per attempt
    for name, value in {**call.headers, **signed}.items():
        assert name.isascii() and value.isascii(), (name, "a non-ASCII header")
        assert not any(c in value for c in "\r\n\0"), (name, "a line break in a header")


def check_secrets(call: HttpCall, setup: Setup) -> None:
    shown = f"{call!r} {call.url} {call.body!r}"
    for secret in secrets_of(setup):
        assert secret not in shown, f"secret in the request's repr, URL or body: {shown}"
