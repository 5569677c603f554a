"""Errors as HTTP answers: ``{"error": {"message", "type", "code"}, "provider"}``.

An upstream's own status is kept where there was one (400, 401, 403, 404, 422, 429, 5xx);
an unreachable upstream or an answer that is not a valid ranking is 502, a timeout 504. The
core's messages never hold a key; the credentials a URL may carry (``user:pass@``) are cut
out before a message leaves.
"""

from __future__ import annotations

import math
import re

from pydantic_core import to_json

from ..errors import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    InvalidRequestError,
    ProviderError,
    RateLimitError,
    RerankError,
)

__all__ = ["HttpError", "from_rerank_error"]

#: ``user:password@`` in a URL an error message names (an upstream's base URL may hold one).
_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")


class HttpError(Exception):
    """An answer other than 200: its status, error type and code, and extra headers."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        provider: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.provider = provider
        self.headers = headers or {}

    def body(self) -> bytes:
        return to_json(
            {
                "error": {"message": self.message, "type": self.type, "code": self.code},
                "provider": self.provider,
            }
        )


#: error class -> (its ``type`` in the body, the status when the upstream gave none)
_KINDS: list[tuple[type[RerankError], str, int]] = [
    (InvalidRequestError, "invalid_request_error", 400),
    (AuthenticationError, "authentication_error", 401),
    (RateLimitError, "rate_limit_error", 429),
    (APITimeoutError, "timeout_error", 504),
    (APIConnectionError, "connection_error", 502),
    (ProviderError, "provider_error", 502),
]


def from_rerank_error(err: RerankError) -> HttpError:
    """The answer for an error the core raised."""
    kind, status = "provider_error", 502
    for cls, name, default in _KINDS:
        if isinstance(err, cls):
            kind, status = name, default
            break
    upstream = err.status_code
    if isinstance(err, APITimeoutError):
        status = 504  # an upstream 408 too: the gateway timed out waiting on it
    elif upstream is not None and 400 <= upstream <= 599:
        status = upstream
    # else: no HTTP exchange, or a 2xx that was not a valid ranking (502)
    headers = {}
    retry_after = getattr(err, "retry_after", None)
    if isinstance(err, RateLimitError) and retry_after is not None:
        headers["retry-after"] = str(max(0, math.ceil(retry_after)))
    message = _USERINFO.sub("***@", err.message)
    return HttpError(
        status, message, type=kind, code=err.code, provider=err.provider, headers=headers
    )
