"""AWS Bedrock (providers.md section 5): two APIs, chosen by the model.

- A model ARN (``arn:aws:bedrock:REGION::foundation-model/cohere.rerank-v3-5:0``,
  ``.../amazon.rerank-v1:0`` or any other rerank model ARN) goes to the Agents for Bedrock
  Runtime ``Rerank`` operation, ``POST https://bedrock-agent-runtime.{region}.amazonaws.com
  /rerank`` (5.1). A bare model id other than ``cohere.*`` (``amazon.rerank-v1:0``) goes there
  too, as the foundation-model ARN of the region.
- A ``cohere.*`` model id (``cohere.rerank-v3-5:0``) goes to Bedrock Runtime ``InvokeModel``,
  ``POST https://bedrock-runtime.{region}.amazonaws.com/model/{modelId}/invoke`` (5.2), with
  the Cohere v2 body minus ``model`` plus ``"api_version": 2``.

Auth: SigV4 (signing name ``bedrock``) with botocore's credential chain, signed again before
every attempt (see ``_aws``); or, for ``InvokeModel`` only, a Bedrock API key sent as
``Authorization: Bearer`` (``api_key=`` or ``AWS_BEARER_TOKEN_BEDROCK``). Explicit SigV4
options (``aws_access_key_id``, ``profile``) win over an API key.

Unified fields, per API:

- Agent runtime: string documents are ``TEXT`` sources, objects ``JSON`` sources (with
  ``rank_fields``, only those fields are sent); ``top_n`` is ``numberOfResults``;
  ``max_tokens_per_doc`` goes to ``additionalModelRequestFields`` for Cohere models only
  (rejected for others); ``parameters`` are ``additionalModelRequestFields``; texts over 32,000
  characters are refused unless ``truncation=True`` cuts them; ``priority`` (a Cohere
  scheduling hint that never changes a ranking) is dropped.
- InvokeModel (Cohere): objects are rendered to text as for Cohere v2; ``parameters`` are
  extra body fields; ``truncation=True`` is what Cohere does anyway (dropped) and
  ``truncation=False`` cannot be honoured (refused); ``priority`` is dropped.

Bedrock reports no usage: ``search_units`` is estimated as ``ceil(documents / 100)`` and
marked ``estimated=True``.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

from pydantic import SecretStr

from ..errors import (
    APITimeoutError,
    AuthenticationError,
    InvalidRequestError,
    ProviderError,
    RateLimitError,
    RerankError,
)
from ..schema import Document, RerankRequest, RerankResponse, Usage, checked_usage
from . import _aws, cohere
from .base import (
    ClientConfig,
    HttpCall,
    Limits,
    RawResponse,
    decode_ranked,
    error_for_status,
    error_message,
    finish,
    header_safe,
    json_body,
    json_headers,
    loads_or_none,
    number,
    retry_after_seconds,
)

SLUG = "bedrock"
#: A Bedrock API key; read into ``config.api_key``. Without one, requests are SigV4-signed.
ENV_KEYS = ("AWS_BEARER_TOKEN_BEDROCK",)
#: Other variables that make it usable (botocore's credential chain, SigV4), shown by
#: `unified-rerank providers`; the rest of the chain (~/.aws files, web identity, container
#: and instance roles) works without any of them.
CREDENTIAL_ENV = ("AWS_ACCESS_KEY_ID", "AWS_PROFILE")
OPTIONS: frozenset[str] = frozenset(
    {"region", "profile", "aws_access_key_id", "aws_secret_access_key", "aws_session_token"}
)
#: The API ranks on named fields of object documents (the unified ``rank_fields``).
RANKS_FIELDS = True
#: Where the region is read from when no ``region=`` option (or model ARN) gives it.
REGION_ENV = ("AWS_REGION", "AWS_DEFAULT_REGION")

RERANK_PATH = "/rerank"
#: ``Rerank``: 1..1,000 sources per request (BOTO shapes); larger calls are split into windows.
MAX_DOCUMENTS = 1_000
#: ``Rerank``: query and text documents are 1..32,000 characters (BOTO shapes). Smithy counts
#: a string's length in Unicode code points, which is what ``len(str)`` counts too.
MAX_TEXT_CHARS = 32_000

#: The ``modelArn`` pattern of the ``Rerank`` API (BOTO shapes); it also admits a bare id.
_MODEL_PATTERN = re.compile(
    r"(arn:aws(-[^:]+)?:(bedrock|sagemaker):[a-z0-9-]{1,20}:([0-9]{12})?:([a-z-]+/)?)?"
    r"([a-z0-9.-]{1,63}){0,2}(([:][a-z0-9-]{1,63}){0,2})?(/[a-z0-9]{1,12})?"
)
_ARN_REGION = re.compile(r"arn:aws(?:-[^:]+)?:(?:bedrock|sagemaker):([a-z0-9-]{1,20}):")
_REGION = re.compile(r"[a-z0-9-]{1,20}")
_SECRET_OPTIONS = ("aws_access_key_id", "aws_secret_access_key", "aws_session_token")


# --- which API a model goes to -------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    api: Literal["rerank", "invoke"]
    #: The model ARN (``rerank``) or model id (``invoke``) as given.
    model: str
    #: The region named by an ARN, if any.
    arn_region: str | None = None

    @property
    def is_cohere(self) -> bool:
        return "cohere." in self.model


def route(model: str) -> Route:
    """The API for ``model``; an ``InvalidRequestError`` when it is not a Bedrock model name."""
    if len(model) > 2048 or not _MODEL_PATTERN.fullmatch(model):
        raise InvalidRequestError(
            f"{model!r} is not a Bedrock rerank model: pass a model ARN such as "
            "'arn:aws:bedrock:us-west-2::foundation-model/amazon.rerank-v1:0' or a model id "
            "such as 'cohere.rerank-v3-5:0'",
            provider=SLUG,
        )
    if model.startswith("arn:"):
        match = _ARN_REGION.match(model)
        return Route("rerank", model, match.group(1) if match else None)
    if model.startswith("cohere."):
        return Route("invoke", model)
    # A bare id such as amazon.rerank-v1:0: its InvokeModel body is UNCONFIRMED (5.2), so it
    # goes to the Rerank operation as the foundation-model ARN of the region (see model_arn).
    return Route("rerank", model)


def model_arn(model_id: str, region: str) -> str:
    """The foundation-model ARN of ``model_id`` in ``region`` (the form VAI and Portkey use)."""
    return f"arn:{_partition(region)}:bedrock:{region}::foundation-model/{model_id}"


def _partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def _dns_suffix(region: str) -> str:
    return "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"


# --- configuration: region and credentials ---------------------------------------------------


def resolve_region(r: Route, config: ClientConfig) -> str | None:
    """The ``region`` option, else the model ARN's region, else ``AWS_REGION`` /
    ``AWS_DEFAULT_REGION``, else the AWS profile's region (read by botocore, if installed).

    An ARN names where its model lives, so it wins over the ambient environment; an explicit
    ``region=`` wins over both (e.g. a call through a VPC endpoint of another region).
    """
    option = config.options.get("region")
    if option is not None:
        if not isinstance(option, str) or not _REGION.fullmatch(option):
            raise InvalidRequestError(
                f"region must be an AWS region name such as 'us-east-1', got {option!r}",
                provider=SLUG,
            )
        return option
    if r.arn_region:
        return r.arn_region
    for name in REGION_ENV:
        value = os.environ.get(name)
        if value:
            if not _REGION.fullmatch(value):
                raise InvalidRequestError(
                    f"{name}={value!r} is not an AWS region name such as 'us-east-1'",
                    provider=SLUG,
                )
            return value
    region = _aws.profile_region(_profile(config))
    if region is not None and not _REGION.fullmatch(region):
        raise InvalidRequestError(
            f"the AWS profile's region {region!r} is not an AWS region name", provider=SLUG
        )
    return region


def _require_region(r: Route, config: ClientConfig) -> str:
    region = resolve_region(r, config)
    if region is None:
        raise InvalidRequestError(
            "bedrock needs an AWS region: pass region=... (e.g. 'us-east-1'), set AWS_REGION "
            "or AWS_DEFAULT_REGION, use a model ARN, or set a region in your AWS profile",
            provider=SLUG,
        )
    return region


def _profile(config: ClientConfig) -> str | None:
    profile = config.options.get("profile")
    if profile is None:
        return None
    if not isinstance(profile, str) or not profile:
        raise InvalidRequestError(
            f"profile must be a non-empty AWS profile name, got {profile!r}", provider=SLUG
        )
    return profile


def _secret_option(config: ClientConfig, name: str) -> SecretStr | None:
    value = config.options.get(name)
    if value is None:
        return None
    if isinstance(value, SecretStr):
        secret = value
    elif isinstance(value, str):
        secret = SecretStr(value)
    else:  # never echo the value: it may be a secret of the wrong type
        raise InvalidRequestError(
            f"{name} must be a string or SecretStr, got {type(value).__name__}", provider=SLUG
        )
    if not secret.get_secret_value():
        raise InvalidRequestError(f"{name} must not be empty", provider=SLUG)
    if not header_safe(secret.get_secret_value()):  # signed into headers: refused unshown
        raise InvalidRequestError(
            f"{name} holds a line break, a control or a non-ASCII character", provider=SLUG
        )
    return secret


def static_credentials(config: ClientConfig) -> _aws.StaticCredentials | None:
    """Credentials passed as options (kept as ``SecretStr``), or None to use the chain."""
    key, secret, token = (_secret_option(config, name) for name in _SECRET_OPTIONS)
    if key is None and secret is None:
        if token is not None:
            raise InvalidRequestError(
                "aws_session_token needs aws_access_key_id and aws_secret_access_key",
                provider=SLUG,
            )
        return None
    if key is None or secret is None:
        raise InvalidRequestError(
            "pass both aws_access_key_id and aws_secret_access_key (or neither, to use the AWS "
            "credential chain)",
            provider=SLUG,
        )
    return _aws.StaticCredentials(key, secret, token)


def auth_mode(r: Route, config: ClientConfig) -> Literal["bearer", "sigv4"]:
    """Bearer with an API key on InvokeModel, unless SigV4 options were given; else SigV4.

    The agent-runtime ``Rerank`` operation is SigV4 only: its service model (botocore
    ``bedrock-agent-runtime`` service-2.json) lists ``aws.auth#sigv4`` alone, while
    ``bedrock-runtime``'s lists ``smithy.api#httpBearerAuth`` too. So keys go to InvokeModel only.
    """
    explicit_sigv4 = static_credentials(config) is not None or _profile(config) is not None
    if r.api == "invoke" and not explicit_sigv4 and config.optional_key():
        return "bearer"
    return "sigv4"


# --- limits and validation -------------------------------------------------------------------


def limits(model: str, config: ClientConfig) -> Limits:
    return Limits(max_documents=MAX_DOCUMENTS)


def validate(request: RerankRequest, config: ClientConfig) -> None:
    r = route(request.model)
    static_credentials(config)
    _profile(config)
    if r.api == "rerank":
        additional_fields(request, r)
        _check_not_empty(request)
        if not request.truncation:
            _check_lengths(request)
    else:
        if request.truncation is False:
            raise InvalidRequestError(
                "bedrock InvokeModel (Cohere) cannot refuse over-long input "
                "(truncation=False): Cohere always truncates; leave `truncation` unset",
                provider=SLUG,
            )
        invoke_body(request)  # parameter conflicts


def _check_not_empty(request: RerankRequest) -> None:
    """The service model sets a minimum length of 1 on the query and every text document
    (``RerankTextDocument.text``, botocore ``bedrock-agent-runtime`` service-2.json); boto3
    refuses an empty one before sending, and so do we."""
    if not request.query:
        raise InvalidRequestError("bedrock Rerank needs a non-empty query", provider=SLUG)
    for i, doc in enumerate(request.documents):
        if isinstance(doc, str) and not doc:
            raise InvalidRequestError(
                f"document {i} is an empty string; bedrock Rerank takes texts of at least one "
                "character (drop it, or send it as an object)",
                provider=SLUG,
            )


def _check_lengths(request: RerankRequest) -> None:
    if len(request.query) > MAX_TEXT_CHARS:
        raise InvalidRequestError(
            f"the query has {len(request.query)} characters; bedrock Rerank takes at most "
            f"{MAX_TEXT_CHARS} (pass truncation=True to cut it)",
            provider=SLUG,
        )
    for i, doc in enumerate(request.documents):
        text = _doc_text(doc)
        if text is not None and len(text) > MAX_TEXT_CHARS:
            raise InvalidRequestError(
                f"document {i} has {len(text)} characters; bedrock Rerank takes at most "
                f"{MAX_TEXT_CHARS} per text (pass truncation=True to cut it)",
                provider=SLUG,
            )


def _doc_text(doc: Document) -> str | None:
    # The service model limits TEXT sources to 32,000 characters and sets no limit on JSON
    # sources; whether the service applies one to them is UNCONFIRMED, so we apply it to the
    # object's `text` field, the one field every object document has.
    if isinstance(doc, str):
        return doc
    text = doc.get("text")
    return text if isinstance(text, str) else None


def _cut(text: str, truncate: bool) -> str:
    return text[:MAX_TEXT_CHARS] if truncate else text


# --- building requests -------------------------------------------------------------------------


def additional_fields(request: RerankRequest, r: Route) -> dict[str, Any] | None:
    """``additionalModelRequestFields`` for the ``Rerank`` operation.

    The accepted keys per model are UNCONFIRMED (providers.md 5.1). ``parameters`` are passed
    through as they are (the caller knows the model); ``max_tokens_per_doc`` is sent under
    Cohere's own name for Cohere models, and refused for other models rather than silently
    dropped, since it changes results.
    """
    fields = dict(request.parameters) if request.parameters is not None else {}
    for name in fields:
        # AdditionalModelRequestFieldsKey: 1 to 100 characters (botocore service-2.json).
        if not 1 <= len(name) <= 100:
            raise InvalidRequestError(
                f"bedrock Rerank takes parameters names of 1 to 100 characters, got {name!r:.40}",
                provider=SLUG,
            )
    if request.max_tokens_per_doc is not None:
        if not r.is_cohere:
            raise InvalidRequestError(
                f"bedrock model {r.model!r} has no known `max_tokens_per_doc` setting; drop it, "
                "or pass the model's own field in parameters=... (sent as "
                "additionalModelRequestFields)",
                provider=SLUG,
            )
        _merge(fields, "max_tokens_per_doc", request.max_tokens_per_doc)
    return fields or None


def _merge(fields: dict[str, Any], name: str, value: Any) -> None:
    if name in fields and fields[name] != value:
        raise InvalidRequestError(
            f"bedrock: parameters[{name!r}]={fields[name]!r} conflicts with the unified "
            f"argument ({value!r}); pass it once",
            provider=SLUG,
        )
    fields[name] = value


def _source(doc: Document, rank_fields: list[str] | None, truncate: bool) -> dict[str, Any]:
    if isinstance(doc, str):
        inline: dict[str, Any] = {"type": "TEXT", "textDocument": {"text": _cut(doc, truncate)}}
    else:
        # JSON sources keep the object's fields; with rank_fields, only those fields are
        # ranked on, so only they are sent (the answer is back-filled with every field).
        obj = {k: doc[k] for k in rank_fields} if rank_fields else dict(doc)
        if truncate and isinstance(obj.get("text"), str):
            obj["text"] = _cut(obj["text"], True)
        inline = {"type": "JSON", "jsonDocument": obj}
    return {"type": "INLINE", "inlineDocumentSource": inline}


def rerank_body(request: RerankRequest, arn: str) -> dict[str, Any]:
    """The agent-runtime ``Rerank`` body (camelCase; providers.md 5.1)."""
    truncate = bool(request.truncation)
    model_configuration: dict[str, Any] = {"modelArn": arn}
    extra = additional_fields(request, route(request.model))
    if extra:
        model_configuration["additionalModelRequestFields"] = extra
    return {
        "queries": [{"type": "TEXT", "textQuery": {"text": _cut(request.query, truncate)}}],
        "sources": [_source(d, request.rank_fields, truncate) for d in request.documents],
        "rerankingConfiguration": {
            "type": "BEDROCK_RERANKING_MODEL",
            "bedrockRerankingConfiguration": {
                "modelConfiguration": model_configuration,
                # The default when numberOfResults is omitted is UNCONFIRMED (LiteLLM always
                # sends top_n or the document count; Portkey omits it). We always send it, the
                # document count when top_n is None, so every document is scored and returned.
                "numberOfResults": request.expected_results,
            },
        },
    }


def invoke_body(request: RerankRequest) -> dict[str, Any]:
    """The ``InvokeModel`` body for a Cohere rerank model (providers.md 5.2)."""
    body = cohere.v2_body(request, include_model=False)
    # `priority` on Bedrock is UNCONFIRMED; it never changes a ranking, and Bedrock rejects
    # keys its model schema does not know, so it is not sent.
    body.pop("priority", None)
    # `max_tokens_per_doc` on Bedrock is UNCONFIRMED too, but it changes results, so it is sent
    # (Cohere's own field name) rather than dropped.
    body["api_version"] = 2  # api_version 1 is refused with a 400 (cohere-python#613)
    for name, value in (request.parameters or {}).items():
        # A field the unified request maps (set or not) comes from its argument only: a
        # `parameters` copy would skip its checks (top_n=0, a string top_n...).
        if name in _INVOKE_FIELDS or (name in body and body[name] != value):
            raise InvalidRequestError(
                f"bedrock: parameters[{name!r}] conflicts with a field the request maps; "
                "use the rerank argument",
                provider=SLUG,
            )
        body[name] = value
    return body


#: The InvokeModel body fields the unified request maps (Cohere v2's, and api_version).
_INVOKE_FIELDS = frozenset({"query", "documents", "top_n", "max_tokens_per_doc", "api_version"})


def build(request: RerankRequest, config: ClientConfig) -> HttpCall:
    r = route(request.model)
    mode = auth_mode(r, config)
    if mode == "sigv4" and not _aws.has_botocore():
        raise AuthenticationError(
            _aws.MISSING_BOTOCORE
            + " (or, for a cohere.* model id, use a Bedrock API key: api_key=... or "
            "AWS_BEARER_TOKEN_BEDROCK)",
            provider=SLUG,
        )
    # The region is needed for the default endpoint, for SigV4 and for an ARN built from an id.
    needs_region = config.base_url is None or mode == "sigv4" or r.api == "rerank"
    region = _require_region(r, config) if needs_region else None
    headers = json_headers()
    if r.api == "rerank":
        assert region is not None
        arn = r.model if r.model.startswith("arn:") else model_arn(r.model, region)
        root = config.root(f"https://bedrock-agent-runtime.{region}.{_dns_suffix(region)}")
        url = root + RERANK_PATH
        body = rerank_body(request, arn)
    else:
        default = f"https://bedrock-runtime.{region}.{_dns_suffix(region or '')}"
        root = config.root(default if region else None)
        # modelId is a URI label: percent-encoded as botocore does (":" -> "%3A").
        url = f"{root}/model/{quote(r.model, safe='-_.~')}/invoke"
        body = invoke_body(request)
    if mode == "bearer":
        headers["Authorization"] = f"Bearer {config.optional_key()}"
        signer = None
    else:
        assert region is not None
        signer = _aws.signer(region, _profile(config), static_credentials(config))
    return HttpCall(
        method="POST",
        url=url,
        headers=config.merged_headers(headers),
        body=json_body(body),
        signer=signer,
    )


# --- parsing answers ---------------------------------------------------------------------------


def estimated_usage(request: RerankRequest) -> Usage:
    """Bedrock reports no usage. Estimated like Portkey: one search unit per 100 documents
    (Cohere's definition); the exact AWS billing rule is UNCONFIRMED."""
    return checked_usage(search_units=math.ceil(len(request.documents) / 100), estimated=True)


def parse(raw: RawResponse, request: RerankRequest) -> RerankResponse:
    request_id = raw.header("x-amzn-RequestId")
    if route(request.model).api == "rerank":
        body, results = decode_ranked(raw, SLUG, score_key="relevanceScore")
        # No id, model or usage in the answer (RerankResponse in the service model has only
        # `results` and `nextToken`); `document` is optional, so documents are back-filled
        # from the request. `nextToken` (paging) does not
        # occur when numberOfResults covers every source; a short page fails in finish().
        return finish(
            request,
            raw,
            results,
            provider=SLUG,
            score_key="relevanceScore",
            response_id=request_id,
            usage=estimated_usage(request),
        )
    # InvokeModel (Cohere): Cohere-shaped. Billed units when Cohere sends them, else estimated.
    body, results = decode_ranked(raw, SLUG)
    # Token-count headers (X-Amzn-Bedrock-*-Token-Count) for rerank are UNCONFIRMED: not read.
    meta = body.get("meta")
    billed = meta.get("billed_units") if isinstance(meta, dict) else None
    units = number(billed.get("search_units")) if isinstance(billed, dict) else None
    usage = checked_usage(search_units=units) if units is not None else estimated_usage(request)
    response_id = body.get("id") if isinstance(body.get("id"), str) else None
    return finish(
        request,
        raw,
        results,
        provider=SLUG,
        response_id=response_id or request_id,
        usage=usage,
    )


# --- errors --------------------------------------------------------------------------------------

# Which errors are retried is botocore's standard retry mode (``botocore/retries/standard.py``,
# botocore 1.44; the default mode) applied to each operation's modeled errors in its service
# model (docs/bedrock.md "Retries"): transient codes and 500/502/503/504; throttling codes; a 429
# whose code the operation does not model; and a modeled error marked ``retryable``.
#: ``TransientRetryableChecker._TRANSIENT_ERROR_CODES`` and ``_TRANSIENT_STATUS_CODES``.
_TRANSIENT_CODES = frozenset(
    {"RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete"}
)
_TRANSIENT_STATUS = frozenset({500, 502, 503, 504})
#: ``ThrottledRetryableChecker._THROTTLED_ERROR_CODES``.
_THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    }
)
#: Each operation's modeled errors (service-2.json), and those marked ``retryable``.
MODELED_ERRORS: dict[str, frozenset[str]] = {
    "rerank": frozenset(
        {
            "ResourceNotFoundException",
            "ConflictException",
            "ValidationException",
            "InternalServerException",
            "DependencyFailedException",
            "BadGatewayException",
            "ThrottlingException",
            "AccessDeniedException",
            "ServiceQuotaExceededException",
        }
    ),
    "invoke": frozenset(
        {
            "AccessDeniedException",
            "ResourceNotFoundException",
            "ThrottlingException",
            "ModelTimeoutException",
            "InternalServerException",
            "ServiceUnavailableException",
            "ValidationException",
            "ServiceQuotaExceededException",
            "ModelNotReadyException",
            "ModelErrorException",
        }
    ),
}
MODELED_RETRYABLE: dict[str, frozenset[str]] = {
    "rerank": frozenset(),
    "invoke": frozenset({"ModelNotReadyException"}),
}


def retryable(api: str, status: int, kind: str | None) -> bool:
    """Whether botocore's standard retry mode retries this answer of ``api``."""
    if kind in _TRANSIENT_CODES or status in _TRANSIENT_STATUS or kind in _THROTTLING_CODES:
        return True
    if kind in MODELED_RETRYABLE[api]:
        return True
    return status == 429 and kind not in MODELED_ERRORS[api]


_THROTTLED = _THROTTLING_CODES | {"ModelNotReadyException", "ServiceQuotaExceededException"}
_AUTH = frozenset(
    {
        "AccessDeniedException",
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "IncompleteSignatureException",
        "MissingAuthenticationTokenException",
        "ExpiredTokenException",
        "InvalidClientTokenId",
    }
)
_SERVER = frozenset(
    {
        "InternalServerException",
        "InternalFailure",
        "ServiceUnavailableException",
        "ServiceUnavailable",
        "BadGatewayException",
    }
)
_INVALID = frozenset({"ValidationException", "SerializationException", "ConflictException"})


def error_type(raw: RawResponse, body: Any) -> str | None:
    """The AWS error type: the ``x-amzn-ErrorType`` header (its ``:...`` suffix dropped), else
    the body's ``__type`` / ``code`` / ``Code`` (a ``namespace#`` prefix dropped), as botocore
    reads it."""
    value: Any = raw.header("x-amzn-ErrorType")
    if not value and isinstance(body, dict):
        value = next((body[k] for k in ("__type", "code", "Code") if body.get(k)), None)
    if not isinstance(value, str) or not value:
        return None
    return value.split(":", 1)[0].rsplit("#", 1)[-1].strip() or None


def error(raw: RawResponse, request: RerankRequest) -> RerankError:
    body = loads_or_none(raw)
    kind = error_type(raw, body)
    message = error_message(body, ("message", "Message"))
    if message is None and raw.content and body is None:
        message = raw.content[:300].decode("utf-8", "replace")
    text = message or f"HTTP {raw.status_code} with no error message"
    if isinstance(body, dict) and isinstance(body.get("reason"), str):
        text += f" (reason: {body['reason']})"
    again = retryable(route(request.model).api, raw.status_code, kind)
    kw: dict[str, Any] = {"provider": SLUG, "status_code": raw.status_code, "code": kind}
    if kind in _THROTTLED:
        # ServiceQuotaExceededException is a quota (a 400): not retried, as botocore does not.
        return RateLimitError(
            text, retry_after=retry_after_seconds(raw.headers), retryable=again, **kw
        )
    if kind in _AUTH:
        return AuthenticationError(
            f"{text} (check the AWS credentials or API key, the region, and that the model is "
            "enabled for this account with bedrock:Rerank / bedrock:InvokeModel allowed)",
            **kw,
        )
    if kind == "ResourceNotFoundException":
        return InvalidRequestError(
            f"{text} (model {request.model!r} was not found: check the model id or ARN and "
            "the region)",
            **kw,
        )
    if kind in _INVALID:
        return InvalidRequestError(text, retryable=again, **kw)
    if kind == "ModelTimeoutException":
        return APITimeoutError(text, retryable=again, **kw)
    if kind in _SERVER or kind in ("ModelErrorException", "DependencyFailedException"):
        # 424: the model (or a dependency) failed on this input.
        return ProviderError(text, retryable=again, **kw)
    err = error_for_status(raw, provider=SLUG, message=text, code=kind)
    err.retryable = again
    return err
