"""Hugging Face Text Embeddings Inference ``POST {base_url}/rerank`` (providers.md section 7.1).

A self-hosted engine: ``base_url`` (the server root, e.g. ``http://localhost:8080``) is
required; the key is optional and sent as ``Authorization: Bearer`` only when given
(``api_key=`` or ``TEI_API_KEY``, matching the server's ``--api-key``).

- Documents go as ``texts`` (strings; objects rendered to their ``text`` or ``rank_fields``).
  ``return_text`` is never sent: returned documents are back-filled from the request, so the
  caller's objects come back with every field and answers stay small.
- TEI has no ``top_n`` and no ``model`` (one model per server): it scores every text and
  ``finish()`` cuts to ``top_n`` client-side; the response's ``model`` is the request's.
- ``truncation`` maps to ``truncate`` (unset: the server's ``--auto-truncate``, default on).
- ``raw_scores``: the client option ``raw_scores=True`` or ``parameters={"raw_scores": True}``
  (which wins). Default scores are probabilities (sigmoid of the model's logit, 0..1); raw
  scores are the unbounded logits. ``parameters`` may also hold ``truncation_direction``
  (``"Left"``/``"Right"``); other keys are rejected before sending.
- Limits: a call holds at most the server's ``--max-client-batch-size`` texts (default 32);
  larger calls are split into windows of the client option ``max_batch_size`` (default 32).
- Usage: TEI puts none in the body; ``x-compute-tokens`` gives ``usage.total_tokens``.
- ``priority`` is a Cohere scheduling hint with no TEI equivalent: dropped.
  ``max_tokens_per_doc`` cannot be honoured (TEI truncates to the model's length): rejected.
"""

from __future__ import annotations

from typing import Any

from ..errors import AuthenticationError, InvalidRequestError, RateLimitError, RerankError
from ..schema import RerankRequest, RerankResponse, checked_usage
from .base import (
    ClientConfig,
    HttpCall,
    Limits,
    RawResponse,
    decode_ranked,
    error_for_status,
    finish,
    json_body,
    json_headers,
    loads_or_none,
    render_texts,
    retry_after_seconds,
)

SLUG = "tei"
ENV_KEYS = ("TEI_API_KEY",)
OPTIONS: frozenset[str] = frozenset({"max_batch_size", "raw_scores"})
PATH = "/rerank"

#: TEI's default ``--max-client-batch-size``.
DEFAULT_MAX_BATCH_SIZE = 32
PARAMETERS = frozenset({"raw_scores", "truncation_direction"})
DIRECTIONS = {"left": "Left", "right": "Right"}


def positive_int_option(config: ClientConfig, name: str, default: int, provider: str) -> int:
    value = config.options.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidRequestError(
            f"{provider} option `{name}` must be an integer >= 1, got {value!r}",
            provider=provider,
        )
    return value


def bool_setting(request: RerankRequest, config: ClientConfig, name: str, provider: str) -> Any:
    """``parameters[name]`` if given, else the client option ``name``; a bool or None."""
    params = request.parameters or {}
    value = params[name] if name in params else config.options.get(name)
    if value is not None and not isinstance(value, bool):
        raise InvalidRequestError(
            f"`{name}` for {provider} must be true or false, got {value!r}", provider=provider
        )
    return value


def limits(model: str, config: ClientConfig) -> Limits:
    return Limits(
        max_documents=positive_int_option(config, "max_batch_size", DEFAULT_MAX_BATCH_SIZE, SLUG)
    )


def validate(request: RerankRequest, config: ClientConfig) -> None:
    config.root(None)
    positive_int_option(config, "max_batch_size", DEFAULT_MAX_BATCH_SIZE, SLUG)
    bool_setting(request, config, "raw_scores", SLUG)
    if request.max_tokens_per_doc is not None:
        raise InvalidRequestError(
            "tei has no `max_tokens_per_doc`: it truncates to the model's maximum length "
            "(truncation=True/False); drop the argument",
            provider=SLUG,
        )
    params = request.parameters or {}
    unknown = sorted(set(params) - PARAMETERS)
    if unknown:
        raise InvalidRequestError(
            f"tei does not take parameters {unknown}; it takes {sorted(PARAMETERS)}",
            provider=SLUG,
        )
    direction = params.get("truncation_direction")
    if direction is not None and (
        not isinstance(direction, str) or direction.lower() not in DIRECTIONS
    ):
        raise InvalidRequestError(
            f"`truncation_direction` for tei must be 'Left' or 'Right', got {direction!r}",
            provider=SLUG,
        )


def body(request: RerankRequest, config: ClientConfig) -> dict[str, Any]:
    payload: dict[str, Any] = {"query": request.query, "texts": render_texts(request)}
    if request.truncation is not None:
        payload["truncate"] = request.truncation
    direction = (request.parameters or {}).get("truncation_direction")
    if isinstance(direction, str):
        payload["truncation_direction"] = DIRECTIONS[direction.lower()]
    raw_scores = bool_setting(request, config, "raw_scores", SLUG)
    if raw_scores is not None:
        payload["raw_scores"] = raw_scores
    return payload


def bearer_headers(config: ClientConfig) -> dict[str, str]:
    """JSON headers, with ``Authorization: Bearer`` only when a key was given."""
    key = config.optional_key()
    own = json_headers(Authorization=f"Bearer {key}") if key else json_headers()
    return config.merged_headers(own)


def build(request: RerankRequest, config: ClientConfig) -> HttpCall:
    return HttpCall(
        method="POST",
        url=config.root(None) + PATH,
        headers=bearer_headers(config),
        body=json_body(body(request, config)),
    )


def parse(raw: RawResponse, request: RerankRequest) -> RerankResponse:
    # A bare list [{"index", "score", "text"?}].
    _, answer = decode_ranked(raw, SLUG, list_key=None, score_key="score")
    tokens = raw.header("x-compute-tokens")
    return finish(
        request,
        raw,
        answer,
        provider=SLUG,
        score_key="score",
        usage=checked_usage(total_tokens=token_count(tokens)),
    )


def token_count(header: str | None) -> int | None:
    """The ``x-compute-tokens`` count: ASCII digits only (``str.isdigit`` also accepts ``²``,
    which ``int`` refuses); anything else is no count."""
    if header and header.isascii() and header.isdigit():
        return int(header)
    return None


def error(raw: RawResponse, request: RerankRequest) -> RerankError:
    body = loads_or_none(raw)
    message = body.get("error") if isinstance(body, dict) else None
    kind = body.get("error_type") if isinstance(body, dict) else None
    code = kind if isinstance(kind, str) else None
    if not isinstance(message, str) or not message:
        message = raw.content[:300].decode("utf-8", "replace") if raw.content else None
    if raw.status_code == 401 and not message:
        return AuthenticationError(
            "tei refused the request (401): the server was started with --api-key; pass "
            "api_key=... or set TEI_API_KEY",
            provider=SLUG,
            status_code=401,
        )
    # UNCONFIRMED casing on the wire ("Overloaded" vs "overloaded"): compared case-insensitively.
    if code is not None and code.lower() == "overloaded":
        return RateLimitError(
            message or "tei is overloaded",
            provider=SLUG,
            status_code=raw.status_code,
            code=code,
            retry_after=retry_after_seconds(raw.headers),
        )
    return error_for_status(raw, provider=SLUG, message=message, code=code)
