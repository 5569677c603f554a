"""IBM watsonx.ai text rerank, ``POST {url}/ml/v1/text/rerank?version=...``
(providers-more.md section 2).

Auth: the API key is exchanged at IBM IAM's token endpoint (a form POST with the API-key
grant) for a bearer token, cached process-wide per (token endpoint, key) and exchanged again
15 minutes before it expires (the ibm-watsonx-ai SDK's rule); sync and async calls share it
(``_tokens``). The key itself goes to the token endpoint only, never to the rerank endpoint.

Options: ``url`` (the region's endpoint, e.g. ``https://us-south.ml.cloud.ibm.com``; also
``base_url=`` or ``WATSONX_URL``), ``project_id`` or ``space_id`` (or ``WATSONX_PROJECT_ID`` /
``WATSONX_SPACE_ID``), ``iam_url`` (the token endpoint, for private clouds and tests; or
``WATSONX_IAM_URL``), ``version`` (the API version date; default the SDK's).

Unified fields: documents are ``inputs: [{"text"}]`` (objects rendered to text, with
``rank_fields`` as ``field: value`` lines); ``top_n`` is ``parameters.return_options.top_n``;
``max_tokens_per_doc`` is ``parameters.truncate_input_tokens`` (the only accepted
``parameters`` key, under its own name); ``truncation=True`` needs such a number (the model's
maximum is not known client-side), ``truncation=False`` is the service's default (over-long
input fails); ``priority`` is dropped. Documents are back-filled from the request. Scores are
raw (cross-encoder logits, may be negative); usage is ``input_token_count`` tokens.
"""

from __future__ import annotations

import base64
import json
import os
import re
from typing import Any
from urllib.parse import urlencode

from ..errors import AuthenticationError, InvalidRequestError, RerankError
from ..schema import RerankRequest, RerankResponse, checked_usage
from . import _tokens
from .base import (
    ClientConfig,
    HttpCall,
    RawResponse,
    checked_url,
    decode_json,
    decode_ranked,
    error_for_status,
    error_message,
    finish,
    integer,
    json_body,
    json_headers,
    loads_or_none,
    malformed,
    positive_seconds,
    render_texts,
    standard_error,
)

SLUG = "watsonx"
#: LiteLLM's first choice, then langchain-ibm's preferred name (providers-more.md 2.2).
ENV_KEYS = ("WATSONX_APIKEY", "WATSONX_API_KEY")
BASE_URL_ENV = ("WATSONX_URL",)
PROJECT_ENV = "WATSONX_PROJECT_ID"
SPACE_ENV = "WATSONX_SPACE_ID"
IAM_URL_ENV = "WATSONX_IAM_URL"
OPTIONS: frozenset[str] = frozenset({"url", "project_id", "space_id", "iam_url", "version"})

PATH = "/ml/v1/text/rerank"
#: The version the ibm-watsonx-ai SDK 1.8.1 sends (its ``utils/API_VERSION_PARAM``).
API_VERSION = "2026-10-14"
IAM_URL = "https://iam.cloud.ibm.com/identity/token"
IAM_GRANT = "urn:ibm:params:oauth:grant-type:apikey"
#: The SDK authenticates to IAM as the public default client "bx:bx" (``iam_auth.py``).
IAM_CLIENT = "Basic Yng6Yng="
#: The statuses the SDK retries (``RateLimitedRetryDecorator.DEFAULT_RETRY_STATUS_CODES``).
RETRYABLE_STATUS = frozenset({429, 503, 504, 520})
TRUNCATE_PARAMETER = "truncate_input_tokens"

_VERSION = re.compile(r"\d{4}-\d{2}-\d{2}")


# --- options ----------------------------------------------------------------------------------


def _text_option(config: ClientConfig, name: str, env: str | None = None) -> str | None:
    value = config.options.get(name)
    if value is None and env is not None:
        value = os.environ.get(env) or None
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise InvalidRequestError(
            f"watsonx option {name} must be a non-empty string, got {value!r}", provider=SLUG
        )
    return value


def service_url(config: ClientConfig) -> str:
    """The region's endpoint: ``url=``, else ``base_url=`` / ``WATSONX_URL``."""
    root = _text_option(config, "url") or config.base_url
    if not root:
        raise InvalidRequestError(
            "watsonx needs the endpoint of your region: pass url=... (e.g. "
            "'https://us-south.ml.cloud.ibm.com') or set WATSONX_URL",
            provider=SLUG,
        )
    return checked_url(root, SLUG, "the endpoint (url=)").rstrip("/")


def scope(config: ClientConfig) -> tuple[str, str]:
    """``("project_id", id)`` or ``("space_id", id)``: options first, then the variables
    (a project wins over a space there, as in the SDK's ``APIClient``)."""
    project = _text_option(config, "project_id")
    space = _text_option(config, "space_id")
    if project is not None and space is not None:
        raise InvalidRequestError(
            "watsonx takes project_id=... or space_id=..., not both", provider=SLUG
        )
    if project is None and space is None:
        project = _text_option(config, "project_id", PROJECT_ENV)
        space = None if project else _text_option(config, "space_id", SPACE_ENV)
    if project:
        return "project_id", project
    if space:
        return "space_id", space
    raise InvalidRequestError(
        f"watsonx needs a project or a deployment space: pass project_id=... or space_id=..., "
        f"or set {PROJECT_ENV} or {SPACE_ENV}",
        provider=SLUG,
    )


def _version(config: ClientConfig) -> str:
    version = _text_option(config, "version") or API_VERSION
    if not _VERSION.fullmatch(version):
        raise InvalidRequestError(
            f"watsonx version must be a date such as {API_VERSION!r}, got {version!r}",
            provider=SLUG,
        )
    return version


# --- validation and the request ---------------------------------------------------------------


def _truncate_tokens(request: RerankRequest) -> int | None:
    """``truncate_input_tokens`` from ``max_tokens_per_doc`` or ``parameters`` (the only
    parameter accepted), after checking they agree."""
    params = dict(request.parameters or {})
    from_params = params.pop(TRUNCATE_PARAMETER, None)
    if params:
        raise InvalidRequestError(
            f"watsonx accepts only parameters={{{TRUNCATE_PARAMETER!r}: N}}; unknown: "
            f"{sorted(params)}",
            provider=SLUG,
        )
    if from_params is not None and (
        isinstance(from_params, bool) or not isinstance(from_params, int) or from_params < 1
    ):
        raise InvalidRequestError(
            f"watsonx {TRUNCATE_PARAMETER} must be an integer >= 1, got {from_params!r}",
            provider=SLUG,
        )
    ours = request.max_tokens_per_doc
    if ours is not None and from_params is not None and ours != from_params:
        raise InvalidRequestError(
            f"watsonx: max_tokens_per_doc={ours} and parameters[{TRUNCATE_PARAMETER!r}]="
            f"{from_params} differ; pass one",
            provider=SLUG,
        )
    return ours if ours is not None else from_params


def validate(request: RerankRequest, config: ClientConfig) -> None:
    service_url(config)
    scope(config)
    _version(config)
    _text_option(config, "iam_url", IAM_URL_ENV)
    tokens = _truncate_tokens(request)
    if request.truncation and tokens is None:
        raise InvalidRequestError(
            "watsonx truncates only to a given number of tokens: pass max_tokens_per_doc=N "
            "with truncation=True (without truncation, over-long input is an error)",
            provider=SLUG,
        )
    if request.truncation is False and tokens is not None:
        raise InvalidRequestError(
            "watsonx: truncation=False contradicts a truncation length "
            "(max_tokens_per_doc / truncate_input_tokens); pass one of them",
            provider=SLUG,
        )
    if request.model.startswith("deployment/"):
        # Deployed models answer on other paths (UNCONFIRMED, providers-more.md 2.3).
        raise InvalidRequestError(
            "watsonx deployments ('deployment/...') are not supported; pass a model_id such "
            "as 'cross-encoder/ms-marco-minilm-l-12-v2'",
            provider=SLUG,
        )


def body(request: RerankRequest, config: ClientConfig) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "model_id": request.model,
        "query": request.query,
        "inputs": [{"text": text} for text in render_texts(request)],
    }
    parameters: dict[str, Any] = {}
    tokens = _truncate_tokens(request)
    if tokens is not None:
        parameters[TRUNCATE_PARAMETER] = tokens
    if request.top_n is not None:
        parameters["return_options"] = {"top_n": min(request.top_n, len(request.documents))}
    if parameters:
        payload["parameters"] = parameters
    name, value = scope(config)
    payload[name] = value
    return payload


def build(request: RerankRequest, config: ClientConfig) -> HttpCall:
    key = config.require_key()
    iam_url = checked_url(_text_option(config, "iam_url", IAM_URL_ENV) or IAM_URL, SLUG, "iam_url")
    return HttpCall(
        method="POST",
        url=f"{service_url(config)}{PATH}?version={_version(config)}",
        headers=config.merged_headers(json_headers()),
        body=json_body(body(request, config)),
        credentials=iam_token(key, iam_url),
    )


# --- the IAM token ----------------------------------------------------------------------------


def iam_token(key: str, iam_url: str) -> _tokens.TokenAuth:
    """The shared token source for this key at this token endpoint."""
    return _tokens.shared(
        (SLUG, iam_url, _tokens.fingerprint(key)),
        lambda: _tokens.TokenAuth(_tokens.HttpExchange(iam_call(key, iam_url), read_iam)),
    )


def iam_call(key: str, iam_url: str) -> HttpCall:
    """The exchange: the API key for an access token (form fields in the SDK's order)."""
    return HttpCall(
        method="POST",
        url=iam_url,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
            "Authorization": IAM_CLIENT,
        },
        body=urlencode({"apikey": key, "grant_type": IAM_GRANT}).encode(),
    )


def read_iam(raw: RawResponse) -> _tokens.Issued:
    """The bearer header and its lifetime from IAM's answer, or a typed error."""
    if not 200 <= raw.status_code < 300:
        raise iam_error(raw)
    answer = decode_json(raw, SLUG)
    token = answer.get("access_token") if isinstance(answer, dict) else None
    if not isinstance(token, str) or not token:
        raise malformed(SLUG, raw, "the IAM answer has no access_token")
    lifetime = positive_seconds(answer.get("expires_in"))
    if lifetime is None:
        lifetime = _jwt_lifetime(token, answer.get("expiration"))
    if lifetime is None:
        raise malformed(SLUG, raw, "the IAM answer says neither expires_in nor expiration")
    return _tokens.Issued({"Authorization": f"Bearer {token}"}, lifetime)


def _jwt_lifetime(token: str, expiration: Any) -> float | None:
    """Seconds from the token's issue to its expiry: ``expiration - iat`` (an IAM answer's
    absolute expiry, else the JWT's ``exp`` claim, which the SDK reads)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        expires = expiration if isinstance(expiration, (int, float)) else claims["exp"]
        lifetime = float(expires) - float(claims["iat"])
    except (IndexError, KeyError, TypeError, ValueError, OverflowError, RecursionError):
        return None
    return positive_seconds(lifetime)


def iam_error(raw: RawResponse) -> RerankError:
    body = loads_or_none(raw)
    message = error_message(body, ("errorMessage", "message", "error_description"))
    code = error_message(body, ("errorCode", "error"))
    text = f"IBM IAM token exchange failed: {message or f'HTTP {raw.status_code}'}"
    if 400 <= raw.status_code < 500 and raw.status_code != 429:
        # The SDK reads any 4xx from IAM as invalid credentials.
        return AuthenticationError(
            f"{text} (check WATSONX_APIKEY and the token endpoint)",
            provider=SLUG,
            status_code=raw.status_code,
            code=code,
        )
    return _with_sdk_retries(error_for_status(raw, provider=SLUG, message=text, code=code), raw)


# --- answers and errors -----------------------------------------------------------------------


def parse(raw: RawResponse, request: RerankRequest) -> RerankResponse:
    answer, results = decode_ranked(raw, SLUG, score_key="score")
    # The SDK re-sorts by score itself; finish() sorts and checks every index too.
    return finish(
        request,
        raw,
        results,
        provider=SLUG,
        score_key="score",
        model=answer.get("model_id"),
        usage=checked_usage(total_tokens=integer(answer.get("input_token_count"))),
    )


def error(raw: RawResponse, request: RerankRequest) -> RerankError:
    # {"errors": [{"code", "message", "more_info"}], "trace", "status_code"} (IBMJS vml_v1).
    body = loads_or_none(raw)
    errors = body.get("errors") if isinstance(body, dict) else None
    first = errors[0] if isinstance(errors, list) and errors else None
    message = error_message(first, ("message",))
    if message is None:  # not IBM's shape (a proxy, a gateway page): the generic reading
        return _with_sdk_retries(standard_error(raw, SLUG), raw)
    err = error_for_status(
        raw, provider=SLUG, message=message, code=error_message(first, ("code",))
    )
    return _with_sdk_retries(err, raw)


def _with_sdk_retries(err: RerankError, raw: RawResponse) -> RerankError:
    err.retryable = raw.status_code in RETRYABLE_STATUS
    return err
