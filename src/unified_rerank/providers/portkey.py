"""A Portkey AI gateway's unified ``POST /v1/rerank`` (providers.md section 9).

Our unified request *is* Portkey's schema, so it is sent as it is (every field that is set),
to ``https://api.portkey.ai/v1/rerank`` or to a self-hosted gateway given as ``base_url``
(``{base_url}/v1/rerank``, or ``{base_url}/rerank`` when it already ends in ``/v1``).

Auth and routing are headers, set from client options:

- ``x-portkey-api-key``: ``api_key=`` or ``PORTKEY_API_KEY``; required for the hosted gateway,
  optional for a self-hosted one.
- ``portkey_provider`` -> ``x-portkey-provider`` (e.g. ``"cohere"``), with
  ``provider_api_key`` -> ``Authorization: Bearer <key>`` (a ``pydantic.SecretStr`` is
  accepted and keeps the key out of any repr); ``virtual_key`` -> ``x-portkey-virtual-key``;
  ``config`` -> ``x-portkey-config`` (a config id, or a dict sent as JSON).
- ``client_retries``: when the ``config`` carries the gateway's own ``retry`` (anywhere in it),
  the client does not retry answered failures on top of the gateway's, unless this is True.
  A gateway answer that the provider does not support rerank is never retried.
- Tracing: ``trace_id``, ``span_id``, ``parent_span_id``, ``span_name`` ->
  ``x-portkey-trace-id`` / ``-span-id`` / ``-parent-span-id`` / ``-span-name``; ``metadata``
  (a dict sent as JSON, or a JSON string) -> ``x-portkey-metadata``.

The answer is Portkey's unified response, re-checked by ``finish()`` (indices, scores, order,
``top_n``; documents back-filled from the request). Our response's ``provider`` is always
``"portkey"`` (the gateway we called), whichever upstream served it. Portkey reports every
upstream's usage as ``usage.search_units`` even where it is not one (section 9.3): tokens for
Voyage and Jina, rerank units for Pinecone, a ``ceil(n/100)`` estimate for Bedrock; the answer's
``provider`` field tells which, and the count is put back in the right unit here
(``total_tokens``, ``rerank_units``, or ``search_units`` with ``estimated``).
Scores are the upstream's own (no renormalisation). Limits are the upstream's, unknown here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import SecretStr

from ..errors import InvalidRequestError, RerankError
from ..schema import RerankRequest, RerankResponse, Usage, checked_usage
from .base import (
    ClientConfig,
    HttpCall,
    RawResponse,
    decode_ranked,
    finish,
    header_safe,
    integer,
    json_body,
    json_headers,
    number,
    standard_error,
)

SLUG = "portkey"
ENV_KEYS = ("PORTKEY_API_KEY",)
BASE_URL = "https://api.portkey.ai"

#: Client options whose value goes as is (a non-empty string) into a header.
STRING_HEADERS = {
    "portkey_provider": "x-portkey-provider",
    "virtual_key": "x-portkey-virtual-key",
    "trace_id": "x-portkey-trace-id",
    "span_id": "x-portkey-span-id",
    "parent_span_id": "x-portkey-parent-span-id",
    "span_name": "x-portkey-span-name",
}
#: Client options that may be a dict, sent as JSON.
JSON_HEADERS = {"config": "x-portkey-config", "metadata": "x-portkey-metadata"}
#: ``client_retries=True``: retry on top of a gateway config's own ``retry`` (off by default).
OPTIONS: frozenset[str] = frozenset(
    {*STRING_HEADERS, *JSON_HEADERS, "provider_api_key", "client_retries"}
)
#: What the open-source gateway (Portkey-AI/gateway 2.0.0) answers when a provider has no
#: handler for the call: ``GatewayError("rerank is not supported by <provider>")``, sent as a
#: 500 ``{"status": "failure", "message"}`` (``transformToProviderRequest.ts``,
#: ``handlerUtils.ts``). The same call fails the same way every time: not retried.
NOT_SUPPORTED = " is not supported by "

#: Where Portkey's ``usage.search_units`` really belongs, by the upstream that answered.
UPSTREAM_UNITS = {"voyage": "total_tokens", "jina": "total_tokens", "pinecone": "rerank_units"}


def _bad(name: str, value: Any, what: str) -> InvalidRequestError:
    shown = "<secret>" if name == "provider_api_key" else repr(value)[:80]
    return InvalidRequestError(
        f"portkey option `{name}` must be {what}, got {shown}", provider=SLUG
    )


def headers(config: ClientConfig) -> dict[str, str]:
    """Portkey's headers from the client options; raises on a malformed option."""
    opts = config.options
    key = config.optional_key() if config.base_url else config.require_key()
    own = json_headers()
    if key:
        own["x-portkey-api-key"] = key
    for name, header in STRING_HEADERS.items():
        value = opts.get(name)
        if value is None:
            continue
        if not isinstance(value, str) or not value:
            raise _bad(name, value, "a non-empty string")
        own[header] = _sendable(name, value)
    for name, header in JSON_HEADERS.items():
        value = opts.get(name)
        if value is None:
            continue
        if isinstance(value, Mapping):
            # ASCII JSON (non-ASCII as \u escapes), as the Portkey SDK's json.dumps sends it:
            # httpx sends str header values as ASCII.
            try:
                own[header] = json.dumps(dict(value), separators=(",", ":"), allow_nan=False)
            except (TypeError, ValueError):
                raise _bad(name, value, "a dict of JSON values") from None
        elif isinstance(value, str) and value:
            own[header] = _sendable(name, value)
        else:
            raise _bad(name, value, "a dict or a non-empty string")
    secret = opts.get("provider_api_key")
    if secret is not None:
        value = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
        if not isinstance(value, str) or not value:
            raise _bad("provider_api_key", secret, "a non-empty string")
        own["Authorization"] = f"Bearer {_sendable('provider_api_key', value)}"
    return config.merged_headers(own)


def _sendable(name: str, value: str) -> str:
    """``value`` if it can go in a header (printable ASCII or tabs: what httpx sends), else
    an ``InvalidRequestError`` before any I/O rather than an encoding error while sending."""
    if not header_safe(value):
        raise _bad(name, value, "printable ASCII text (no line breaks) to go in a header")
    return value


def validate(request: RerankRequest, config: ClientConfig) -> None:
    headers(config)
    client_retries(config)


def client_retries(config: ClientConfig) -> bool:
    value = config.options.get("client_retries", False)
    if not isinstance(value, bool):
        raise _bad("client_retries", value, "True or False")
    return value


def gateway_retries(config: ClientConfig) -> bool:
    """Whether the ``config`` option (a dict, or a JSON string) asks the gateway to retry, at
    its top level or in any target. A saved config's id cannot be read here: False."""
    value = config.options.get("config")
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return False
    return _has_retry(value)


def _has_retry(node: Any) -> bool:
    if isinstance(node, Mapping):
        return "retry" in node or any(_has_retry(v) for v in node.values())
    if isinstance(node, list):
        return any(_has_retry(v) for v in node)
    return False


def url(config: ClientConfig) -> str:
    root = config.root(BASE_URL)
    return root + ("/rerank" if root.endswith("/v1") else "/v1/rerank")


def body(request: RerankRequest) -> dict[str, Any]:
    """The unified request as Portkey's JSON: every field that is set."""
    payload = request.model_dump(exclude_none=True)
    priority = payload.get("priority")
    if isinstance(priority, float) and priority.is_integer():
        payload["priority"] = int(priority)  # 5, not 5.0: upstreams take integers
    return payload


def build(request: RerankRequest, config: ClientConfig) -> HttpCall:
    # A gateway that retries by its config answers only once it has given up: retrying on top
    # multiplies the upstream calls (3 client attempts x 3 gateway attempts = 9).
    stacked = gateway_retries(config) and not client_retries(config)
    return HttpCall(
        method="POST",
        url=url(config),
        headers=headers(config),
        body=json_body(body(request)),
        max_retries=0 if stacked else None,
    )


def usage_of(answer: Mapping[str, Any]) -> Usage:
    usage = answer.get("usage")
    units = number(usage.get("search_units")) if isinstance(usage, dict) else None
    if units is None:
        return checked_usage()
    upstream = answer.get("provider")
    field = UPSTREAM_UNITS.get(upstream) if isinstance(upstream, str) else None
    if field == "total_tokens":
        return checked_usage(total_tokens=integer(units))
    if field == "rerank_units":
        return checked_usage(rerank_units=units)
    if upstream == "bedrock":
        return checked_usage(search_units=units, estimated=True)
    return checked_usage(search_units=units)


def parse(raw: RawResponse, request: RerankRequest) -> RerankResponse:
    answer, results = decode_ranked(raw, SLUG)
    return finish(
        request,
        raw,
        results,
        provider=SLUG,
        model=answer.get("model"),
        response_id=answer.get("id"),
        usage=usage_of(answer),
    )


def error(raw: RawResponse, request: RerankRequest) -> RerankError:
    # {"error": {"message": "<upstream> error: ...", ...}, "provider"} for upstream failures
    # (status and Retry-After preserved); {"status": "failure", "message"} from the gateway.
    err = standard_error(raw, SLUG, paths=("error.message", "message", "detail"))
    if NOT_SUPPORTED in err.message:
        return InvalidRequestError(
            f"{err.message} (the gateway's provider has no rerank: choose another provider)",
            provider=SLUG,
            status_code=raw.status_code,
        )
    return err
