"""Voyage AI ``POST /v1/rerank`` (providers.md section 2).

Voyage takes string documents only: objects are rendered to text (their ``text``, or the
``rank_fields`` as ``field: value`` lines, as for Cohere). ``top_n`` is sent as ``top_k``;
results come under ``data``. ``return_documents`` is never sent (nor by Voyage's SDK): a
returned ``document`` would be a bare string, so documents are back-filled from the request
instead (the caller's objects, with every field). ``truncation`` is always sent (``true``
unless set), as the SDK sends it. Usage is tokens
(``usage.total_tokens``), never search units.

Unified fields Voyage has no equivalent for:

- ``priority``: a Cohere scheduling hint that never changes a ranking; dropped.
- ``max_tokens_per_doc``: would change which text is scored and Voyage cannot honour it (it
  truncates to the model's context when ``truncation`` is true); rejected before sending.
- ``parameters``: a Pinecone pass-through; rejected before sending.
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

SLUG = "voyage"
ENV_KEYS = ("VOYAGE_API_KEY",)
OPTIONS: frozenset[str] = frozenset()
BASE_URL = "https://api.voyageai.com"
#: Voyage's SDK sends keys starting with ``al-`` (MongoDB Atlas keys) to MongoDB's mirror of
#: the same API (VO-PY ``util.get_default_base_url``); we do the same when no base_url is given.
ATLAS_BASE_URL = "https://ai.mongodb.com"
ATLAS_KEY_PREFIX = "al-"
PATH = "/v1/rerank"

#: Voyage's own default, which its SDK sends on every call.
DEFAULT_TRUNCATION = True

#: "≤ 1,000 documents" per request (VO-DOC reranker-api); larger calls are split into windows.
MAX_DOCUMENTS = 1_000


def limits(model: str, config: ClientConfig) -> Limits:
    return Limits(max_documents=MAX_DOCUMENTS)


def validate(request: RerankRequest, config: ClientConfig) -> None:
    if request.max_tokens_per_doc is not None:
        raise InvalidRequestError(
            "voyage has no `max_tokens_per_doc`: it truncates each query+document pair to the "
            "model's context (turn that off with truncation=False); drop the argument",
            provider=SLUG,
        )
    if request.parameters is not None:
        raise InvalidRequestError(
            "voyage takes no `parameters` (model parameters are passed through only by "
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
        payload["top_k"] = min(request.top_n, len(request.documents))
    # `return_documents` is never sent, as Voyage's SDK never sends it: a returned document
    # is a bare string, and parse() fills documents from the request (every field) anyway.
    # Always sent, as Voyage's SDK sends it (``truncation: bool = True`` in voyageai 0.5
    # ``client.py``): the defaults rule, docs/providers.md.
    payload["truncation"] = DEFAULT_TRUNCATION if request.truncation is None else request.truncation
    return payload


def build(request: RerankRequest, config: ClientConfig) -> HttpCall:
    key = config.require_key()
    default = ATLAS_BASE_URL if key.startswith(ATLAS_KEY_PREFIX) else BASE_URL
    return HttpCall(
        method="POST",
        url=config.root(default) + PATH,
        headers=config.merged_headers(json_headers(Authorization=f"Bearer {key}")),
        body=json_body(body(request)),
    )


def parse(raw: RawResponse, request: RerankRequest) -> RerankResponse:
    return parse_token_billed(raw, request, SLUG, list_key="data")


def error(raw: RawResponse, request: RerankRequest) -> RerankError:
    # Voyage error bodies are {"detail": "..."} (VO-PY api_requestor); the others are fallbacks
    # for proxies in front of it.
    return standard_error(raw, SLUG, paths=("detail", "message", "error.message"))
