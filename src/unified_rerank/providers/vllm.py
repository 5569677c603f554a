"""vLLM ``POST {base_url}/rerank`` (providers.md section 7.3).

A self-hosted engine: ``base_url`` is required; the key is optional and sent as
``Authorization: Bearer`` only when given (``api_key=`` or ``VLLM_API_KEY``, matching the
server's ``--api-key``; the header form is UNCONFIRMED in vLLM's source, it is the
OpenAI-compatible server's convention).

URL rule: ``base_url`` is the server root and ``/rerank`` is appended, so
``http://host:8000`` gives ``/rerank`` and an OpenAI-style ``http://host:8000/v1`` gives
``/v1/rerank``; a ``base_url`` that already ends in ``/rerank`` (``/v1/rerank``,
``/v2/rerank``) is used as it is. All three routes run the same handler.

- Body: ``model``, ``query``, ``documents`` (strings; objects rendered to their ``text`` or
  ``rank_fields``), ``top_n`` only when asked (capped at the document count). It is never sent
  as ``0`` (vLLM's "all"): leaving it out means the same and reads clearer.
- vLLM always returns documents; they are back-filled from the request anyway (the caller's
  objects, with every field).
- ``truncation=True`` sends ``truncate_prompt_tokens: -1`` (cut each query+document prompt to
  the model's maximum length); unset or ``False`` sends nothing, and vLLM then refuses
  over-long prompts.
- ``parameters`` are merged into the body as extra fields, since vLLM's request model accepts
  (and, for unknown ones, ignores with a logged warning) extra fields: e.g.
  ``{"truncate_prompt_tokens": 512}``, ``{"use_activation": false}`` for raw logits. They
  cannot override the fields above.
- ``max_tokens_per_doc`` is rejected: whether vLLM honours a field of that name is UNCONFIRMED
  (LiteLLM forwards one; the vLLM protocol read has only ``truncate_prompt_tokens``, which counts
  query+document tokens). Pass ``parameters={"truncate_prompt_tokens": N}`` instead.
- ``priority`` is sent as vLLM's own ``priority`` (an integer; lower runs earlier; a non-zero
  value needs a server started with priority scheduling).
- Scores: the model's activation (a sigmoid probability, 0..1, for single-logit
  cross-encoders). Usage: ``usage.total_tokens``. No per-request document limit is documented.
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
    parse_token_billed,
    render_texts,
    standard_error,
)
from .tei import bearer_headers

SLUG = "vllm"
ENV_KEYS = ("VLLM_API_KEY",)
OPTIONS: frozenset[str] = frozenset()
PATH = "/rerank"
OWN_FIELDS = frozenset({"model", "query", "documents", "top_n", "priority"})


def url(config: ClientConfig) -> str:
    root = config.root(None)
    return root if root.endswith(PATH) else root + PATH


def validate(request: RerankRequest, config: ClientConfig) -> None:
    config.root(None)
    if request.max_tokens_per_doc is not None:
        raise InvalidRequestError(
            "vllm has no confirmed `max_tokens_per_doc`; pass "
            "parameters={'truncate_prompt_tokens': N} (query+document tokens) instead",
            provider=SLUG,
        )
    p = request.priority
    if p is not None and not float(p).is_integer():
        raise InvalidRequestError(
            f"`priority` must be an integer for vllm, got {p!r}", provider=SLUG
        )
    clash = sorted(OWN_FIELDS & set(request.parameters or {}))
    if clash:
        raise InvalidRequestError(
            f"`parameters` cannot set {clash} for vllm: use the rerank arguments",
            provider=SLUG,
        )


def body(request: RerankRequest) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "model": request.model,
        "query": request.query,
        "documents": render_texts(request),
    }
    if request.top_n is not None:
        payload["top_n"] = min(request.top_n, len(request.documents))
    if request.truncation:
        payload["truncate_prompt_tokens"] = -1
    if request.priority is not None:
        payload["priority"] = int(request.priority)
    for name, value in (request.parameters or {}).items():
        payload[name] = value
    return payload


def build(request: RerankRequest, config: ClientConfig) -> HttpCall:
    return HttpCall(
        method="POST",
        url=url(config),
        headers=bearer_headers(config),
        body=json_body(body(request)),
    )


def parse(raw: RawResponse, request: RerankRequest) -> RerankResponse:
    return parse_token_billed(raw, request, SLUG)


def error(raw: RawResponse, request: RerankRequest) -> RerankError:
    # Current: {"error": {"message", "type", "param", "code"}}; older releases: the flat
    # {"object": "error", "message", "type", "param", "code"} (vllm#20877). Both are read.
    return standard_error(
        raw, SLUG, paths=("error.message", "message", "detail"), code_paths=("error.type", "type")
    )
