"""Embedded rerankers that run in this process: BM25 (``bm25``) and cross-encoders
(``cross-encoder:<name-or-path>``). The ``local`` provider (``providers/local.py``) calls them.

Nothing heavy is imported here: ``bm25s`` and ``sentence_transformers`` load on first use.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InvalidRequestError

__all__ = ["CROSS_ENCODER_PREFIX", "LocalModel", "MissingDependencyError", "parse_model"]

CROSS_ENCODER_PREFIX = "cross-encoder:"
KNOWN_MODELS = ("bm25", "cross-encoder:<name-or-path>")


class MissingDependencyError(InvalidRequestError, ImportError):
    """A local model needs a package that is not installed; the message names the extra."""

    def __init__(self, model: str, package: str, extra: str) -> None:
        super().__init__(
            f"local/{model} needs the `{package}` package, which is not installed: "
            f"pip install 'unified-rerank[{extra}]'",
            provider="local",
        )


@dataclass(frozen=True)
class LocalModel:
    """A parsed local model id: ``kind`` is ``"bm25"`` or ``"cross-encoder"``."""

    kind: str
    name: str | None = None


def parse_model(model: str) -> LocalModel:
    """``"bm25"`` or ``"cross-encoder:<name-or-path>"``; anything else is an error listing both."""
    if model == "bm25":
        return LocalModel("bm25")
    if model.startswith(CROSS_ENCODER_PREFIX):
        name = model[len(CROSS_ENCODER_PREFIX) :].strip()
        if name:
            return LocalModel("cross-encoder", name)
        raise InvalidRequestError(
            "local/cross-encoder: needs a model name or path, e.g. "
            "'local/cross-encoder:cross-encoder/ms-marco-MiniLM-L6-v2'",
            provider="local",
        )
    raise InvalidRequestError(
        f"unknown local model {model!r}; the local provider has: "
        + ", ".join(f"'local/{m}'" for m in KNOWN_MODELS),
        provider="local",
    )
