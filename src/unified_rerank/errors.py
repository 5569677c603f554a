"""The error tree. Every error the package raises derives from :class:`RerankError`.

Names follow the OpenAI SDK (``APITimeoutError``, ``APIConnectionError``) so no builtin is
shadowed. Each error says whether a retry may help (``retryable``); the transport reads only
that, so retry policy never needs to know a provider's field names.
"""

from __future__ import annotations

__all__ = [
    "APIConnectionError",
    "APITimeoutError",
    "AuthenticationError",
    "InvalidRequestError",
    "ProviderError",
    "RateLimitError",
    "RerankError",
]


class RerankError(Exception):
    """Base of every error raised by unified-rerank.

    Attributes:
        provider: the provider slug, or None when no provider was chosen yet.
        status_code: the HTTP status, or None when no HTTP exchange happened.
        code: the provider's own error code (``"INVALID_ARGUMENT"``, ``"ThrottlingException"``).
        retryable: whether sending the same request again may succeed.
    """

    default_retryable = False

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        status_code: int | None = None,
        code: str | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.status_code = status_code
        self.code = code
        self.retryable = self.default_retryable if retryable is None else retryable

    def __str__(self) -> str:
        where = []
        if self.provider:
            where.append(self.provider)
        if self.status_code is not None:
            where.append(f"HTTP {self.status_code}")
        if self.code:
            where.append(self.code)
        return f"[{', '.join(where)}] {self.message}" if where else self.message

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(message={self.message!r}, provider={self.provider!r}, "
            f"status_code={self.status_code!r}, code={self.code!r})"
        )

    def __reduce__(self) -> tuple[object, ...]:
        # Keep errors picklable (multiprocessing, caches) with their keyword-only attributes.
        return (_rebuild, (type(self), self.message, dict(self.__dict__)))


def _rebuild(cls: type[RerankError], message: str, state: dict[str, object]) -> RerankError:
    err = cls.__new__(cls)
    Exception.__init__(err, message)
    err.__dict__.update(state)
    return err


class InvalidRequestError(RerankError):
    """Bad input, caught before any network call, or a 400/404/422 from the provider."""


class AuthenticationError(RerankError):
    """A missing or rejected key or credentials (401/403)."""


class RateLimitError(RerankError):
    """The provider throttled the call (429, or a quota error). Retried with backoff."""

    default_retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class ProviderError(RerankError):
    """The provider failed (5xx) or answered something that is not a valid ranking."""


class APITimeoutError(RerankError):
    """No answer within the timeout (or an HTTP 408)."""

    default_retryable = True


class APIConnectionError(RerankError):
    """The connection failed or broke before a full answer arrived."""

    default_retryable = True
