"""The provider registry: slug -> module, imported on first use; ``"provider/model"`` parsing.

Adding a provider is one line here and one module; nothing else branches on provider names.
"""

from __future__ import annotations

import importlib
import threading

from ..errors import InvalidRequestError
from .base import Provider

__all__ = ["PROVIDERS", "get_provider", "known_slugs", "split_model"]

#: slug -> module path (relative to this package). Modules are imported only when used.
PROVIDERS: dict[str, str] = {
    "cohere": ".cohere",
    "voyage": ".voyage",
    "jina": ".jina",
    "pinecone": ".pinecone",
    "bedrock": ".bedrock",
    "azure-ai": ".azure_ai",
    "vertex-ai": ".vertex_ai",
    "watsonx": ".watsonx",
    "deepinfra": ".deepinfra",
    "fireworks": ".fireworks",
    "dashscope": ".dashscope",
    "tei": ".tei",
    "infinity": ".infinity",
    "vllm": ".vllm",
    "llamacpp": ".llamacpp",
    "xinference": ".xinference",
    "together": ".together",
    "mixedbread": ".mixedbread",
    "nvidia": ".nvidia",
    "portkey": ".portkey",
    "local": ".local",
}

_loaded: dict[str, Provider] = {}
_lock = threading.Lock()


def known_slugs() -> list[str]:
    return list(PROVIDERS)


def get_provider(slug: str) -> Provider:
    """The provider for ``slug``, importing its module the first time."""
    provider = _loaded.get(slug)
    if provider is not None:
        return provider
    path = PROVIDERS.get(slug)
    if path is None:
        raise InvalidRequestError(
            f"unknown provider {slug!r}; known providers: {', '.join(PROVIDERS)}"
        )
    with _lock:
        provider = _loaded.get(slug)
        if provider is None:
            provider = Provider.from_module(importlib.import_module(path, __name__))
            _loaded[slug] = provider
    return provider


def split_model(model: str, provider: str | None) -> tuple[str, str]:
    """``(slug, model id)`` for a request.

    With ``provider`` given, the model is used as is (a leading ``"<provider>/"`` is dropped).
    Without it, the prefix before the first ``/`` must be a known slug, so
    ``"vllm/BAAI/bge-reranker-v2-m3"`` works and ``"BAAI/bge-reranker-v2-m3"`` alone is an error.
    """
    if provider is not None:
        if provider not in PROVIDERS:
            raise InvalidRequestError(
                f"unknown provider {provider!r}; known providers: {', '.join(PROVIDERS)}"
            )
        prefix = provider + "/"
        return provider, model[len(prefix) :] if model.startswith(prefix) else model
    slug, sep, rest = model.partition("/")
    if sep and slug in PROVIDERS and rest:
        return slug, rest
    if sep and slug and rest:
        raise InvalidRequestError(
            f"unknown provider {slug!r} in model {model!r}; known providers: "
            f"{', '.join(PROVIDERS)} (a model id with a '/' of its own goes after one of "
            "them, e.g. 'vllm/BAAI/bge-reranker-v2-m3', or pass provider=...)"
        )
    raise InvalidRequestError(
        f"cannot tell the provider of model {model!r}: write it as 'provider/model-id' "
        f"or pass provider=...; known providers: {', '.join(PROVIDERS)}"
    )
