"""What every provider module is made of, and the pure helpers they share.

A provider is a module of pure functions (no I/O, no ``httpx``):

- ``SLUG``: its name; ``ENV_KEYS``: where its key is read from (first set wins);
  optional ``BASE_URL_ENV``: where ``base_url`` is read from when none is passed;
  ``OPTIONS``: the provider-specific client options it accepts (``region=``, ...).
- ``build(request, config) -> HttpCall``: the exact HTTP request to send.
- ``parse(raw, request) -> RerankResponse``: a 2xx answer into the unified response, or a
  ``ProviderError`` when the answer is not a valid ranking.
- ``error(raw, request) -> RerankError``: a non-2xx answer into a typed error.
- optional ``limits(model, config) -> Limits``: per-request limits, used to split big requests.
- optional ``validate(request, config)``: provider-specific checks, run once before any I/O.
- optional ``run_local(request, config) -> RerankResponse``: for in-process providers, which
  have no HTTP exchange at all.

The transport does the I/O for every provider; the client plans windows and merges them.
"""

from __future__ import annotations

import email.utils
import functools
import json
import math
import operator
import re
import time
import uuid
from collections import deque
from collections.abc import (
    Awaitable,
    Callable,
    Collection,
    Container,
    Iterable,
    Mapping,
    Sequence,
)
from dataclasses import dataclass, field
from itertools import islice, repeat
from types import ModuleType
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

from pydantic import SecretStr
from pydantic_core import (
    PydanticSerializationError,
    SchemaValidator,
    ValidationError,
    core_schema,
    from_json,
    to_json,
)

from ..errors import (
    APITimeoutError,
    AuthenticationError,
    InvalidRequestError,
    ProviderError,
    RateLimitError,
    RerankError,
)
from ..schema import (
    RerankRequest,
    RerankResponse,
    Usage,
    build_response,
    checked_usage,
    results_from_dicts,
)

__all__ = [
    "CheckedItems",
    "ClientConfig",
    "HttpCall",
    "Limits",
    "Provider",
    "RawResponse",
    "decode_json",
    "decode_ranked",
    "error_for_status",
    "finish",
    "json_body",
    "render_text",
    "retry_after_seconds",
]

#: What httpx can send in a header: a token name; a value of printable ASCII and tabs.
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e]*")

#: Computes per-attempt headers (request signing); called by the transport before every send.
Signer = Callable[["HttpCall"], Mapping[str, str]]


class Credentials(Protocol):
    """Auth headers that take an exchange to obtain (an OAuth2 or IAM bearer token), asked for
    by the transport before every attempt: ``headers`` on sync calls, ``aheaders`` on async
    ones, each given the transport's own way to send the exchange's request (if it has one).
    See ``providers/_tokens.py``."""

    def headers(self, send: Callable[[HttpCall], RawResponse]) -> Mapping[str, str]: ...

    async def aheaders(
        self, send: Callable[[HttpCall], Awaitable[RawResponse]]
    ) -> Mapping[str, str]: ...

    def rejected(self, headers: Mapping[str, str]) -> None:
        """The service answered 401 to a request sent with ``headers``: exchange again."""


@dataclass(frozen=True, slots=True)
class HttpCall:
    """A request to send, described as data. ``body`` is the exact bytes that go on the wire."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes = b""
    signer: Signer | None = None
    #: Exchanged bearer tokens (watsonx, vertex-ai): headers added before every attempt.
    credentials: Credentials | None = None
    #: At most this many retries of an answered failure (one with an HTTP status), whatever
    #: the client's policy; None: the policy decides. A gateway that retries itself (portkey
    #: with a ``retry`` config) gets 0, so the client does not retry on top of it.
    max_retries: int | None = None

    def __repr__(self) -> str:
        # Header names only: values hold keys and signatures, which never reach a repr.
        return (
            f"HttpCall({self.method} {self.url}, headers={sorted(self.headers)}, "
            f"body={len(self.body)} bytes, signed={self.signer is not None}, "
            f"token={self.credentials is not None})"
        )


@dataclass(frozen=True, slots=True)
class RawResponse:
    """What came back: status, headers (case-insensitive mapping) and the body bytes."""

    status_code: int
    headers: Mapping[str, str]
    content: bytes

    def header(self, name: str) -> str | None:
        value = self.headers.get(name)
        if value is None and not hasattr(self.headers, "multi_items"):
            lowered = name.lower()
            value = next((v for k, v in self.headers.items() if k.lower() == lowered), None)
        return value


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-request limits of a provider and model (None: none known)."""

    max_documents: int | None = None


@dataclass(frozen=True)
class ClientConfig:
    """Client options a provider reads when building a request. Secrets stay ``SecretStr``."""

    provider: str
    api_key: SecretStr | None = None
    base_url: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    # repr=False: options may hold secrets (bedrock's aws_secret_access_key, ...).
    options: Mapping[str, Any] = field(default_factory=dict, repr=False)
    env_keys: tuple[str, ...] = ()

    def require_key(self) -> str:
        """The API key, or an ``AuthenticationError`` naming the variables to set."""
        if self.api_key is None or not self.api_key.get_secret_value():
            names = " or ".join(self.env_keys) or "the provider's key variable"
            raise AuthenticationError(
                f"no API key for {self.provider}: pass api_key=... or set {names}",
                provider=self.provider,
            )
        return self._sendable_key(self.api_key.get_secret_value())

    def optional_key(self) -> str | None:
        return None if self.api_key is None else self._sendable_key(self.api_key.get_secret_value())

    def _sendable_key(self, key: str) -> str:
        """``key`` if it can go in a header. Else an error that never shows it: httpx would
        fail while sending (a line break: with the header, key included, in its message)."""
        if not _HEADER_VALUE.fullmatch(key):
            raise AuthenticationError(
                f"the API key for {self.provider} holds a line break, a control or a non-ASCII "
                "character (a trailing newline read from a file?), so it cannot be sent",
                provider=self.provider,
            )
        return key

    def root(self, default: str | None) -> str:
        """The API root: ``base_url`` if given, else the provider's default, without a '/'."""
        root = self.base_url or default
        if not root:
            raise InvalidRequestError(
                f"{self.provider} needs base_url=... (the root URL of your server)",
                provider=self.provider,
            )
        return checked_url(root, self.provider).rstrip("/")

    def merged_headers(self, own: Mapping[str, str]) -> dict[str, str]:
        """The provider's headers, then the user's extra headers (which win); an extra
        header that cannot be sent is refused here, its value never shown (it may be a key)."""
        for name, value in self.headers.items():
            if not (
                isinstance(name, str)
                and isinstance(value, str)
                and _HEADER_NAME.fullmatch(name)
                and _HEADER_VALUE.fullmatch(value)
            ):
                raise InvalidRequestError(
                    f"header {name!r:.60} cannot be sent: names are HTTP tokens, values "
                    "printable ASCII strings without line breaks",
                    provider=self.provider,
                )
        return {**own, **self.headers}


@dataclass(frozen=True)
class Provider:
    """A provider module's functions, with the optional ones defaulted."""

    slug: str
    env_keys: tuple[str, ...]
    #: Variables that give ``base_url`` when none is passed (e.g. ``AZURE_AI_ENDPOINT``).
    base_url_env: tuple[str, ...]
    options: frozenset[str]
    #: Whether the API ranks on named fields of object documents (``RANKS_FIELDS``): the
    #: unified ``rank_fields`` go to it as such, rather than rendered into one text.
    ranks_fields: bool
    build: Callable[[RerankRequest, ClientConfig], HttpCall] | None
    parse: Callable[[RawResponse, RerankRequest], RerankResponse] | None
    error: Callable[[RawResponse, RerankRequest], RerankError] | None
    limits: Callable[[str, ClientConfig], Limits]
    validate: Callable[[RerankRequest, ClientConfig], None]
    run_local: Callable[[RerankRequest, ClientConfig], RerankResponse] | None
    module: ModuleType

    @classmethod
    def from_module(cls, module: ModuleType) -> Provider:
        run_local = getattr(module, "run_local", None)
        if run_local is None:
            for name in ("build", "parse", "error"):
                if not callable(getattr(module, name, None)):
                    raise TypeError(f"provider module {module.__name__} lacks {name}()")
        return cls(
            slug=module.SLUG,
            env_keys=tuple(getattr(module, "ENV_KEYS", ())),
            base_url_env=tuple(getattr(module, "BASE_URL_ENV", ())),
            options=frozenset(getattr(module, "OPTIONS", ())),
            ranks_fields=bool(getattr(module, "RANKS_FIELDS", False)),
            build=getattr(module, "build", None),
            parse=getattr(module, "parse", None),
            error=getattr(module, "error", None),
            limits=getattr(module, "limits", _no_limits),
            validate=getattr(module, "validate", _no_checks),
            run_local=run_local,
            module=module,
        )


def _no_limits(model: str, config: ClientConfig) -> Limits:
    return Limits()


def _no_checks(request: RerankRequest, config: ClientConfig) -> None:
    return None


# --- building requests -------------------------------------------------------------------


def json_body(payload: Any) -> bytes:
    """Compact UTF-8 JSON, the same bytes every time for the same payload.

    pydantic-core's serializer: the same JSON as ``json.dumps(..., ensure_ascii=False,
    separators=(",", ":"))`` for the JSON-only values a validated request holds, about four
    times faster on a 1,000-document body."""
    try:
        return to_json(payload)
    except PydanticSerializationError as exc:
        # Only a lone surrogate gets here: validation let nothing else that is not JSON in.
        raise InvalidRequestError(
            f"the request holds a value that cannot be sent as JSON ({exc}); fix its encoding"
        ) from None


def url_path(text: str, provider: str, safe: str = "/") -> str:
    """``text`` escaped for a URL path (a model id in an endpoint): '?', '#', spaces and
    control characters stay in the path. Text with no UTF-8 form (a lone surrogate) is an
    ``InvalidRequestError`` before any I/O."""
    try:
        return quote(text, safe=safe)
    except UnicodeEncodeError:
        raise InvalidRequestError(
            f"{text!r:.60} cannot go in a URL (it holds a lone surrogate); fix its encoding",
            provider=provider,
        ) from None


def checked_url(url: str, provider: str, what: str = "base_url") -> str:
    """``url`` if httpx can send a request to it (an absolute http(s) URL with a host, a
    valid port, no spaces or control characters); else an ``InvalidRequestError`` before any
    I/O, rather than httpx's InvalidURL or a retried connection error. The URL is not shown:
    it may hold credentials."""
    if not _sendable_url(url):
        raise InvalidRequestError(
            f"{provider}: {what} must be an http(s) URL such as 'http://localhost:8080', "
            "without spaces or line breaks",
            provider=provider,
        )
    return url


@functools.lru_cache(maxsize=64)
def _sendable_url(url: str) -> bool:
    if not url.isprintable() or any(c.isspace() for c in url):
        return False
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError on a port out of range)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def header_safe(value: str) -> bool:
    """True when ``value`` can be sent in an HTTP header: printable ASCII and tabs (httpx
    encodes header strings as ASCII; a line break fails while sending, quoting the header)."""
    return _HEADER_VALUE.fullmatch(value) is not None


def json_headers(**extra: str) -> dict[str, str]:
    return {"Content-Type": "application/json", "Accept": "application/json", **extra}


def bearer_post(
    config: ClientConfig, url: str, payload: Any, extra: Mapping[str, str] | None = None
) -> HttpCall:
    """A JSON POST carrying the (required) key as ``Authorization: Bearer``, plus the provider's
    ``extra`` headers, then the user's."""
    key = config.require_key()
    headers = {**json_headers(Authorization=f"Bearer {key}"), **(extra or {})}
    return HttpCall("POST", url, config.merged_headers(headers), json_body(payload))


def render_text(doc: str | Mapping[str, Any], rank_fields: Sequence[str] | None) -> str:
    """A document as one string, for providers that take strings only.

    A string stays as it is; an object gives its ``text``, or, with ``rank_fields``, one
    ``field: value`` line per named field in order (the YAML-like form Cohere recommends), so
    no field the caller asked to rank on is silently lost.
    """
    if isinstance(doc, str):
        return doc
    if not rank_fields:
        return str(doc["text"])
    return "\n".join(f"{name}: {doc[name]}" for name in rank_fields)


def refuse_unsupported(
    request: RerankRequest,
    provider: str,
    fields: Iterable[str],
    parameters: Collection[str] | None = (),
) -> None:
    """An ``InvalidRequestError`` (before any I/O) for each unified field in ``fields`` that is
    set, and for any ``parameters`` key outside ``parameters`` (None: any key is taken): what
    a provider cannot honour is refused, never silently dropped."""
    for name in fields:
        if getattr(request, name) is not None:
            raise InvalidRequestError(
                f"{provider} has no equivalent of `{name}`; drop the argument", provider=provider
            )
    unknown = sorted(set(request.parameters or ()) - set(parameters or ()))
    if parameters is not None and unknown:
        takes = f"it takes {sorted(parameters)}" if parameters else "it takes none"
        raise InvalidRequestError(
            f"{provider} does not take parameters {unknown}; {takes}", provider=provider
        )


def render_texts(request: RerankRequest) -> list[str]:
    fields = request.rank_fields
    docs = request.documents
    if request.texts_only:  # all plain strings: a copy at C speed
        return list(docs)  # type: ignore[arg-type]
    return [d if isinstance(d, str) else render_text(d, fields) for d in docs]


# --- parsing answers -----------------------------------------------------------------------


def decode_json(raw: RawResponse, provider: str) -> Any:
    """The decoded body, or a retryable ``ProviderError``: a body that does not decode is
    treated like a dropped connection (rerank is idempotent)."""
    try:
        # pydantic-core's JSON parser: same result as json.loads, several times faster on
        # large answers (the biggest cost of a 1,000-document call otherwise).
        return from_json(raw.content, cache_strings="keys")
    except (ValueError, UnicodeDecodeError):
        snippet = raw.content[:200].decode("utf-8", "replace")
        raise ProviderError(
            f"the answer is not valid JSON: {snippet!r}",
            provider=provider,
            status_code=raw.status_code,
            retryable=True,
        ) from None


def malformed(provider: str, raw: RawResponse, what: str) -> ProviderError:
    return ProviderError(
        f"malformed answer: {what}", provider=provider, status_code=raw.status_code
    )


def field_of(obj: Any, key: str, provider: str, raw: RawResponse) -> Any:
    """``obj[key]`` where ``obj`` must be an object holding ``key``."""
    if not isinstance(obj, dict) or key not in obj:
        raise malformed(provider, raw, f"expected an object with `{key}`")
    return obj[key]


def finish(
    request: RerankRequest,
    raw: RawResponse,
    items: Any,
    *,
    provider: str,
    score_key: str = "relevance_score",
    index_key: str = "index",
    model: Any = None,
    response_id: Any = None,
    usage: Usage | None = None,
) -> RerankResponse:
    """Check a provider's result list and build the unified response.

    Every result must have an integer index inside the request's documents, at most once, and
    a finite score; anything else is a ``ProviderError``, never a ranking. Results are sorted
    by score (best first, ties by index), cut to ``top_n`` (some providers have no server-side
    top-N) and given their documents from the request when ``return_documents`` was asked.
    A provider that returns fewer results than asked for is an error too: nothing is dropped.
    """
    if not isinstance(items, list):
        raise malformed(provider, raw, "the result list is missing or not a list")
    n = len(request.documents)
    expected = request.expected_results
    if type(items) is CheckedItems:
        normalized: list[dict[str, Any]] | None = items
        score_key, index_key = "relevance_score", "index"  # for the slow path's messages
    else:
        normalized = _normalized(items, score_key, index_key)
    ranked = None if normalized is None else _ranked(normalized, request)
    if ranked is None:
        raise _what_is_wrong(items, n, expected, score_key, index_key, provider, raw)
    return build_response(
        id=response_id if isinstance(response_id, str) and response_id else new_id(),
        results=results_from_dicts(ranked),
        model=model if isinstance(model, str) and model else request.model,
        usage=usage if usage is not None else checked_usage(),
        provider=provider,
    )


def _what_is_wrong(
    items: list[Any],
    n: int,
    expected: int,
    score_key: str,
    index_key: str,
    provider: str,
    raw: RawResponse,
) -> ProviderError:
    """The error for a result list the fast checks refused: the same checks one result at a
    time, naming the first problem."""
    seen: set[int] = set()
    for item in items:
        if not isinstance(item, dict):
            return malformed(provider, raw, f"a result is not an object: {item!r:.80}")
        index = item.get(index_key)
        score = item.get(score_key)
        if type(index) is not int or not 0 <= index < n:
            return malformed(provider, raw, f"result index {index!r} is not in 0..{n - 1}")
        if index in seen:
            return malformed(provider, raw, f"document {index} is ranked twice")
        if isinstance(score, bool) or not isinstance(score, (int, float)):
            return malformed(provider, raw, f"score {score!r} of document {index} is not a number")
        if not _finite(score):
            shown = score if isinstance(score, float) else "an integer too large for a float"
            return malformed(provider, raw, f"score of document {index} is {shown}")
        seen.add(index)
    return malformed(provider, raw, f"{len(seen)} results for {expected} expected documents")


def parse_token_billed(
    raw: RawResponse,
    request: RerankRequest,
    provider: str,
    *,
    list_key: str = "results",
    score_key: str = "relevance_score",
) -> RerankResponse:
    """The common answer shape ``{list_key: [...], "model", "id"?, "usage": {"total_tokens"}}``
    of token-billed providers (Voyage, Jina, Together, Mixedbread, Infinity, vLLM)."""
    answer, items = decode_ranked(raw, provider, list_key=list_key, score_key=score_key)
    usage = answer.get("usage")
    tokens = integer(usage.get("total_tokens")) if isinstance(usage, dict) else None
    return finish(
        request,
        raw,
        items,
        provider=provider,
        score_key=score_key,
        model=answer.get("model"),
        response_id=answer.get("id"),
        usage=checked_usage(total_tokens=tokens),
    )


class CheckedItems(list):  # type: ignore[type-arg]
    """A result list already checked by :func:`decode_ranked`: dicts holding exactly an
    ``index`` (int >= 0) and a finite float ``relevance_score`` (an echoed document or any
    other key the provider adds is dropped: ``finish`` fills documents from the request)."""


def decode_ranked(
    raw: RawResponse,
    provider: str,
    *,
    list_key: str | None = "results",
    index_key: str = "index",
    score_key: str = "relevance_score",
) -> tuple[Any, Any]:
    """``(answer, items)``: the decoded answer and its result list (``answer[list_key]``, or
    the answer itself when ``list_key`` is None), for :func:`finish`.

    One pass of pydantic-core decodes the JSON and checks every result's types, renaming the
    provider's keys to the unified ones: a well-formed answer costs no Python loop, and its
    items come back as ``CheckedItems``. Anything off (not JSON, a missing list, a string
    score) falls back to plain decoding, so ``finish`` can say exactly what is wrong."""
    try:
        answer = _answer_validator(list_key, index_key, score_key).validate_json(raw.content)
    except ValidationError:
        answer = decode_json(raw, provider)
        return answer, answer if list_key is None else field_of(answer, list_key, provider, raw)
    if list_key is None:
        return answer, CheckedItems(answer)
    return answer, CheckedItems(answer[list_key])


@functools.cache
def _answer_validator(list_key: str | None, index_key: str, score_key: str) -> SchemaValidator:
    item = core_schema.typed_dict_schema(
        {
            "index": core_schema.typed_dict_field(
                core_schema.int_schema(strict=True, ge=0), validation_alias=index_key
            ),
            "relevance_score": core_schema.typed_dict_field(
                core_schema.float_schema(strict=True, allow_inf_nan=False),
                validation_alias=score_key,
            ),
        },
        extra_behavior="ignore",
    )
    items = core_schema.list_schema(item)
    if list_key is None:
        return SchemaValidator(items)
    return SchemaValidator(
        core_schema.typed_dict_schema(
            {list_key: core_schema.typed_dict_field(items)}, extra_behavior="allow"
        )
    )


_INT = frozenset({int})
_NUMBER = frozenset({int, float})
_by_index = operator.itemgetter("index")
_by_score = operator.itemgetter("relevance_score")
_gt = operator.gt
_setitem = operator.setitem
_consume: Callable[[Iterable[Any]], None] = deque(maxlen=0).extend


def _normalized(items: list[Any], score_key: str, index_key: str) -> list[dict[str, Any]] | None:
    """Results not checked by :func:`decode_ranked` (the local provider's, a fallback's) as
    checked dicts, at C speed; None when any is off (the slow path then says which)."""
    try:
        indices = list(map(operator.itemgetter(index_key), items))
        scores = list(map(operator.itemgetter(score_key), items))
    except (KeyError, TypeError, IndexError):
        return None
    if indices and (not set(map(type, indices)) <= _INT or min(indices) < 0):
        return None
    if not set(map(type, scores)) <= _NUMBER:
        return None
    try:
        if not all(map(math.isfinite, scores)):
            return None
    except OverflowError:  # an integer too large for a float
        return None
    return [{"index": i, "relevance_score": float(s)} for i, s in zip(indices, scores, strict=True)]


def _finite(score: float) -> bool:
    """True for a finite number; False for NaN, an infinity, or a JSON integer too large
    for a float (``math.isfinite`` raises OverflowError on those)."""
    try:
        return math.isfinite(score)
    except OverflowError:
        return False


def _ranked(items: list[dict[str, Any]], request: RerankRequest) -> list[dict[str, Any]] | None:
    """Checked result dicts best first (ties by index), cut to ``top_n``, with documents when
    asked; None if an index is out of range or repeated, or results are missing. ``items`` is
    a fresh list the caller hands over: it is sorted and cut in place."""
    n, count, expected = len(request.documents), len(items), request.expected_results
    if count < expected:
        return None
    indices = set(map(_by_index, items))
    if len(indices) != count or max(indices) >= n:
        return None
    ranked = items  # the caller's own fresh list: sorted and cut in place
    scores = list(map(_by_score, ranked))
    # Providers answer best first, so one comparison pass usually proves the order (strictly
    # falling scores: no ties to order by index); otherwise sort. Sorts are stable: ties
    # (rare) are put in index order first.
    if not all(map(_gt, scores, islice(scores, 1, None))):
        if len(set(scores)) != count:
            ranked.sort(key=_by_index)
        ranked.sort(key=_by_score, reverse=True)
    del ranked[expected:]
    if request.return_documents:
        documents = map(request.document_object, map(_by_index, ranked))
        _consume(map(_setitem, ranked, repeat("document"), documents))
    return ranked


def new_id() -> str:
    return f"rerank-{uuid.uuid4().hex}"


def number(value: Any) -> int | float | None:
    """A usage count as given (int stays int, 1.0 becomes 1), or None if it is not a count:
    not a number, negative, NaN or infinite."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float):
        if not math.isfinite(value) or value < 0:
            return None
        return int(value) if value.is_integer() else value
    return value if value >= 0 else None


def positive_seconds(value: Any) -> float | None:
    """A duration read from an answer, as finite positive seconds; None for anything else (a
    bool, a string, NaN, an infinity, an integer too large for a float, zero or less)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        seconds = float(value)
    except OverflowError:
        return None
    return seconds if math.isfinite(seconds) and seconds > 0 else None


def integer(value: Any) -> int | None:
    n = number(value)
    return n if isinstance(n, int) else None


# --- errors ---------------------------------------------------------------------------------


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait, from ``retry-after-ms``, ``x-ms-retry-after-ms`` or ``retry-after``
    (seconds or an HTTP date); None when absent or unreadable."""
    for name in ("retry-after-ms", "x-ms-retry-after-ms"):
        value = _get(headers, name)
        if value:
            try:
                ms = float(value)
            except ValueError:
                continue
            if math.isfinite(ms) and ms >= 0:
                return ms / 1000.0
    value = _get(headers, "retry-after")
    if not value:
        return None
    try:
        seconds = float(value)
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _get(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None and not hasattr(headers, "multi_items"):
        value = next((v for k, v in headers.items() if k.lower() == name), None)
    return value


def error_for_status(
    raw: RawResponse,
    *,
    provider: str,
    message: str | None,
    code: str | None = None,
) -> RerankError:
    """The typed error for an HTTP status: 401/403 auth, 408 timeout, 429 rate limit,
    other 4xx invalid request, 5xx provider error (retryable)."""
    status = raw.status_code
    text = message or f"HTTP {status} with no error message"
    kwargs: dict[str, Any] = {"provider": provider, "status_code": status, "code": code}
    if status in (401, 403):
        return AuthenticationError(f"{text} (check the API key and its permissions)", **kwargs)
    if status == 408:
        return APITimeoutError(text, **kwargs)
    if status == 429:
        return RateLimitError(text, retry_after=retry_after_seconds(raw.headers), **kwargs)
    if status >= 500:
        return ProviderError(text, retryable=True, **kwargs)
    return InvalidRequestError(text, **kwargs)


def error_message(
    body: Any, paths: Iterable[str] = ("message", "detail", "error.message")
) -> str | None:
    """The first string found at one of the dotted ``paths`` of a decoded error body."""
    for path in paths:
        node = body
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, str) and node:
            return node
        if isinstance(node, list) and node:  # FastAPI validation details
            return json.dumps(node)[:500]
    return None


def loads_or_none(raw: RawResponse) -> Any:
    """The decoded body, or None when it is not JSON (or nests too deep to decode)."""
    try:
        return json.loads(raw.content) if raw.content else None
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


def standard_error(
    raw: RawResponse,
    provider: str,
    paths: Iterable[str] = ("message", "detail", "error.message"),
    code_paths: Iterable[str] = (),
) -> RerankError:
    """``error_for_status`` with the message (and code) read from a JSON body, if any."""
    body = loads_or_none(raw)
    message = error_message(body, paths)
    if message is None and raw.content and body is None:
        message = raw.content[:300].decode("utf-8", "replace")
    code = error_message(body, code_paths) if code_paths else None
    return error_for_status(raw, provider=provider, message=message, code=code)


def retry_as_sdk(
    err: RerankError,
    raw: RawResponse,
    statuses: Container[int],
    *,
    should_retry_header: bool = False,
) -> RerankError:
    """``err``, retryable exactly when the provider's own SDK would retry ``raw``: its status
    set, overridden (when that SDK honours it) by an ``x-should-retry: true|false`` header."""
    override = raw.header("x-should-retry") if should_retry_header else None
    if override in ("true", "false"):
        err.retryable = override == "true"
    else:
        err.retryable = raw.status_code in statuses
    return err
