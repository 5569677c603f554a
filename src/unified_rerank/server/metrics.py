"""Prometheus metrics for ``GET /metrics``: requests, errors, latency, retries, cache hits.

Labels are a provider slug, an HTTP status or an error type: never a key, a virtual key's
name, a model or any request text. With several worker processes (``--workers N``), set
``PROMETHEUS_MULTIPROC_DIR`` (``serve`` does) and every worker's counts are added up.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

__all__ = ["Metrics"]

_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """The server's collectors, in a registry of their own."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "unified_rerank_requests",
            "Rerank requests answered",
            ["provider", "status"],
            registry=r,
        )
        self.errors = Counter(
            "unified_rerank_errors", "Rerank requests that failed", ["provider", "type"], registry=r
        )
        self.latency = Histogram(
            "unified_rerank_request_duration_seconds",
            "Time to answer a rerank request",
            ["provider"],
            buckets=_BUCKETS,
            registry=r,
        )
        self.retries = Counter(
            "unified_rerank_upstream_retries", "Retried upstream attempts", ["provider"], registry=r
        )
        self.fallbacks = Counter(
            "unified_rerank_fallbacks", "Fallbacks to the next target", ["provider"], registry=r
        )
        self.cache_hits = Counter(
            "unified_rerank_cache_hits", "Answers served from the cache", ["provider"], registry=r
        )

    def observe(self, provider: str, status: int, seconds: float, error: str | None) -> None:
        self.requests.labels(provider, str(status)).inc()
        self.latency.labels(provider).observe(seconds)
        if error is not None:
            self.errors.labels(provider, error).inc()

    def render(self) -> bytes:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)
