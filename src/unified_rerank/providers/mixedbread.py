"""Mixedbread ``POST https://api.mixedbread.com/v1/reranking`` (providers.md section 8).

Key: ``MXBAI_API_KEY`` (what Mixedbread's SDK reads) or ``MIXEDBREAD_API_KEY``, as
``Authorization: Bearer``.

- Documents go as ``input``: strings (objects rendered to their ``text``), or with
  ``rank_fields`` the objects as given (strings as ``{"text": ...}``) plus ``rank_fields``,
  which Mixedbread reads natively (JMESPath-like field names).
- ``top_n`` is sent as ``top_k`` (capped at the document count); ``return_input`` is always
  ``false``: documents are back-filled from the request, with every field.
- Results come as ``data[{index, score}]``; scores are Mixedbread's (0..1 for its rerankers).
  Usage: ``usage.total_tokens``. The answer's fields (``data[{index, score, input?,
  object}]``, ``model``, ``usage{prompt_tokens, total_tokens, completion_tokens?}``,
  ``top_k``, ``return_input``, ``object``) are those of Mixedbread's SDK
  (``mixedbread/types/rerank_response.py``, mixedbread 0.54.0), checked on the wire by
  tests/conformance/test_sdk_wire.py. No per-request document limit is documented here.
- ``priority`` (a scheduling hint) is dropped; ``max_tokens_per_doc``, ``truncation`` and
  ``parameters`` have no confirmed equivalent and are rejected before sending.
"""

from __future__ import annotations

from typing import Any

from ..errors import RerankError
from ..schema import RerankRequest, RerankResponse
from .base import (
    ClientConfig,
    HttpCall,
    RawResponse,
    json_body,
    json_headers,
    parse_token_billed,
    standard_error,
)
from .together import documents, reject_unsupported

SLUG = "mixedbread"
ENV_KEYS = ("MXBAI_API_KEY", "MIXEDBREAD_API_KEY")
OPTIONS: frozenset[str] = frozenset()
#: The API ranks on named fields of object documents (the unified ``rank_fields``).
RANKS_FIELDS = True
BASE_URL = "https://api.mixedbread.com"
PATH = "/v1/reranking"


def validate(request: RerankRequest, config: ClientConfig) -> None:
    reject_unsupported(request, SLUG)


def body(request: RerankRequest) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "model": request.model,
        "query": request.query,
        "input": documents(request),
    }
    if request.rank_fields is not None:
        payload["rank_fields"] = list(request.rank_fields)
    if request.top_n is not None:
        payload["top_k"] = min(request.top_n, len(request.documents))
    payload["return_input"] = False
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
    return parse_token_billed(raw, request, SLUG, list_key="data", score_key="score")


def error(raw: RawResponse, request: RerankRequest) -> RerankError:
    # UNCONFIRMED error body shape: `detail` (FastAPI style), `message` or `error.message`.
    return standard_error(raw, SLUG, paths=("detail", "message", "error.message"))
