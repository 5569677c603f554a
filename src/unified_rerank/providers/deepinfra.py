"""DeepInfra ``POST https://api.deepinfra.com/v1/inference/{model}`` for reranker models
(providers-more.md section 3).

Key: ``DEEPINFRA_API_KEY`` (the official ``deepinfra`` SDK's variable) or ``DEEPINFRA_TOKEN``
(DeepInfra's docs), as ``Authorization: Bearer``. ``base_url`` is the API root
(``DEEPINFRA_BASE_URL``, as the SDK's client reads it; default ``https://api.deepinfra.com``).
The model id is part of the path and keeps its ``/`` (``/v1/inference/Qwen/Qwen3-Reranker-0.6B``).

- Body: ``{"queries": [query] * n, "documents": [...]}``: the two arrays pair up, so the query
  is repeated once per document (LiteLLM's form; DeepInfra's own example sends one of each,
  UNCONFIRMED whether one query for many documents is also accepted). Objects are rendered to
  text (``text``, or the ``rank_fields`` as ``field: value`` lines).
- The answer is ``{"scores": [...]}`` in document order, with no ranking and no top-N: the
  client sorts and cuts to ``top_n`` (``finish``). Exactly one score per document, or the
  answer is malformed. Usage: ``input_tokens``. Documents are back-filled from the request.
- ``parameters`` may hold ``instruction`` (the Qwen3 rerankers' task instruction); nothing
  else. ``max_tokens_per_doc`` and ``truncation`` have no field (how DeepInfra treats
  over-long input is UNCONFIRMED): refused. ``priority`` is dropped.
- Errors: ``{"detail": {"error"}}``, ``{"detail": "..."}``, ``{"error": "..."}`` or
  ``{"error": {"message"}}`` (the SDK's and LiteLLM's readings). Retryable: 502, 503, 504 (the
  SDK's set) and 429 (the library's rate-limit rule; the SDK retries neither on a POST, since a
  retried inference is billed again).
- No per-request document limit is documented (UNCONFIRMED).
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidRequestError, RerankError
from ..schema import RerankRequest, RerankResponse, checked_usage
from .base import (
    ClientConfig,
    HttpCall,
    RawResponse,
    bearer_post,
    decode_json,
    field_of,
    finish,
    integer,
    malformed,
    refuse_unsupported,
    render_texts,
    retry_as_sdk,
    standard_error,
    url_path,
)

SLUG = "deepinfra"
ENV_KEYS = ("DEEPINFRA_API_KEY", "DEEPINFRA_TOKEN")
BASE_URL_ENV = ("DEEPINFRA_BASE_URL",)
OPTIONS: frozenset[str] = frozenset()
BASE_URL = "https://api.deepinfra.com"
PATH = "/v1/inference/"
PARAMETERS = frozenset({"instruction"})
#: The SDK's retryable statuses (``_RETRYABLE_STATUSES``), plus 429.
RETRYABLE_STATUS = frozenset({429, 502, 503, 504})


def validate(request: RerankRequest, config: ClientConfig) -> None:
    refuse_unsupported(request, SLUG, ("max_tokens_per_doc", "truncation"), PARAMETERS)
    instruction = (request.parameters or {}).get("instruction")
    if instruction is not None and not isinstance(instruction, str):
        raise InvalidRequestError(
            f"`instruction` for deepinfra must be a string, got {instruction!r}", provider=SLUG
        )
    # The id becomes path segments: none may be empty or climb out of /v1/inference/.
    if any(part in ("", ".", "..") for part in request.model.split("/")):
        raise InvalidRequestError(
            f"deepinfra model ids look like 'Qwen/Qwen3-Reranker-0.6B', got {request.model!r}",
            provider=SLUG,
        )


def body(request: RerankRequest) -> dict[str, Any]:
    documents = render_texts(request)
    payload: dict[str, Any] = {"queries": [request.query] * len(documents), "documents": documents}
    instruction = (request.parameters or {}).get("instruction")
    if instruction is not None:
        payload["instruction"] = instruction
    return payload


def url(request: RerankRequest, config: ClientConfig) -> str:
    return config.root(BASE_URL) + PATH + url_path(request.model, SLUG)


def build(request: RerankRequest, config: ClientConfig) -> HttpCall:
    return bearer_post(config, url(request, config), body(request))


def parse(raw: RawResponse, request: RerankRequest) -> RerankResponse:
    answer = decode_json(raw, SLUG)
    scores = field_of(answer, "scores", SLUG, raw)
    n = len(request.documents)
    if not isinstance(scores, list) or len(scores) != n:
        count = len(scores) if isinstance(scores, list) else "no list of"
        raise malformed(SLUG, raw, f"{count} scores for {n} documents")
    items = [{"index": i, "relevance_score": s} for i, s in enumerate(scores)]
    return finish(
        request,
        raw,
        items,
        provider=SLUG,
        response_id=answer.get("request_id"),
        usage=checked_usage(total_tokens=integer(answer.get("input_tokens"))),
    )


def error(raw: RawResponse, request: RerankRequest) -> RerankError:
    err = standard_error(
        raw,
        SLUG,
        paths=("detail.error", "detail.message", "detail", "error.message", "error", "message"),
    )
    return retry_as_sdk(err, raw, RETRYABLE_STATUS)
