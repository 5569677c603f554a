"""Split a request past a provider's per-request limit into windows, and merge the answers.

Each window asks for its own top results (``top_n`` capped at its size), so every document is
scored exactly once; the merge remaps indices to the caller's documents, sorts globally,
applies ``top_n`` once, sums usage and keeps the first window's ``id``.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import attrgetter

from .schema import RerankRequest, RerankResponse, RerankResult, Usage, build_response

__all__ = ["merge", "split"]


def split(request: RerankRequest, size: int | None) -> list[tuple[int, RerankRequest]]:
    """``(offset, window request)`` pairs; one pair holding the request itself if it fits."""
    docs = request.documents
    if size is None or len(docs) <= size:
        return [(0, request)]
    if size < 1:
        raise ValueError("window size must be at least 1")
    top_n = request.top_n
    windows = []
    for start in range(0, len(docs), size):
        part = docs[start : start + size]
        windows.append(
            (start, request.with_documents(part, None if top_n is None else min(top_n, len(part))))
        )
    return windows


def merge(request: RerankRequest, parts: Sequence[tuple[int, RerankResponse]]) -> RerankResponse:
    """One global ranking from the windows' answers, in window order of ``parts``."""
    if len(parts) == 1 and parts[0][0] == 0:
        return parts[0][1]
    # The windows' answers are ours alone (built by the provider's parse for this call), so
    # their result objects are reused: indices shifted in place to the caller's documents,
    # no second object per document. Documents already belong to the right result.
    results: list[RerankResult] = []
    for offset, resp in parts:
        if offset:
            for r in resp.results:
                r.__dict__["index"] += offset
        results.extend(resp.results)
    # Best first, ties by index: a sort by index, then a stable sort by score descending.
    results.sort(key=_index)
    results.sort(key=_score, reverse=True)
    if request.top_n is not None:
        del results[request.top_n :]
    first = parts[0][1]
    return build_response(
        id=first.id,
        results=results,
        model=first.model,
        usage=sum_usage([resp.usage for _, resp in parts]),
        provider=first.provider,
    )


_index = attrgetter("index")
_score = attrgetter("relevance_score")


def sum_usage(usages: Sequence[Usage]) -> Usage:
    """Field by field: counts added, flags or-ed, absent fields left absent."""
    total: dict[str, object] = {}
    for usage in usages:
        for key, value in usage.model_dump(exclude_none=True).items():
            prev = total.get(key)
            if isinstance(value, bool):
                total[key] = bool(prev) or value
            elif isinstance(value, (int, float)):
                total[key] = value if not isinstance(prev, (int, float)) else prev + value
            else:
                total.setdefault(key, value)
    return Usage.model_validate(total)
