"""Pinecone Inference ``POST /rerank`` (providers.md section 4).

Pinecone takes documents as objects only: strings are wrapped as ``{"text": s}``, objects are
sent with all their fields, and ``rank_fields`` / ``parameters`` pass through untouched.
``return_documents`` and ``rank_fields`` (``["text"]`` unless given) are always sent, as
Pinecone's SDK sends them (and Pinecone's ``return_documents`` default, true, differs from the
unified one). Results come under ``data`` with a ``score``; usage is
``usage.rerank_units`` (its own unit, kept apart from search units and tokens). Errors are
``{"error": {"code", "message"}, "status"}`` and the ``code`` is kept on the raised error.

Unified fields mapped or refused:

- ``truncation``: becomes ``parameters.truncate`` (``"END"`` / ``"NONE"``) for the models that
  have that parameter (``bge-reranker-v2-m3``, ``pinecone-rerank-v0``; PC-GUIDE); refused for
  other models, whose parameters differ (pass them in ``parameters=`` instead).
- ``max_tokens_per_doc``: becomes ``parameters.max_tokens_per_doc`` for
  ``cohere-rerank-4-fast`` (PC-GUIDE, newer mirror only: UNCONFIRMED); refused for others.
- ``priority``: a Cohere scheduling hint that never changes a ranking; dropped.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import InvalidRequestError, RerankError
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
    standard_error,
)

SLUG = "pinecone"
ENV_KEYS = ("PINECONE_API_KEY",)
#: ``api_version="2026-04"`` overrides the ``X-Pinecone-Api-Version`` header.
OPTIONS = frozenset({"api_version"})
#: The API ranks on named fields of object documents (the unified ``rank_fields``).
RANKS_FIELDS = True
BASE_URL = "https://api.pinecone.io"
PATH = "/rerank"
#: The header is required by the spec. The default is the version Pinecone's own SDK sends:
#: ``INFERENCE_API_VERSION = "2026-07"`` in ``pinecone/_internal/constants.py`` (pinecone
#: 10.2.0; checked on the wire by tests/conformance/test_sdk_wire.py).
DEFAULT_API_VERSION = "2026-07"
#: What the SDK scores on when no ``rank_fields`` is given, and sends on every call.
DEFAULT_RANK_FIELDS = ("text",)
_API_VERSION = re.compile(r"\d{4}-\d{2}")

#: Documents per request, per model (PC-GUIDE "Reranking models" table).
MODEL_MAX_DOCUMENTS = {
    "bge-reranker-v2-m3": 100,
    "pinecone-rerank-v0": 100,
    "cohere-rerank-3.5": 200,
    # UNCONFIRMED: read only in a third-party mirror of Pinecone's guide (providers.md 4.3).
    "cohere-rerank-4-fast": 250,
}
#: For a model not in the table, the smallest documented limit: splitting a call into more
#: windows costs extra requests but always succeeds, while guessing too high would make every
#: large call fail with a 400.
UNKNOWN_MODEL_MAX_DOCUMENTS = 100

#: Models with a ``truncate`` parameter (``END`` | ``NONE``) (PC-GUIDE).
TRUNCATE_MODELS = frozenset({"bge-reranker-v2-m3", "pinecone-rerank-v0"})
#: Models with a ``max_tokens_per_doc`` parameter (PC-GUIDE newer mirror; UNCONFIRMED).
MAX_TOKENS_MODELS = frozenset({"cohere-rerank-4-fast"})


def limits(model: str, config: ClientConfig) -> Limits:
    return Limits(max_documents=MODEL_MAX_DOCUMENTS.get(model, UNKNOWN_MODEL_MAX_DOCUMENTS))


def api_version(config: ClientConfig) -> str:
    version = config.options.get("api_version", DEFAULT_API_VERSION)
    if not isinstance(version, str) or not _API_VERSION.fullmatch(version):
        raise InvalidRequestError(
            f"pinecone api_version must look like '2025-10' (YYYY-MM), got {version!r}",
            provider=SLUG,
        )
    return version


def validate(request: RerankRequest, config: ClientConfig) -> None:
    api_version(config)
    model_parameters(request)


def model_parameters(request: RerankRequest) -> dict[str, Any] | None:
    """``parameters`` with ``truncation`` / ``max_tokens_per_doc`` mapped in, where the model
    has an equivalent; an ``InvalidRequestError`` where it has none or they conflict."""
    params = dict(request.parameters) if request.parameters is not None else None
    model = request.model
    if request.truncation is not None:
        if model not in TRUNCATE_MODELS:
            raise InvalidRequestError(
                f"pinecone model {model!r} has no truncate parameter for `truncation` "
                f"(only {sorted(TRUNCATE_MODELS)} do); pass the model's own settings in "
                "parameters=... instead",
                provider=SLUG,
            )
        params = _merge(params, "truncate", "END" if request.truncation else "NONE")
    if request.max_tokens_per_doc is not None:
        if model not in MAX_TOKENS_MODELS:
            raise InvalidRequestError(
                f"pinecone model {model!r} takes no `max_tokens_per_doc` (only "
                f"{sorted(MAX_TOKENS_MODELS)} do); pass the model's own settings in "
                "parameters=... instead",
                provider=SLUG,
            )
        params = _merge(params, "max_tokens_per_doc", request.max_tokens_per_doc)
    return params


def _merge(params: dict[str, Any] | None, name: str, value: Any) -> dict[str, Any]:
    params = {} if params is None else params
    if name in params and params[name] != value:
        raise InvalidRequestError(
            f"pinecone: parameters[{name!r}]={params[name]!r} conflicts with the unified "
            f"argument that maps to {value!r}; give only one of them",
            provider=SLUG,
        )
    params[name] = value
    return params


def body(request: RerankRequest) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "model": request.model,
        "query": request.query,
        "documents": [request.document_object(i) for i in range(len(request.documents))],
    }
    # Both always sent, as the SDK sends them (the defaults rule, docs/providers.md): the
    # SDK's rank_fields default is ["text"], and return_documents' default (true) differs
    # from the unified one. How many fields a model takes is model-specific (bge and
    # pinecone-rerank-v0 take one); a 400 for too many surfaces as InvalidRequestError.
    payload["rank_fields"] = list(request.rank_fields or DEFAULT_RANK_FIELDS)
    payload["return_documents"] = request.return_documents
    if request.top_n is not None:
        # Capped at the document count, as batching windows are: the same answer either way.
        payload["top_n"] = min(request.top_n, len(request.documents))
    params = model_parameters(request)
    if params is not None:
        payload["parameters"] = params
    return payload


def build(request: RerankRequest, config: ClientConfig) -> HttpCall:
    key = config.require_key()
    headers = json_headers(**{"Api-Key": key, "X-Pinecone-Api-Version": api_version(config)})
    return HttpCall(
        method="POST",
        url=config.root(BASE_URL) + PATH,
        headers=config.merged_headers(headers),
        body=json_body(body(request)),
    )


def parse(raw: RawResponse, request: RerankRequest) -> RerankResponse:
    answer, data = decode_ranked(raw, SLUG, list_key="data", score_key="score")
    usage = answer.get("usage")
    units = number(usage.get("rerank_units")) if isinstance(usage, dict) else None
    # `model` is required by the spec but missing from the docs' own example: optional here.
    return finish(
        request,
        raw,
        data,
        provider=SLUG,
        score_key="score",
        model=answer.get("model"),
        usage=checked_usage(rerank_units=units),
    )


def error(raw: RawResponse, request: RerankRequest) -> RerankError:
    return standard_error(
        raw, SLUG, paths=("error.message", "message", "detail"), code_paths=("error.code",)
    )
