"""Together AI ``POST https://api.together.ai/v1/rerank`` (providers.md section 8).

Key: ``TOGETHER_API_KEY`` as ``Authorization: Bearer``.

- Without ``rank_fields`` documents are sent as strings (objects rendered to their ``text``),
  which every Together rerank model takes. With ``rank_fields`` the objects and the
  ``rank_fields`` are passed through as they are (strings become ``{"text": ...}``): Together
  ranks objects only on its dedicated ``Salesforce/Llama-Rank-V1`` endpoints, and which keys it
  ranks on by default is a documented conflict (all keys vs ``text``), so we never rely on it.
- ``top_n`` is sent capped at the document count. ``return_documents`` is not sent: Together
  returns object documents JSON-stringified inside ``document.text``, so documents are
  back-filled from the request instead (the caller's objects, with every field).
- Scores: ``relevance_score`` as Together gives it (0..1 for its models). Usage:
  ``usage.total_tokens``. No per-request document limit is documented (8K tokens a document).
- ``priority`` (a scheduling hint) is dropped; ``max_tokens_per_doc``, ``truncation`` and
  ``parameters`` have no Together equivalent (how it treats over-long documents is
  UNCONFIRMED) and are rejected before sending.
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidRequestError, RerankError
from ..schema import RerankRequest, RerankResponse
from .base import (
    ClientConfig,
    HttpCall,
    RawResponse,
    json_body,
    json_headers,
    parse_token_billed,
    render_texts,
    standard_error,
)

SLUG = "together"
ENV_KEYS = ("TOGETHER_API_KEY",)
OPTIONS: frozenset[str] = frozenset()
#: The API ranks on named fields of object documents (the unified ``rank_fields``).
RANKS_FIELDS = True
BASE_URL = "https://api.together.ai"
PATH = "/v1/rerank"


def reject_unsupported(request: RerankRequest, provider: str) -> None:
    """``max_tokens_per_doc``, ``truncation`` and ``parameters`` change results; a provider
    with no equivalent refuses them rather than silently ignoring them."""
    for name in ("max_tokens_per_doc", "truncation", "parameters"):
        if getattr(request, name) is not None:
            raise InvalidRequestError(
                f"{provider} has no equivalent of `{name}`; drop the argument",
                provider=provider,
            )


def validate(request: RerankRequest, config: ClientConfig) -> None:
    reject_unsupported(request, SLUG)


def documents(request: RerankRequest) -> list[Any]:
    """Strings, or with ``rank_fields`` the objects as given (strings as ``{"text": s}``)."""
    if request.rank_fields is None:
        return render_texts(request)
    return [request.document_object(i) for i in range(len(request.documents))]


def body(request: RerankRequest) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "model": request.model,
        "query": request.query,
        "documents": documents(request),
    }
    if request.top_n is not None:
        payload["top_n"] = min(request.top_n, len(request.documents))
    if request.rank_fields is not None:
        payload["rank_fields"] = list(request.rank_fields)
    return payload


def build(request: RerankRequest, config: ClientConfig) -> HttpCall:
    key = config.require_key()
    return HttpCall(
        method="POST",
        url=config.root(BASE_URL) + PATH,
        headers=config.merged_headers(json_headers(Authorization=f"Bearer {key}")),
        body=json_body(body(request)),
    )


def parse(raw: RawResponse, request: RerankRequest) -> RerankResponse:
    return parse_token_billed(raw, request, SLUG)


def error(raw: RawResponse, request: RerankRequest) -> RerankError:
    # UNCONFIRMED error body: OpenAI style {"error": {"message", "type", "code"}} is read first.
    return standard_error(
        raw, SLUG, paths=("error.message", "message", "detail"), code_paths=("error.code",)
    )
