"""Alibaba Cloud DashScope (Model Studio) text rerank,
``POST {base_url}/services/rerank/text-rerank/text-rerank`` (providers-more.md section 5).

Key: ``DASHSCOPE_API_KEY`` as ``Authorization: Bearer``. ``base_url`` is the native API root
including ``/api/v1``, as the ``dashscope`` SDK takes it (``DASHSCOPE_BASE_URL``, or the 1.x
``DASHSCOPE_HTTP_BASE_URL``). Without one the root follows the SDK's rule:

- option ``workspace`` (or ``DASHSCOPE_WORKSPACE``, 1.x ``DASHSCOPE_WORKSPACE_ID``) set: the
  workspace gateway ``https://{workspace}.{region}.maas.aliyuncs.com/api/v1``;
- otherwise the shared gateway of the region (``https://dashscope.aliyuncs.com/api/v1`` for
  ``cn-beijing``, ``https://dashscope-intl.aliyuncs.com/api/v1`` for the international ones).

``region`` (option or ``DASHSCOPE_REGION``; default ``cn-beijing``) is one of the SDK's six. A
workspace is also sent as the ``X-DashScope-WorkSpace`` header, whatever the root.

- Body: ``{"model", "input": {"query", "documents"}, "parameters": {...}}``. Documents are
  strings (objects rendered to their ``text``, or the ``rank_fields`` as ``field: value``
  lines); ``top_n`` when asked; ``return_documents: false`` (documents are back-filled from the
  request). ``parameters`` are merged into ``parameters`` as the SDK merges them (e.g.
  ``{"instruct": "..."}`` for qwen3-rerank); they cannot override ``top_n`` or
  ``return_documents``.
- The service truncates each query and document at 4,000 tokens itself (Alibaba's docs):
  ``truncation=True`` is therefore dropped, ``truncation=False`` and ``max_tokens_per_doc``
  are refused. ``priority`` is dropped.
- Answer: ``{"output": {"results": [{"index", "relevance_score"}]}, "usage": {"total_tokens"},
  "request_id"}``; usage is tokens. An answer whose body carries a non-empty ``code`` is an
  error even with HTTP 200 (the SDK's two-layer check), never a ranking.
- Errors: ``{"request_id", "code", "message"}``; the class comes from ``code`` (the SDK's
  table), else from the HTTP status. Retryable exactly as the SDK retries: 408, 409, 429, 500,
  502, 503, 504, overridden by ``x-should-retry: true|false``; a business error on HTTP 200 is
  not retried (nor is it by the SDK) unless that header says so.
- Limits: 500 documents per request (gte-rerank-v2 and qwen3-rerank, Alibaba's docs); the
  per-request token caps (30,000 / 120,000) are not checked client-side.
"""

from __future__ import annotations

import os
import re
from typing import Any

from ..errors import (
    AuthenticationError,
    InvalidRequestError,
    ProviderError,
    RateLimitError,
    RerankError,
)
from ..schema import RerankRequest, RerankResponse, checked_usage
from .base import (
    ClientConfig,
    HttpCall,
    Limits,
    RawResponse,
    bearer_post,
    decode_json,
    error_for_status,
    error_message,
    field_of,
    finish,
    integer,
    loads_or_none,
    render_texts,
    retry_after_seconds,
    retry_as_sdk,
)

SLUG = "dashscope"
ENV_KEYS = ("DASHSCOPE_API_KEY",)
#: 2.x's variable, then 1.x's; both hold the root with ``/api/v1``.
BASE_URL_ENV = ("DASHSCOPE_BASE_URL", "DASHSCOPE_HTTP_BASE_URL")
WORKSPACE_ENV = ("DASHSCOPE_WORKSPACE", "DASHSCOPE_WORKSPACE_ID")
REGION_ENV = "DASHSCOPE_REGION"
OPTIONS: frozenset[str] = frozenset({"workspace", "region"})

PATH = "/services/rerank/text-rerank/text-rerank"
API_ROOT = "/api/v1"
WORKSPACE_HEADER = "X-DashScope-WorkSpace"
WORKSPACE_GATEWAY = "https://{workspace}.{region}.maas.aliyuncs.com"
DEFAULT_REGION = "cn-beijing"
#: The SDK's shared gateway per region (``LEGACY_GATEWAY_HOSTS``).
SHARED_GATEWAYS = {
    "cn-beijing": "https://dashscope.aliyuncs.com",
    "ap-southeast-1": "https://dashscope-intl.aliyuncs.com",
    "cn-hongkong": "https://cn-hongkong.dashscope.aliyuncs.com",
    "us-east-1": "https://dashscope-intl.aliyuncs.com",
    "eu-central-1": "https://dashscope-intl.aliyuncs.com",
    "ap-northeast-1": "https://dashscope-intl.aliyuncs.com",
}
#: The 1.x SDK's workspace id check; the id becomes part of a host name.
_WORKSPACE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
MAX_DOCUMENTS = 500
OWN_PARAMETERS = frozenset({"top_n", "return_documents"})
#: The SDK's ``RETRYABLE_STATUS_CODES``.
RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})
#: Wire codes to error classes, as the SDK's ``_WIRE_TO_PUBLIC`` crosswalk sorts them.
CODE_ERRORS: dict[str, type[RerankError]] = {
    "InvalidApiKey": AuthenticationError,
    "AccessDenied": AuthenticationError,
    "AccessDenied.Unpurchased": AuthenticationError,
    "Arrearage": AuthenticationError,  # a refusal (account in arrears), not a quota
    "InvalidParameter": InvalidRequestError,
    "Model.NotExist": InvalidRequestError,
    "DataInspectionFailed": InvalidRequestError,
    "Throttling": RateLimitError,
    "Throttling.RateQuota": RateLimitError,
    "Throttling.AllocationQuota": RateLimitError,
    "InternalError": ProviderError,
    "ServiceUnavailable": ProviderError,
    "GatewayTimeout": ProviderError,
}


# --- options ----------------------------------------------------------------------------------


def _setting(config: ClientConfig, name: str, env: tuple[str, ...]) -> str | None:
    value = config.options.get(name)
    if value is None:
        value = next((os.environ[v] for v in env if os.environ.get(v)), None)
    if value is not None and (not isinstance(value, str) or not value):
        raise InvalidRequestError(
            f"dashscope option `{name}` must be a non-empty string, got {value!r}", provider=SLUG
        )
    return value


def workspace(config: ClientConfig) -> str | None:
    value = _setting(config, "workspace", WORKSPACE_ENV)
    if value is not None and not _WORKSPACE.fullmatch(value):
        raise InvalidRequestError(
            f"dashscope workspace id {value!r} is not a workspace id (letters, digits, '-', '_')",
            provider=SLUG,
        )
    return value


def region(config: ClientConfig) -> str:
    value = _setting(config, "region", (REGION_ENV,)) or DEFAULT_REGION
    if value not in SHARED_GATEWAYS:
        raise InvalidRequestError(
            f"dashscope region {value!r} is not one of {sorted(SHARED_GATEWAYS)}", provider=SLUG
        )
    return value


def root(config: ClientConfig) -> str:
    """``base_url``, else the workspace gateway, else the region's shared gateway (+/api/v1)."""
    if config.base_url:
        return config.root(None)
    space, where = workspace(config), region(config)
    host = WORKSPACE_GATEWAY.format(workspace=space, region=where) if space else None
    return (host or SHARED_GATEWAYS[where]) + API_ROOT


# --- request ----------------------------------------------------------------------------------


def limits(model: str, config: ClientConfig) -> Limits:
    return Limits(max_documents=MAX_DOCUMENTS)


def validate(request: RerankRequest, config: ClientConfig) -> None:
    root(config)
    if request.max_tokens_per_doc is not None:
        raise InvalidRequestError(
            "dashscope has no `max_tokens_per_doc`: it truncates every document at 4,000 "
            "tokens itself; drop the argument",
            provider=SLUG,
        )
    if request.truncation is False:
        raise InvalidRequestError(
            "dashscope cannot refuse over-long input (truncation=False): it always truncates "
            "at 4,000 tokens; leave `truncation` unset",
            provider=SLUG,
        )
    clash = sorted(OWN_PARAMETERS & set(request.parameters or {}))
    if clash:
        raise InvalidRequestError(
            f"`parameters` cannot set {clash} for dashscope: use the rerank arguments",
            provider=SLUG,
        )


def body(request: RerankRequest) -> dict[str, Any]:
    parameters: dict[str, Any] = {"return_documents": False}
    if request.top_n is not None:
        parameters["top_n"] = request.top_n
    parameters.update(request.parameters or {})
    return {
        "model": request.model,
        "input": {"query": request.query, "documents": render_texts(request)},
        "parameters": parameters,
    }


def build(request: RerankRequest, config: ClientConfig) -> HttpCall:
    space = workspace(config)
    extra = {WORKSPACE_HEADER: space} if space else None
    return bearer_post(config, root(config) + PATH, body(request), extra)


# --- answers ----------------------------------------------------------------------------------


def parse(raw: RawResponse, request: RerankRequest) -> RerankResponse:
    answer = decode_json(raw, SLUG)
    if isinstance(answer, dict) and answer.get("code"):
        raise error(raw, request)  # HTTP 200 with a business error: never a ranking
    results = field_of(field_of(answer, "output", SLUG, raw), "results", SLUG, raw)
    usage = answer.get("usage")
    return finish(
        request,
        raw,
        results,
        provider=SLUG,
        response_id=answer.get("request_id"),
        usage=checked_usage(
            total_tokens=integer(usage.get("total_tokens")) if isinstance(usage, dict) else None
        ),
    )


def error(raw: RawResponse, request: RerankRequest) -> RerankError:
    body = loads_or_none(raw)
    code = error_message(body, ("code", "error.code"))
    message = error_message(body, ("message", "error.message"))
    if message is None and raw.content and body is None:
        message = raw.content[:300].decode("utf-8", "replace")
    cls = CODE_ERRORS.get(code or "")
    if cls is None:
        err = error_for_status(raw, provider=SLUG, message=message, code=code)
        if raw.status_code < 400:  # an unknown business code on a 2xx
            err = ProviderError(
                message or f"error code {code}",
                provider=SLUG,
                status_code=raw.status_code,
                code=code,
            )
        return retry_as_sdk(err, raw, RETRYABLE_STATUS, should_retry_header=True)
    text = message or f"DashScope error {code}"
    kwargs: dict[str, Any] = {"provider": SLUG, "status_code": raw.status_code, "code": code}
    if cls is RateLimitError:
        err = RateLimitError(text, retry_after=retry_after_seconds(raw.headers), **kwargs)
    else:
        err = cls(text, **kwargs)
    return retry_as_sdk(err, raw, RETRYABLE_STATUS, should_retry_header=True)
