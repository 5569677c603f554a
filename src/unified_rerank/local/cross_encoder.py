"""Cross-encoder reranking in this process with ``sentence-transformers`` (extra ``[local]``).

A model (a Hugging Face hub name or a local folder) is loaded lazily on first use and cached
per name and load options for the life of the process; loading is thread-safe (one load per
key, even when many threads ask at once) and scoring holds a per-model lock, because a fast
tokenizer must not be used by two threads at once ("Already borrowed").
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import APIConnectionError, InvalidRequestError, ProviderError
from . import MissingDependencyError

__all__ = ["DEFAULT_BATCH_SIZE", "clear_cache", "load", "pick_device", "score"]

DEFAULT_BATCH_SIZE = 32


@dataclass
class _Entry:
    model: Any
    lock: threading.Lock = field(default_factory=threading.Lock)


_CACHE: dict[tuple[Any, ...], _Entry] = {}
_LOAD_LOCKS: dict[tuple[Any, ...], threading.Lock] = {}
_GUARD = threading.Lock()


def _cross_encoder_class(name: str) -> Any:
    try:
        from sentence_transformers import CrossEncoder
    except ImportError:
        raise MissingDependencyError(
            f"cross-encoder:{name}", "sentence-transformers", "local"
        ) from None
    return CrossEncoder


def pick_device(requested: str | None = None) -> str:
    """``requested`` unless it is None or ``"auto"``: then cuda if available, else mps, else cpu."""
    if requested and requested != "auto":
        return requested
    import torch

    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def load(
    name: str,
    *,
    device: str | None = None,
    trust_remote_code: bool = False,
    cache_folder: str | None = None,
    local_files_only: bool = False,
) -> Any:
    """The cached ``CrossEncoder`` for ``name`` and these options, loading it the first time."""
    return _entry(name, device, trust_remote_code, cache_folder, local_files_only).model


def _entry(
    name: str,
    device: str | None,
    trust_remote_code: bool,
    cache_folder: str | None,
    local_files_only: bool,
) -> _Entry:
    cls = _cross_encoder_class(name)
    device = pick_device(device)
    key = (name, device, trust_remote_code, cache_folder, local_files_only)
    entry = _CACHE.get(key)
    if entry is not None:
        return entry
    with _GUARD:
        gate = _LOAD_LOCKS.setdefault(key, threading.Lock())
    with gate:  # one load per key; other keys load in parallel
        entry = _CACHE.get(key)
        if entry is None:
            kwargs: dict[str, Any] = {"device": device}
            # Only non-default options are passed, so older sentence-transformers keep working.
            if trust_remote_code:
                kwargs["trust_remote_code"] = True
            if cache_folder is not None:
                kwargs["cache_folder"] = cache_folder
            if _must_load_offline(name, cache_folder, local_files_only) or local_files_only:
                kwargs["local_files_only"] = True
            try:
                model = cls(name, **kwargs)
            except (OSError, ValueError) as exc:  # not found, not a model, no network
                raise InvalidRequestError(
                    f"cannot load cross-encoder {name!r} (a Hugging Face model name or a local "
                    f"folder): {exc}",
                    provider="local",
                ) from None
            except Exception as exc:
                raise ProviderError(
                    f"cannot load cross-encoder {name!r}: {type(exc).__name__}: {exc}",
                    provider="local",
                ) from None
            entry = _Entry(model)
            _CACHE[key] = entry
    return entry


#: A Hugging Face repo id (``name`` or ``owner/name``), as opposed to a folder path.
_REPO_ID = re.compile(r"[\w.-]+(/[\w.-]+)?")
_TRUE = {"1", "ON", "YES", "TRUE"}
#: Seconds the hub probe waits; its answer is kept this long too (the network may return).
PROBE_TIMEOUT = 3.0
_probes: dict[str, tuple[float, bool]] = {}


def _must_load_offline(name: str, cache_folder: str | None, local_files_only: bool) -> bool:
    """Whether to load ``name`` from the local cache only, checked before Hugging Face tries
    the hub (with no network it retries for about a minute, then fails as a bad name).

    A folder, or a model id the hub may be asked for: False. Hub use turned off (the
    ``local_files_only`` option, ``HF_HUB_OFFLINE``) or the hub not answering one quick probe:
    True when the model is in the local cache, else an ``APIConnectionError`` saying how to
    get it."""
    if os.path.isdir(name) or not _REPO_ID.fullmatch(name) or name.startswith("."):
        return False
    offline = [v for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE") if _env_true(v)]
    why = "local_files_only is set" if local_files_only else " / ".join(offline) + " is set"
    if not (local_files_only or offline):
        endpoint = _hub_endpoint()
        if _hub_answers(endpoint):
            return False
        why = f"the Hugging Face hub ({endpoint}) cannot be reached"
    if _in_local_cache(name, cache_folder):
        return True
    raise APIConnectionError(
        f"cross-encoder {name!r} is not in the local Hugging Face cache and {why}: download "
        f"it once where there is network (`hf download {name}`), then it loads offline "
        "(HF_HUB_OFFLINE=1 skips the hub), or give a local folder",
        provider="local",
    )


def _env_true(name: str) -> bool:
    return os.environ.get(name, "").strip().upper() in _TRUE


def _hub_endpoint() -> str:
    from huggingface_hub import constants

    return (os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")


def _hub_answers(endpoint: str) -> bool:
    """One request to the hub, no retries: any HTTP answer means it can be reached."""
    import httpx

    now = time.monotonic()
    known = _probes.get(endpoint)
    if known is not None and now - known[0] < PROBE_TIMEOUT * 10:
        return known[1]
    try:
        httpx.head(f"{endpoint}/api/models", timeout=PROBE_TIMEOUT)
        answers = True
    except httpx.HTTPError:
        answers = False
    _probes[endpoint] = (now, answers)
    return answers


def _in_local_cache(name: str, cache_folder: str | None) -> bool:
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(name, "config.json", cache_dir=cache_folder)
    return isinstance(found, str)


def clear_cache() -> None:
    """Forget every loaded model (tests; freeing memory)."""
    with _GUARD:
        _CACHE.clear()
        _LOAD_LOCKS.clear()
        _probes.clear()


def _max_length(model: Any) -> int | None:
    limit = getattr(model, "max_seq_length", None)  # sentence-transformers >= 5
    if limit is None:
        limit = model.__dict__.get("max_length")  # older CrossEncoder attribute
    if limit is None:
        limit = getattr(getattr(model, "tokenizer", None), "model_max_length", None)
    return int(limit) if isinstance(limit, int) and 0 < limit < 1_000_000 else None


def _truncate(tokenizer: Any, texts: list[str], max_tokens: int, strict: bool) -> list[str]:
    """Each text cut to its first ``max_tokens`` model tokens (``max_tokens_per_doc``)."""
    out = list(texts)
    if getattr(tokenizer, "is_fast", False):
        enc = tokenizer(texts, add_special_tokens=False, return_offsets_mapping=True)
        for i, offsets in enumerate(enc["offset_mapping"]):
            if len(offsets) > max_tokens:
                if strict:
                    raise _too_long(i, len(offsets), f"max_tokens_per_doc={max_tokens}")
                out[i] = texts[i][: offsets[max_tokens - 1][1]]
    else:
        for i, text in enumerate(texts):
            tokens = tokenizer.tokenize(text)
            if len(tokens) > max_tokens:
                if strict:
                    raise _too_long(i, len(tokens), f"max_tokens_per_doc={max_tokens}")
                out[i] = tokenizer.convert_tokens_to_string(tokens[:max_tokens])
    return out


def _too_long(index: int, length: int, limit: str) -> InvalidRequestError:
    return InvalidRequestError(
        f"document {index} is {length} tokens, over {limit}, and truncation is false",
        provider="local",
    )


def _check_pairs(model: Any, query: str, texts: list[str]) -> None:
    """With ``truncation=False``: every query+document pair must fit the model's max length."""
    limit, tokenizer = _max_length(model), getattr(model, "tokenizer", None)
    if limit is None or tokenizer is None:
        return
    enc = tokenizer([query] * len(texts), texts, truncation=False, verbose=False)
    for i, ids in enumerate(enc["input_ids"]):
        if len(ids) > limit:
            raise _too_long(i, len(ids), f"the model's max length {limit} (with the query)")


def score(
    name: str,
    query: str,
    texts: Sequence[str],
    *,
    device: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_tokens: int | None = None,
    truncation: bool | None = None,
    trust_remote_code: bool = False,
    cache_folder: str | None = None,
    local_files_only: bool = False,
) -> list[float]:
    """One relevance score per text, in input order (the model's own activation, sigmoid for
    one-label models: 0..1). ``max_tokens`` cuts each document to that many model tokens;
    the pair is also cut to the model's max length unless ``truncation`` is False, when an
    over-long document is an ``InvalidRequestError`` instead."""
    entry = _entry(name, device, trust_remote_code, cache_folder, local_files_only)
    model, docs = entry.model, list(texts)
    with entry.lock:
        tokenizer = getattr(model, "tokenizer", None)
        if max_tokens is not None and tokenizer is not None:
            docs = _truncate(tokenizer, docs, max_tokens, strict=truncation is False)
        if truncation is False:
            _check_pairs(model, query, docs)
        scores = model.predict(
            [(query, d) for d in docs],
            batch_size=batch_size,
            show_progress_bar=False,
            convert_to_numpy=True,
        )
    if getattr(scores, "ndim", 1) != 1 or len(scores) != len(docs):
        raise ProviderError(
            f"cross-encoder {name!r} gives {getattr(scores, 'shape', '?')} scores for "
            f"{len(docs)} documents; a reranker gives one score per document (num_labels=1)",
            provider="local",
        )
    return [float(s) for s in scores]
