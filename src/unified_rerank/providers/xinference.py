"""Xorbits Inference (Xinference) ``POST {base_url}/v1/rerank`` (providers-more.md 6.2).

A self-hosted server: ``base_url`` (the server root, e.g. ``http://localhost:9997``; also
``XINFERENCE_ENDPOINT``, the variable Xinference's own command line reads) is required.
``model`` is the **model UID** the model was launched under (``xinference launch ...
--model-uid``; by default the model name), not a hub id. The key is optional and sent as
``Authorization: Bearer`` only when given (``api_key=`` or ``XINFERENCE_API_KEY``; the
official client takes the key as an argument and reads no variable, so that name is this
library's own).

- Body (the server's ``RerankRequest``): ``model``, ``query``, ``documents`` (strings;
  objects rendered to their ``text`` or ``rank_fields``), ``top_n`` when asked (capped at the
  document count), ``return_documents: false`` (documents are back-filled from the request).
- ``parameters``: ``return_len`` (``True`` makes the server count tokens: the usage) and
  ``max_chunks_per_doc`` go to the fields of those names; any other key goes, JSON-encoded,
  into the ``kwargs`` string the server passes to the model, as the official client sends its
  extra keyword arguments.
- ``max_tokens_per_doc`` and ``truncation`` have no equivalent: refused. ``priority`` is
  dropped.
- Answer: ``{"id", "results": [{"index", "relevance_score", "document"}], "meta": {"tokens":
  {"input_tokens", "output_tokens"} | null, ...}}``, sorted and cut by the server (checked
  again here). Usage: ``meta.tokens.input_tokens`` as ``total_tokens`` when the server counted
  them (``return_len``), else none. Scores: the model's (range model-dependent).
- Errors: FastAPI's ``{"detail": "..."}``. An unknown model UID is a 404 ("Model not found in
  the model list, uid: ..."), raised as an ``InvalidRequestError`` naming the UID; 503 while
  the model loads (``Retry-After: 30``) and 429 ("Rate limit reached") are retried, as are
  other 5xx. The official client retries nothing; this is the library's standard policy.
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import InvalidRequestError, RerankError
from ..schema import RerankRequest, RerankResponse, checked_usage
from .base import (
    ClientConfig,
    HttpCall,
    RawResponse,
    decode_ranked,
    error_message,
    finish,
    integer,
    json_body,
    loads_or_none,
    refuse_unsupported,
    render_texts,
    standard_error,
)
from .tei import bearer_headers

SLUG = "xinference"
ENV_KEYS = ("XINFERENCE_API_KEY",)
BASE_URL_ENV = ("XINFERENCE_ENDPOINT",)
OPTIONS: frozenset[str] = frozenset()
PATH = "/v1/rerank"
#: ``parameters`` keys that are fields of the server's request (with what they must be); the
#: rest travel in ``kwargs``.
FIELDS = {"return_len": bool, "max_chunks_per_doc": int}
_MUST_BE = {bool: "true or false", int: "an integer >= 1"}
OWN_FIELDS = frozenset({"model", "query", "documents", "top_n", "return_documents", "kwargs"})


def validate(request: RerankRequest, config: ClientConfig) -> None:
    config.root(None)
    refuse_unsupported(request, SLUG, ("max_tokens_per_doc", "truncation"), parameters=None)
    params = request.parameters or {}
    clash = sorted(OWN_FIELDS & set(params))
    if clash:
        raise InvalidRequestError(
            f"`parameters` cannot set {clash} for xinference: use the rerank arguments",
            provider=SLUG,
        )
    for name, kind in FIELDS.items():
        value = params.get(name)
        valid = type(value) is kind and not (isinstance(value, int) and kind is int and value < 1)
        if value is not None and not valid:
            raise InvalidRequestError(
                f"`{name}` for xinference must be {_MUST_BE[kind]}, got {value!r}",
                provider=SLUG,
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
    params = request.parameters or {}
    payload.update({k: v for k, v in params.items() if k in FIELDS})
    extra = {k: v for k, v in params.items() if k not in FIELDS}
    if extra:
        payload["kwargs"] = json.dumps(extra)  # as the official client encodes it
    return payload


def build(request: RerankRequest, config: ClientConfig) -> HttpCall:
    return HttpCall(
        method="POST",
        url=config.root(None) + PATH,
        headers=bearer_headers(config),
        body=json_body(body(request)),
    )


def parse(raw: RawResponse, request: RerankRequest) -> RerankResponse:
    answer, items = decode_ranked(raw, SLUG)
    meta = answer.get("meta")
    tokens = meta.get("tokens") if isinstance(meta, dict) else None
    count = integer(tokens.get("input_tokens")) if isinstance(tokens, dict) else None
    return finish(
        request,
        raw,
        items,
        provider=SLUG,
        response_id=answer.get("id"),
        usage=checked_usage(total_tokens=count),
    )


def error(raw: RawResponse, request: RerankRequest) -> RerankError:
    if raw.status_code == 404:
        detail = error_message(loads_or_none(raw), ("detail",)) or "model not found"
        return InvalidRequestError(
            f"xinference has no running model with UID {request.model!r} ({detail}); `model` "
            "must be the UID the model was launched under (see `xinference list`)",
            provider=SLUG,
            status_code=404,
        )
    return standard_error(raw, SLUG, paths=("detail", "message", "error"))
