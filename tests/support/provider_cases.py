"""What the provider tests (``tests/test_<provider>.py``) share: the documents their cassettes
were recorded with, a sync-or-async call, and the environment variables every provider reads.

The document lists are part of the recorded request bodies (cassettes match on the JSON
body), so changing one means re-recording every cassette that sends it. They are typed as
``RerankClient.rerank`` takes its ``documents``.
"""

from __future__ import annotations

import importlib
from typing import Any

from unified_rerank import RerankClient, RerankResponse
from unified_rerank.providers import PROVIDERS

__all__ = ["CAPITALS", "CAPITALS_ANSWER_SECOND", "HOTELS", "call", "provider_variables"]

#: Three texts, the answer first.
CAPITALS: list[str | dict[str, Any]] = [
    "Paris is the capital of France.",
    "Berlin is in Germany.",
    "The Eiffel Tower is in Paris.",
]
#: Three texts, the answer second (the Vertex AI and watsonx cassettes).
CAPITALS_ANSWER_SECOND: list[str | dict[str, Any]] = [
    "Berlin is in Germany.",
    "Paris is the capital.",
    "The Eiffel Tower is in Paris.",
]
#: Object documents for ``rank_fields`` and the back-fill of returned documents; the first
#: carries a field (``id``) that is not ranked on.
HOTELS: list[str | dict[str, Any]] = [
    {"title": "Airport Inn", "text": "airport hotel with meeting rooms", "id": 7},
    {"title": "Sunny Beach", "text": "beach resort with nightlife"},
    {"title": "Old Town", "text": "calm boutique hotel near the business district"},
]


async def call(c: RerankClient, mode: str, **fields: Any) -> RerankResponse:
    """``c.rerank`` when ``mode`` is ``"sync"``, else ``await c.arerank``."""
    if mode == "sync":
        return c.rerank(**fields)
    return await c.arerank(**fields)


def provider_variables() -> tuple[str, ...]:
    """Every environment variable a registered provider reads: its ``ENV_KEYS`` and each
    module-level ``*_ENV`` name (``BASE_URL_ENV``, ``CREDENTIAL_ENV``, ``REGION_ENV``, ...),
    so a new provider is covered without a list to keep up to date."""
    names: set[str] = set()
    for path in PROVIDERS.values():
        module = importlib.import_module(path, "unified_rerank.providers")
        for attribute, value in vars(module).items():
            if attribute == "ENV_KEYS" or attribute.endswith("_ENV"):
                names.update((value,) if isinstance(value, str) else value)
    return tuple(sorted(names))
