"""Cohere ``POST /v2/rerank`` (providers.md section 1).

v2 takes string documents only: objects are rendered to text (their ``text``, or the
``rank_fields`` as ``field: value`` lines) rather than losing fields. v2 has no
``return_documents``; documents are back-filled from the request. Usage is search units.
"""

from __future__ import annotations

from typing import Any

from ..errors import AuthenticationError, InvalidRequestError, RerankError
from ..schema import RerankRequest, RerankResponse, checked_usage
from .base import (
    ClientConfig,
    HttpCall,
    Limits,
    RawResponse,
    decode_ranked,
    finish,
    json_body,
    json_headers,
    number,
    render_texts,
    standard_error,
)

SLUG = "cohere"
ENV_KEYS = ("COHERE_API_KEY", "CO_API_KEY")
OPTIONS: frozenset[str] = frozenset()
BASE_URL = "https://api.cohere.com"
PATH = "/v2/rerank"

#: Cohere's hard cap; it recommends at most 1,000 (the client's ``window_size`` option).
MAX_DOCUMENTS = 10_000
PRIORITY_RANGE = (0, 999)


def limits(model: str, config: ClientConfig) -> Limits:
    return Limits(max_documents=MAX_DOCUMENTS)


def validate(request: RerankRequest, config: ClientConfig) -> None:
    check_v2(request, SLUG)


def check_v2(request: RerankRequest, provider: str) -> None:
    """What Cohere's v2 API cannot take: refused, never silently dropped."""
    check_priority(request, provider)
    if request.parameters is not None:
        raise InvalidRequestError(
            f"{provider} takes no `parameters` (model parameters are passed through only by "
            "pinecone); drop the argument",
            provider=provider,
        )
    if request.truncation is False:
        raise InvalidRequestError(
            f"{provider} (Cohere) cannot refuse over-long input (truncation=False): it always "
            "truncates; leave `truncation` unset",
            provider=provider,
        )


def check_priority(request: RerankRequest, provider: str) -> None:
    p = request.priority
    low, high = PRIORITY_RANGE
    if p is not None and (not float(p).is_integer() or not low <= p <= high):
        raise InvalidRequestError(
            f"`priority` must be an integer from {PRIORITY_RANGE[0]} to {PRIORITY_RANGE[1]} "
            f"for {provider}, got {p!r}",
            provider=provider,
        )


def v2_body(request: RerankRequest, *, include_model: bool = True) -> dict[str, Any]:
    """The Cohere v2 body; also used by Azure AI and Bedrock ``InvokeModel``."""
    body: dict[str, Any] = {}
    if include_model:
        body["model"] = request.model
    body["query"] = request.query
    body["documents"] = render_texts(request)
    if request.top_n is not None:
        body["top_n"] = request.top_n
    if request.max_tokens_per_doc is not None:
        body["max_tokens_per_doc"] = request.max_tokens_per_doc
    if request.priority is not None:
        body["priority"] = int(request.priority)
    return body


def build(request: RerankRequest, config: ClientConfig) -> HttpCall:
    key = config.require_key()
    return HttpCall(
        method="POST",
        url=config.root(BASE_URL) + PATH,
        headers=config.merged_headers(json_headers(Authorization=f"Bearer {key}")),
        body=json_body(v2_body(request)),
    )


def parse(raw: RawResponse, request: RerankRequest) -> RerankResponse:
    return parse_as(raw, request, SLUG)


def parse_as(raw: RawResponse, request: RerankRequest, provider: str) -> RerankResponse:
    body, results = decode_ranked(raw, provider)
    meta = body.get("meta")
    billed = meta.get("billed_units") if isinstance(meta, dict) else None
    if not isinstance(billed, dict):
        billed = {}
    return finish(
        request,
        raw,
        results,
        provider=provider,
        response_id=body.get("id"),
        usage=checked_usage(search_units=number(billed.get("search_units"))),
    )


#: Cohere's "invalid token" status: the SDK raises ``InvalidTokenError`` for it
#: (cohere 7.3 ``v2/raw_client.py``), a key problem like a 401.
INVALID_TOKEN = 498


def error(raw: RawResponse, request: RerankRequest) -> RerankError:
    # Every Cohere error body is {"id", "message"}.
    err = standard_error(raw, SLUG, paths=("message",))
    if raw.status_code == INVALID_TOKEN:
        return AuthenticationError(
            f"{err.message} (Cohere rejected the API key as an invalid token)",
            provider=SLUG,
            status_code=INVALID_TOKEN,
        )
    return err
