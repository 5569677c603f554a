"""Fireworks AI ``POST https://api.fireworks.ai/inference/v1/rerank`` (providers-more.md 4).

Key: ``FIREWORKS_API_KEY`` (the name langchain-fireworks and the fireworks-ai SDK read) as
``Authorization: Bearer``. ``base_url`` is the API root, as langchain-fireworks takes it
(``https://api.fireworks.ai/inference/v1``); ``/rerank`` is appended.

- Body (``CreateRerankRequest``, whose schema refuses extra properties): ``model`` (e.g.
  ``accounts/fireworks/models/qwen3-reranker-8b``), ``query``, ``documents`` (strings: objects
  are rendered to their ``text``, or the ``rank_fields`` as ``field: value`` lines),
  ``top_n`` when asked (capped at the document count), ``return_documents: false`` (the
  service's default is true; documents are back-filled from the request, as
  langchain-fireworks does too) and ``task`` from ``parameters={"task": ...}``.
- Because the schema has no other field, ``max_tokens_per_doc``, ``truncation`` and any other
  ``parameters`` key are refused before sending (LiteLLM silently drops them); ``priority``
  is dropped.
- Answer: ``{"object": "list", "model", "data": [{"index", "relevance_score"}], "usage":
  {"prompt_tokens", "total_tokens"}}``. Usage is **tokens** (``total_tokens``); LiteLLM reports
  it as search units, a unit mix-up not repeated here.
- Errors: the OpenAI-style ``{"error": {"message", "type", "code"}}`` that langchain-fireworks'
  OpenAI client reads (the exact Fireworks body is UNCONFIRMED). Retryable as that client
  decides: 408, 409, 429 and 5xx, overridden by an ``x-should-retry`` header.
- Per-request limits: UNCONFIRMED (none applied).
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidRequestError, RerankError
from ..schema import RerankRequest, RerankResponse
from .base import (
    ClientConfig,
    HttpCall,
    RawResponse,
    bearer_post,
    parse_token_billed,
    refuse_unsupported,
    render_texts,
    retry_as_sdk,
    standard_error,
)

SLUG = "fireworks"
ENV_KEYS = ("FIREWORKS_API_KEY",)
OPTIONS: frozenset[str] = frozenset()
BASE_URL = "https://api.fireworks.ai/inference/v1"
PATH = "/rerank"
PARAMETERS = frozenset({"task"})
#: The OpenAI client's rule (``_should_retry``): 408, 409, 429 and every 5xx.
RETRYABLE_STATUS = frozenset({408, 409, 429, *range(500, 600)})


def validate(request: RerankRequest, config: ClientConfig) -> None:
    refuse_unsupported(request, SLUG, ("max_tokens_per_doc", "truncation"), PARAMETERS)
    task = (request.parameters or {}).get("task")
    if task is not None and not isinstance(task, str):
        raise InvalidRequestError(
            f"`task` for fireworks must be a string, got {task!r}", provider=SLUG
        )


def body(request: RerankRequest) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "model": request.model,
        "query": request.query,
        "documents": render_texts(request),
        "return_documents": False,
    }
    if request.top_n is not None:
        payload["top_n"] = min(request.top_n, len(request.documents))
    task = (request.parameters or {}).get("task")
    if task is not None:
        payload["task"] = task
    return payload


def build(request: RerankRequest, config: ClientConfig) -> HttpCall:
    return bearer_post(config, config.root(BASE_URL) + PATH, body(request))


def parse(raw: RawResponse, request: RerankRequest) -> RerankResponse:
    return parse_token_billed(raw, request, SLUG, list_key="data")


def error(raw: RawResponse, request: RerankRequest) -> RerankError:
    err = standard_error(
        raw,
        SLUG,
        paths=("error.message", "message", "detail"),
        code_paths=("error.code", "error.type"),
    )
    return retry_as_sdk(err, raw, RETRYABLE_STATUS, should_retry_header=True)
