"""Infinity (michaelfeil/infinity) ``POST {base_url}/rerank`` (providers.md section 7.2).

A self-hosted engine: ``base_url`` is required (the server root including any
``INFINITY_URL_PREFIX``, e.g. ``http://localhost:7997``); the key is optional and sent as
``Authorization: Bearer`` only when given (``api_key=`` or ``INFINITY_API_KEY``).

- The body is Cohere-like: ``model``, ``query``, ``documents`` (strings only; objects are
  rendered to their ``text`` or ``rank_fields``), ``top_n`` (capped at the document count).
  ``return_documents`` is always sent as ``false`` (Infinity would echo a bare string):
  documents are back-filled from the request, the caller's objects with every field.
- ``raw_scores`` (always sent, ``false`` unless set, as Infinity's client sends it): the client
  option ``raw_scores=True`` or ``parameters={"raw_scores": True}`` (which wins); other
  ``parameters`` keys are rejected. Default scores are the model's
  activation (a sigmoid probability, 0..1, for the usual single-logit cross-encoders); raw
  scores are unbounded logits.
- Limits: at most ``INFINITY_MAX_CLIENT_BATCH_SIZE`` documents per call (default 2048);
  override the window size with the client option ``max_batch_size``.
- Usage: ``usage.total_tokens``.
- ``priority`` (a scheduling hint) is dropped; ``truncation=True`` is what Infinity always does
  (inputs are cut to the model's length), so it is dropped, while ``truncation=False`` and
  ``max_tokens_per_doc`` cannot be honoured and are rejected before sending.
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidRequestError, RerankError
from ..schema import RerankRequest, RerankResponse
from .base import (
    ClientConfig,
    HttpCall,
    Limits,
    RawResponse,
    json_body,
    parse_token_billed,
    render_texts,
    standard_error,
)
from .tei import bearer_headers, bool_setting, positive_int_option

SLUG = "infinity"
ENV_KEYS = ("INFINITY_API_KEY",)
OPTIONS: frozenset[str] = frozenset({"max_batch_size", "raw_scores"})
PATH = "/rerank"

#: Infinity's default ``INFINITY_MAX_CLIENT_BATCH_SIZE``.
DEFAULT_MAX_BATCH_SIZE = 2048


def limits(model: str, config: ClientConfig) -> Limits:
    return Limits(
        max_documents=positive_int_option(config, "max_batch_size", DEFAULT_MAX_BATCH_SIZE, SLUG)
    )


def validate(request: RerankRequest, config: ClientConfig) -> None:
    config.root(None)
    positive_int_option(config, "max_batch_size", DEFAULT_MAX_BATCH_SIZE, SLUG)
    bool_setting(request, config, "raw_scores", SLUG)
    if request.truncation is False:
        raise InvalidRequestError(
            "infinity cannot refuse over-long input (truncation=False): it always cuts inputs "
            "to the model's length; leave `truncation` unset",
            provider=SLUG,
        )
    if request.max_tokens_per_doc is not None:
        raise InvalidRequestError(
            "infinity has no `max_tokens_per_doc`: it cuts inputs to the model's length; "
            "drop the argument",
            provider=SLUG,
        )
    unknown = sorted(set(request.parameters or {}) - {"raw_scores"})
    if unknown:
        raise InvalidRequestError(
            f"infinity does not take parameters {unknown}; it takes ['raw_scores']",
            provider=SLUG,
        )


def body(request: RerankRequest, config: ClientConfig) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "model": request.model,
        "query": request.query,
        "documents": render_texts(request),
    }
    if request.top_n is not None:
        payload["top_n"] = min(request.top_n, len(request.documents))
    # Both always sent, as Infinity's own client sends them (``RerankInput.to_dict``,
    # infinity-client 0.0.78: defaults false): the defaults rule, docs/providers.md.
    # return_documents stays false: documents are back-filled from the request.
    payload["return_documents"] = False
    raw_scores = bool_setting(request, config, "raw_scores", SLUG)
    payload["raw_scores"] = bool(raw_scores)
    return payload


def build(request: RerankRequest, config: ClientConfig) -> HttpCall:
    return HttpCall(
        method="POST",
        url=config.root(None) + PATH,
        headers=bearer_headers(config),
        body=json_body(body(request, config)),
    )


def parse(raw: RawResponse, request: RerankRequest) -> RerankResponse:
    return parse_token_billed(raw, request, SLUG)


def error(raw: RawResponse, request: RerankRequest) -> RerankError:
    # {"error": {"message", "type", "param", "code"}}; FastAPI: {"detail": "..." | [...]}.
    return standard_error(raw, SLUG, paths=("error.message", "detail", "message"))
