"""Jina AI ``POST /v1/rerank`` (providers.md section 3).

Documents are sent as strings: objects are rendered to text (their ``text``, or the
``rank_fields`` as ``field: value`` lines), so no field the caller ranks on is lost; returned
documents are back-filled from the request. ``return_documents`` is always sent explicitly,
because Jina's default changed (true in its 2025-09 guide, reported false from 2025-10).
Usage is tokens (``usage.total_tokens``).

Unified fields Jina has no equivalent for:

- ``priority``: a Cohere scheduling hint that never changes a ranking; dropped.
- ``truncation=True``: Jina already fits long input to the model itself (sliding windows or
  truncation, per its model cards), so asking for it changes nothing; dropped.
  ``truncation=False`` (fail instead of truncating) cannot be honoured; rejected.
- ``max_tokens_per_doc`` and ``parameters``: they would change results and Jina cannot take
  them; rejected before sending.
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
    json_headers,
    parse_token_billed,
    render_texts,
    standard_error,
)

SLUG = "jina"
ENV_KEYS = ("JINA_API_KEY",)
OPTIONS: frozenset[str] = frozenset()
BASE_URL = "https://api.jina.ai"
PATH = "/v1/rerank"


def limits(model: str, config: ClientConfig) -> Limits:
    # UNCONFIRMED: Jina documents no API-side maximum number of documents (or tokens) per
    # request (providers.md 3.2, 10.3), so calls are not split; use the client's
    # ``window_size=`` option to split them if the service turns out to refuse large calls.
    return Limits()


def validate(request: RerankRequest, config: ClientConfig) -> None:
    if request.truncation is False:
        raise InvalidRequestError(
            "jina cannot refuse over-long input (truncation=False): it always fits documents "
            "to the model itself; leave `truncation` unset",
            provider=SLUG,
        )
    if request.max_tokens_per_doc is not None:
        raise InvalidRequestError(
            "jina has no `max_tokens_per_doc`: it fits documents to the model's context "
            "itself; drop the argument",
            provider=SLUG,
        )
    if request.parameters is not None:
        raise InvalidRequestError(
            "jina takes no `parameters` (model parameters are passed through only by "
            "pinecone); drop the argument",
            provider=SLUG,
        )


def body(request: RerankRequest) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "model": request.model,
        "query": request.query,
        "documents": render_texts(request),
    }
    if request.top_n is not None:
        # Capped at the document count, as batching windows are: the same answer either way.
        payload["top_n"] = min(request.top_n, len(request.documents))
    payload["return_documents"] = request.return_documents
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
    # UNCONFIRMED error body: `detail` (FastAPI style, what Portkey reads first), `message`,
    # or `error.message` (Jina's guide, for its embeddings endpoint); read all three.
    return standard_error(raw, SLUG, paths=("detail", "message", "error.message"))
