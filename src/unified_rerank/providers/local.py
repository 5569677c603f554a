"""The embedded ``local`` provider: reranking in this process, no HTTP, no key.

Models: ``local/bm25`` (lexical BM25 with ``bm25s``, extra ``[bm25]``, no download) and
``local/cross-encoder:<name-or-path>`` (a sentence-transformers ``CrossEncoder`` from a local
folder or the Hugging Face hub, extra ``[local]``, loaded lazily and cached per process).
The client calls :func:`run_local` directly (``rerank``) or in a worker thread (``arerank``),
so CPU work stays off the event loop. Nothing is billed: usage is empty.

Request fields: ``rank_fields`` render objects as for string-only providers;
``max_tokens_per_doc`` keeps each document's first N tokens (BM25 tokens, or the model's
tokens for a cross-encoder); ``truncation=False`` makes an over-long document an error instead;
``priority`` is ignored (nothing is queued); ``parameters`` may hold ``k1`` and ``b`` for BM25.
Client options: ``device`` (``"auto"``: cuda, else mps, else cpu), ``batch_size``,
``stopwords`` (a bm25s list name, ``"none"``; default English), ``trust_remote_code``,
``cache_folder``, ``local_files_only``.
"""

from __future__ import annotations

import math
from typing import Any

from ..errors import InvalidRequestError
from ..local import LocalModel, parse_model
from ..schema import RerankRequest, RerankResponse, checked_usage
from .base import ClientConfig, RawResponse, finish, render_texts

SLUG = "local"
ENV_KEYS: tuple[str, ...] = ()
OPTIONS: frozenset[str] = frozenset(
    {"device", "batch_size", "stopwords", "trust_remote_code", "cache_folder", "local_files_only"}
)
BM25_PARAMETERS = frozenset({"k1", "b"})

_NO_HTTP = RawResponse(200, {}, b"")


def _bad(message: str) -> InvalidRequestError:
    return InvalidRequestError(message, provider=SLUG)


def validate(request: RerankRequest, config: ClientConfig) -> None:
    """Model name, options and parameters, checked before any model is loaded."""
    model = parse_model(request.model)
    opts = config.options
    batch_size = opts.get("batch_size")
    if batch_size is not None and (
        isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1
    ):
        raise _bad(f"batch_size must be an integer >= 1, got {batch_size!r}")
    for name in ("device", "stopwords", "cache_folder"):
        value = opts.get(name)
        if value is not None and not (isinstance(value, str) and value):
            raise _bad(f"{name} must be a non-empty string, got {value!r}")
    for name in ("trust_remote_code", "local_files_only"):
        if not isinstance(opts.get(name, False), bool):
            raise _bad(f"{name} must be true or false, got {opts[name]!r}")
    _bm25_parameters(request, model)


def _bm25_parameters(request: RerankRequest, model: LocalModel) -> dict[str, float]:
    params = dict(request.parameters or {})
    if not params:
        return {}
    allowed = BM25_PARAMETERS if model.kind == "bm25" else frozenset()
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise _bad(
            f"unknown parameters {unknown} for local/{request.model}; "
            f"it accepts: {sorted(allowed) or 'none'}"
        )
    out: dict[str, float] = {}
    for name, value in params.items():
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or value < 0
        ):
            raise _bad(f"parameters.{name} must be a number >= 0, got {value!r}")
        out[name] = float(value)
    return out


def run_local(request: RerankRequest, config: ClientConfig) -> RerankResponse:
    model = parse_model(request.model)
    texts = render_texts(request)
    opts = config.options
    scores: list[float]
    if model.kind == "bm25":
        from ..local import bm25

        scores = bm25.score(
            request.query,
            texts,
            stopwords=opts.get("stopwords", bm25.DEFAULT_STOPWORDS),
            max_tokens=request.max_tokens_per_doc,
            truncation=request.truncation,
            **_bm25_parameters(request, model),
        )
    else:
        from ..local import cross_encoder

        assert model.name is not None
        scores = cross_encoder.score(
            model.name,
            request.query,
            texts,
            device=opts.get("device"),
            batch_size=opts.get("batch_size", cross_encoder.DEFAULT_BATCH_SIZE),
            max_tokens=request.max_tokens_per_doc,
            truncation=request.truncation,
            trust_remote_code=opts.get("trust_remote_code", False),
            cache_folder=opts.get("cache_folder"),
            local_files_only=opts.get("local_files_only", False),
        )
    items: list[dict[str, Any]] = [{"index": i, "score": s} for i, s in enumerate(scores)]
    return finish(request, _NO_HTTP, items, provider=SLUG, score_key="score", usage=checked_usage())
