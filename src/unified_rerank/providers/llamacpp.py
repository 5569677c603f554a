"""llama.cpp's ``llama-server`` ``POST {base_url}/v1/rerank`` (providers-more.md 6.1).

A self-hosted server: ``base_url`` (the server root, e.g. ``http://localhost:8080``, with the
server's ``--api-prefix`` if it has one) is required. The key is optional and sent as
``Authorization: Bearer`` only when given (``api_key=`` or ``LLAMA_API_KEY``, the variable
the server itself reads for ``--api-key``).

The server ranks only when started with ``--reranking`` (``LLAMA_ARG_RERANKING``) and a
reranker model (rank pooling); otherwise it answers 501 ``not_supported_error``, which
becomes a ``ProviderError`` saying how to start it (not retried: the server's configuration
will not change by itself).

- Body (the Jina form): ``model`` (echoed only: one model per server), ``query``,
  ``documents`` (strings; objects rendered to their ``text`` or ``rank_fields``) and
  ``top_n`` when asked (capped at the document count). ``top_n`` is never ``0`` (the server
  would return no result) and ``texts`` is never sent (it switches the server to the TEI
  answer format). ``return_documents`` is not sent: documents are back-filled.
- ``max_tokens_per_doc``, ``truncation`` and ``parameters`` have no equivalent: refused.
  ``priority`` is dropped.
- Answer: ``{"model", "object", "usage": {"prompt_tokens", "total_tokens"}, "results":
  [{"index", "relevance_score"}]}``, sorted and cut by the server (checked again here).
  Scores are the model's raw output (a logit for classifier rerankers such as bge-reranker:
  may be negative). Usage: tokens.
- Errors: ``{"error": {"code", "message", "type"}}`` with the HTTP status = ``code``: 400
  ``invalid_request_error`` / ``exceed_context_size_error``, 401, 403, 404, 500, 501, 503
  ``unavailable_error`` (model loading). 5xx other than 501 are retried.
- Limits: none on the document count; each query+document pair must fit the server's
  per-slot context (over-long pairs are a 400).

Checked against the server's source (``tools/server``), not a running server: UNCONFIRMED
on a live engine here (docs/providers-deepinfra-fireworks-dashscope-llamacpp-xinference.md).
"""

from __future__ import annotations

from typing import Any

from ..errors import ProviderError, RerankError
from ..schema import RerankRequest, RerankResponse
from .base import (
    ClientConfig,
    HttpCall,
    RawResponse,
    error_message,
    json_body,
    loads_or_none,
    parse_token_billed,
    refuse_unsupported,
    render_texts,
    standard_error,
)
from .tei import bearer_headers

SLUG = "llamacpp"
ENV_KEYS = ("LLAMA_API_KEY",)
OPTIONS: frozenset[str] = frozenset()
PATH = "/v1/rerank"
NOT_SUPPORTED = "not_supported_error"


def validate(request: RerankRequest, config: ClientConfig) -> None:
    config.root(None)
    refuse_unsupported(request, SLUG, ("max_tokens_per_doc", "truncation", "parameters"))


def body(request: RerankRequest) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "model": request.model,
        "query": request.query,
        "documents": render_texts(request),
    }
    if request.top_n is not None:  # >= 1 (validated): never 0, which returns nothing
        payload["top_n"] = min(request.top_n, len(request.documents))
    return payload


def build(request: RerankRequest, config: ClientConfig) -> HttpCall:
    return HttpCall(
        method="POST",
        url=config.root(None) + PATH,
        headers=bearer_headers(config),
        body=json_body(body(request)),
    )


def parse(raw: RawResponse, request: RerankRequest) -> RerankResponse:
    return parse_token_billed(raw, request, SLUG)


def error(raw: RawResponse, request: RerankRequest) -> RerankError:
    body = loads_or_none(raw)
    kind = error_message(body, ("error.type",))
    if raw.status_code == 501 or kind == NOT_SUPPORTED:
        detail = error_message(body, ("error.message",)) or "reranking is not supported"
        return ProviderError(
            f"the llama.cpp server has reranking off ({detail}): start llama-server with "
            "--reranking (or LLAMA_ARG_RERANKING=1) and a reranker model",
            provider=SLUG,
            status_code=raw.status_code,
            code=kind or NOT_SUPPORTED,
            retryable=False,
        )
    return standard_error(raw, SLUG, paths=("error.message", "message"), code_paths=("error.type",))
