"""Small shared helpers for the benchmarks (timing, formatting, the document corpus)."""

from __future__ import annotations

import gc
import os
import statistics
import sys
import time
from collections.abc import Callable

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

QUERY = "how do rerankers improve retrieval augmented generation"
MODEL = "rerank-v3.5"
KEY = "bench-key-not-a-secret"


def documents(n: int) -> list[str]:
    """``n`` short distinct documents (about 60 characters each)."""
    words = [
        "retrieval",
        "reranking",
        "search",
        "query",
        "passage",
        "model",
        "score",
        "vector",
        "index",
        "answer",
    ]
    return [
        f"doc {i}: " + " ".join(words[(i * 3 + k) % len(words)] for k in range(6)) for i in range(n)
    ]


def interleaved(
    variants: dict[str, Callable[[], object]], iterations: int, warmup: int = 3
) -> dict[str, list[float]]:
    """Time every variant once per round, round-robin, rotating who goes first, so drift in
    machine load hits all variants alike. Seconds per call, one list per variant."""
    names = list(variants)
    for _ in range(warmup):
        for name in names:
            variants[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    clock = time.perf_counter
    for i in range(iterations):
        k = i % len(names)
        for name in names[k:] + names[:k]:
            fn = variants[name]
            start = clock()
            fn()
            times[name].append(clock() - start)
        if i % 50 == 49:
            gc.collect()  # outside any timed region; keeps full collections out of the medians
    return times


def median(values: list[float]) -> float:
    return statistics.median(values)


def fmt_us(seconds: float) -> str:
    return f"{seconds * 1e6:9.0f} us"


def verdict(ratio: float, target: float, higher_is_better: bool = False) -> str:
    ok = ratio >= target if higher_is_better else ratio <= target
    sign = ">=" if higher_is_better else "<="
    return f"{'ok  ' if ok else 'OVER'} (target {sign} {target:.2f}x)"
