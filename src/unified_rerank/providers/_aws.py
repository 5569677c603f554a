"""AWS plumbing for the ``bedrock`` provider: credentials, profile regions and SigV4 signing.

``botocore`` is the optional extra ``unified-rerank[bedrock]``. It is imported here only, and
only when a call is signed (or when the region has to come from an AWS profile), never when
``unified_rerank`` or the provider module is imported.

Credentials follow botocore's own chain (explicit options, then environment variables, shared
config and credentials files with ``profile``, SSO, container and instance roles). Resolving
them may read files or call a metadata endpoint, so it happens lazily, inside the signer the
transport calls before every attempt, never while a call is planned. One botocore session and
its credentials object are cached per profile; botocore refreshes temporary credentials itself
(``get_frozen_credentials`` refreshes when they are about to expire).
"""

from __future__ import annotations

import importlib.util
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from ..errors import AuthenticationError, RerankError
from .base import HttpCall, Signer

__all__ = [
    "AUTH_HEADERS",
    "MISSING_BOTOCORE",
    "SIGNING_NAME",
    "StaticCredentials",
    "clear_cache",
    "has_botocore",
    "profile_region",
    "sign",
    "signer",
]

PROVIDER = "bedrock"
#: Both Bedrock APIs sign as ``bedrock`` (not ``bedrock-agent-runtime``): providers.md 5.1/5.2.
SIGNING_NAME = "bedrock"
#: The headers SigV4 adds; the transport merges them into each attempt's headers.
AUTH_HEADERS = ("Authorization", "X-Amz-Date", "X-Amz-Security-Token", "X-Amz-Content-SHA256")
MISSING_BOTOCORE = (
    "bedrock signs requests with AWS SigV4, which needs botocore: "
    'pip install "unified-rerank[bedrock]"'
)


@dataclass(frozen=True)
class StaticCredentials:
    """Credentials passed as client options; the dataclass repr shows only ``**********``."""

    access_key_id: SecretStr
    secret_access_key: SecretStr
    session_token: SecretStr | None = None


def has_botocore() -> bool:
    """Whether botocore can be imported, without importing it."""
    if "botocore" in sys.modules:
        return sys.modules["botocore"] is not None
    return importlib.util.find_spec("botocore") is not None


# --- botocore sessions and credentials, cached per profile ---------------------------------

_lock = threading.Lock()
_sessions: dict[str | None, Any] = {}
_credentials: dict[str | None, Any] = {}


def clear_cache() -> None:
    """Forget cached sessions and credentials (tests; after changing AWS configuration)."""
    with _lock:
        _sessions.clear()
        _credentials.clear()


def _import_botocore() -> Any:
    try:
        import botocore.auth
        import botocore.awsrequest
        import botocore.credentials
        import botocore.exceptions
        import botocore.session
    except ImportError:
        raise AuthenticationError(MISSING_BOTOCORE, provider=PROVIDER) from None
    return botocore


def _session(profile: str | None) -> Any:
    """The cached botocore session for ``profile`` (None: botocore's default, ``AWS_PROFILE``).

    Call with ``_lock`` held.
    """
    session = _sessions.get(profile)
    if session is None:
        botocore = _import_botocore()
        session = botocore.session.Session(profile=profile)
        _sessions[profile] = session
    return session


def _aws_failure(exc: Exception, profile: str | None, what: str) -> AuthenticationError:
    # botocore's messages name files, profiles and variables, never secret values.
    where = f" (profile {profile!r})" if profile else ""
    return AuthenticationError(
        f"could not {what}{where}: {type(exc).__name__}: {exc}", provider=PROVIDER
    )


def profile_region(profile: str | None) -> str | None:
    """The region set in the AWS config for ``profile``; None without botocore or a region.

    Reads the shared config file (once per profile: the session is cached).
    """
    if not has_botocore():
        return None
    botocore = _import_botocore()
    with _lock:
        try:
            region = _session(profile).get_config_variable("region")
        except botocore.exceptions.BotoCoreError as exc:
            raise _aws_failure(exc, profile, "read the AWS configuration") from None
    return region if isinstance(region, str) and region else None


def frozen_credentials(profile: str | None, static: StaticCredentials | None) -> Any:
    """A consistent (access key, secret key, token) triple for one signature."""
    botocore = _import_botocore()
    if static is not None:
        token = static.session_token.get_secret_value() if static.session_token else None
        return botocore.credentials.Credentials(
            static.access_key_id.get_secret_value(),
            static.secret_access_key.get_secret_value(),
            token,
        ).get_frozen_credentials()
    failures = (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError)
    with _lock:
        credentials = _credentials.get(profile)
        if credentials is None:
            try:
                credentials = _session(profile).get_credentials()
            except failures as exc:
                raise _aws_failure(exc, profile, "load AWS credentials") from None
            if credentials is None:
                # Not cached: credentials set up later (env, `aws sso login`) are found next time.
                raise AuthenticationError(
                    "no AWS credentials found"
                    + (f" for profile {profile!r}" if profile else "")
                    + ": set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, configure a profile "
                    "(profile=... or AWS_PROFILE), run `aws sso login`, or pass "
                    "aws_access_key_id=... and aws_secret_access_key=...; for InvokeModel "
                    "with a cohere.* model id a Bedrock API key also works "
                    "(api_key=... or AWS_BEARER_TOKEN_BEDROCK)",
                    provider=PROVIDER,
                )
            _credentials[profile] = credentials
    try:
        # Refreshes temporary credentials (SSO, roles) that are about to expire.
        return credentials.get_frozen_credentials()
    except failures as exc:
        raise _aws_failure(exc, profile, "refresh AWS credentials") from None


# --- signing ---------------------------------------------------------------------------------


def sign(call: HttpCall, region: str, credentials: Any) -> dict[str, str]:
    """The SigV4 headers for ``call`` (method, URL, every header it sends, body)."""
    botocore = _import_botocore()
    request = botocore.awsrequest.AWSRequest(
        method=call.method, url=call.url, data=call.body, headers=dict(call.headers)
    )
    try:
        botocore.auth.SigV4Auth(credentials, SIGNING_NAME, region).add_auth(request)
    except botocore.exceptions.BotoCoreError as exc:
        raise _aws_failure(exc, None, "sign the request") from None
    headers: Mapping[str, str] = request.headers
    return {name: str(headers[name]) for name in AUTH_HEADERS if name in headers}


def signer(region: str, profile: str | None, static: StaticCredentials | None) -> Signer:
    """A signer for ``HttpCall.signer``: fresh credentials and signature on every attempt."""

    def sign_call(call: HttpCall) -> Mapping[str, str]:
        try:
            return sign(call, region, frozen_credentials(profile, static))
        except RerankError:
            raise
        except Exception as exc:  # any other credential-chain failure is still a RerankError
            raise _aws_failure(exc, profile, "sign the request") from exc

    return sign_call
