"""What the SDK conformance tests share: one request as the loopback got it, the field-by-field
comparison of two of them with the intended differences listed, and error categories.

An intended difference is a ``"header:<name>"``, ``"body:<field>"`` or ``"query:<name>"`` key
with its reason; a listed difference that does not occur fails too, so the lists stay true.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.support.loopback import Received
from unified_rerank import (
    APITimeoutError,
    AuthenticationError,
    InvalidRequestError,
    ProviderError,
    RateLimitError,
    RerankError,
)

#: Headers each HTTP library sets its own way; never part of the comparison.
LIBRARY_HEADERS = frozenset(
    {"host", "content-length", "connection", "accept-encoding", "user-agent"}
)
#: Credentials: compared by each case's ``auth`` reader (a SigV4 signature differs each time).
AUTH_HEADERS = frozenset({"authorization", "api-key"})


@dataclass(frozen=True)
class Wire:
    """One request as the loopback got it: header names lower-cased, the body decoded."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any

    @classmethod
    def of(cls, received: Received) -> Wire:
        parts = urlsplit(received.path)
        return cls(
            received.method,
            parts.path,
            parse_qs(parts.query, keep_blank_values=True),
            {k.lower(): v for k, v in received.headers.items()},
            json.loads(received.body) if received.body else None,
        )


def differences(sdk: Wire, ours: Wire) -> dict[str, tuple[Any, Any]]:
    """Every field that differs: ``"method"``, ``"path"``, ``"query:<name>"``,
    ``"header:<name>"`` (library and auth headers aside), ``"body:<field>"`` -> (SDK's, ours)."""
    found: dict[str, tuple[Any, Any]] = {}
    if sdk.method != ours.method:
        found["method"] = (sdk.method, ours.method)
    if sdk.path != ours.path:
        found["path"] = (sdk.path, ours.path)
    for name in sorted(set(sdk.query) | set(ours.query)):
        if sdk.query.get(name) != ours.query.get(name):
            found[f"query:{name}"] = (sdk.query.get(name), ours.query.get(name))
    for name in sorted((set(sdk.headers) | set(ours.headers)) - LIBRARY_HEADERS - AUTH_HEADERS):
        if sdk.headers.get(name) != ours.headers.get(name):
            found[f"header:{name}"] = (sdk.headers.get(name), ours.headers.get(name))
    sdk_body = sdk.body if isinstance(sdk.body, dict) else {"": sdk.body}
    our_body = ours.body if isinstance(ours.body, dict) else {"": ours.body}
    for name in sorted(set(sdk_body) | set(our_body)):
        if sdk_body.get(name, _ABSENT) != our_body.get(name, _ABSENT):
            found[f"body:{name}"] = (sdk_body.get(name, _ABSENT), our_body.get(name, _ABSENT))
    return found


_ABSENT = "<absent>"


def assert_same_wire(
    sdk: Wire,
    ours: Wire,
    intended: Mapping[str, str],
    auth: Callable[[Mapping[str, str]], Any],
) -> None:
    """Method, path, query, auth scheme, provider headers and body equal, except the intended
    differences (each must occur). ``auth`` reads the comparable part of the auth headers."""
    assert auth(ours.headers) == auth(sdk.headers), "auth differs"
    found = differences(sdk, ours)
    unexplained = {k: v for k, v in found.items() if k not in intended}
    assert not unexplained, f"differences not listed as intended: {unexplained}"
    stale = sorted(set(intended) - set(found))
    assert not stale, f"listed as intended but equal now: {stale}"


def bearer(headers: Mapping[str, str]) -> str | None:
    return headers.get("authorization")


_SIGV4 = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/\d{8}/(?P<scope>[^,]+), "
    r"SignedHeaders=(?P<signed>[^,]+), Signature=[0-9a-f]{64}"
)


def sigv4(headers: Mapping[str, str]) -> tuple[str, str]:
    """The SigV4 key id and scope (region/service/aws4_request); the signature and the
    signed-header list depend on the time and on each library's headers."""
    match = _SIGV4.fullmatch(headers.get("authorization", ""))
    assert match, headers.get("authorization")
    return match["key"], match["scope"]


# --- answers and errors -----------------------------------------------------------------------

#: One category per kind of failure, for our errors and the SDKs' alike.
CATEGORIES: dict[type[RerankError], str] = {
    InvalidRequestError: "invalid_request",
    AuthenticationError: "authentication",
    RateLimitError: "rate_limit",
    APITimeoutError: "timeout",
    ProviderError: "provider",
}


def our_category(err: RerankError) -> str:
    return next(c for kind, c in CATEGORIES.items() if isinstance(err, kind))


#: An SDK exception's class name (or AWS error code) -> category, first match wins.
_SDK_NAMES = (
    ("InvalidToken", "authentication"),
    ("Unauthorized", "authentication"),
    ("Authentication", "authentication"),
    ("AccessDenied", "authentication"),
    ("Forbidden", "authentication"),
    ("TooManyRequests", "rate_limit"),
    ("RateLimit", "rate_limit"),
    ("Throttling", "rate_limit"),
    ("ServiceQuotaExceeded", "rate_limit"),
    ("ModelNotReady", "rate_limit"),
    ("Timeout", "timeout"),
    ("BadRequest", "invalid_request"),
    ("InvalidRequest", "invalid_request"),
    ("Validation", "invalid_request"),
    ("UnprocessableEntity", "invalid_request"),
    ("InternalServer", "provider"),
    ("ServerError", "provider"),
    ("ServiceUnavailable", "provider"),
    ("ServiceError", "provider"),
    ("ModelError", "provider"),
    ("DependencyFailed", "provider"),
    ("BadGateway", "provider"),
)


def status_category(status: int) -> str:
    if status in (401, 403, 498):
        return "authentication"
    if status == 429:
        return "rate_limit"
    if status == 408:
        return "timeout"
    return "provider" if status >= 500 else "invalid_request"


def sdk_category(exc: BaseException, status: int) -> str:
    """The category an SDK's exception names; for a bare class (pinecone's ``ApiError`` for a
    400, NVIDIA's plain ``Exception``) the status it reports."""
    name = type(exc).__name__
    response = getattr(exc, "response", None)
    if isinstance(response, dict):  # botocore's ClientError: the AWS error code
        name = response.get("Error", {}).get("Code", name)
    return next((c for part, c in _SDK_NAMES if part in name), None) or status_category(status)


def retries(received: list[Received]) -> int:
    return len(received) - 1


@contextmanager
def no_backoff_sleeps(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Retries without waiting, for the SDKs and for us: ``time.sleep`` returns at once (and
    pinecone's own bound copy of it). Counts, not waits, are compared."""
    import time

    monkeypatch.setattr(time, "sleep", lambda seconds: None)
    try:
        from pinecone._internal import http_client
    except ImportError:
        pass
    else:
        monkeypatch.setattr(http_client, "_retry_sleep", lambda seconds: None)
    yield
