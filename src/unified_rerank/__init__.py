"""unified-rerank: one rerank call for every reranking service.

Public names load lazily, so ``import unified_rerank`` stays cheap; the errors are plain
Python and load at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    InvalidRequestError,
    ProviderError,
    RateLimitError,
    RerankError,
)

if TYPE_CHECKING:
    from .client import RerankClient, arerank, rerank
    from .schema import Reranker, RerankRequest, RerankResponse, RerankResult, Usage

__version__ = "0.1.0"

__all__ = [
    "APIConnectionError",
    "APITimeoutError",
    "AuthenticationError",
    "InvalidRequestError",
    "ProviderError",
    "RateLimitError",
    "RerankClient",
    "RerankError",
    "RerankRequest",
    "RerankResponse",
    "RerankResult",
    "Reranker",
    "Usage",
    "arerank",
    "rerank",
]

_LAZY = {
    "RerankClient": "client",
    "rerank": "client",
    "arerank": "client",
    "RerankRequest": "schema",
    "RerankResponse": "schema",
    "RerankResult": "schema",
    "Reranker": "schema",
    "Usage": "schema",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'unified_rerank' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
