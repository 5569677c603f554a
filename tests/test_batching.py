"""Requests past a provider's limit: split into windows, sent concurrently, merged into one
global ranking. End-to-end tests run against a tiny Cohere-shaped server on 127.0.0.1 that
really scores the documents it receives (word overlap with the query, a hash as tie-breaker),
so a correct merge must reproduce the ranking of scoring every document in one go.
"""

from __future__ import annotations

import json
import re
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from unified_rerank import (
    InvalidRequestError,
    ProviderError,
    RerankClient,
    RerankRequest,
    RerankResponse,
    Usage,
)
from unified_rerank.batching import merge, split, sum_usage
from unified_rerank.providers.base import RawResponse, finish

KEY = "test-key-not-a-secret"
QUERY = "fast cheap reranking of many documents"
WORDS = [
    "fast",
    "slow",
    "cheap",
    "costly",
    "reranking",
    "search",
    "many",
    "few",
    "documents",
    "pages",
    "of",
    "the",
    "a",
]


def score(query: str, text: str) -> float:
    """Word overlap with the query, plus a small deterministic hash so ties are rare."""
    q = set(re.findall(r"\w+", query.lower()))
    d = set(re.findall(r"\w+", text.lower()))
    return round(len(q & d) / max(len(q), 1) + (zlib.crc32(text.encode()) % 997) / 1e5, 6)


def corpus(n: int) -> list[str]:
    return [
        " ".join(WORDS[(i * 7 + k * 3) % len(WORDS)] for k in range(1 + i % 5)) + f" doc{i}"
        for i in range(n)
    ]


def reference(docs: list[Any], top_n: int | None = None) -> list[tuple[int, float]]:
    """The one-shot ranking: every document scored against the query, best first."""
    texts = [d if isinstance(d, str) else d["text"] for d in docs]
    ranked = sorted(
        ((i, score(QUERY, t)) for i, t in enumerate(texts)), key=lambda p: (-p[1], p[0])
    )
    return ranked if top_n is None else ranked[:top_n]


def window_id(first_doc: str) -> str:
    return f"win-{zlib.crc32(first_doc.encode()):08x}"


@dataclass
class Scorer:
    """A threaded Cohere ``/v2/rerank`` server computing real scores from the request body."""

    delay: Callable[[list[str]], float] = lambda docs: 0.0
    status: Callable[[list[str]], int] = lambda docs: 200
    bodies: list[dict[str, Any]] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server.lock:
                    server.bodies.append(body)
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    docs: list[str] = body["documents"]
                    time.sleep(server.delay(docs))
                    status = server.status(docs)
                    if status != 200:
                        answer: dict[str, Any] = {"id": "e", "message": f"scripted {status}"}
                    else:
                        ranked = sorted(
                            (
                                {"index": i, "relevance_score": score(body["query"], d)}
                                for i, d in enumerate(docs)
                            ),
                            key=lambda r: -r["relevance_score"],
                        )
                        answer = {
                            "id": window_id(docs[0]),
                            "results": ranked[: body.get("top_n", len(docs))],
                            "meta": {"billed_units": {"search_units": 1}},
                        }
                    payload = json.dumps(answer).encode()
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                finally:
                    with server.lock:
                        server.in_flight -= 1

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 64

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a cancelled call may hang up on a window in flight

        self.httpd = Server(("127.0.0.1", 0), Handler)
        threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def scorer() -> Iterator[Scorer]:
    server = Scorer()
    try:
        yield server
    finally:
        server.stop()


def client(url: str, **kw: Any) -> RerankClient:
    kw.setdefault("max_retries", 0)
    return RerankClient("cohere", api_key=KEY, base_url=url, **kw)


async def call(c: RerankClient, mode: str, **kw: Any) -> RerankResponse:
    kw.setdefault("model", "rerank-v3.5")
    kw.setdefault("query", QUERY)
    if mode == "async":
        return await c.arerank(**kw)
    return c.rerank(**kw)


MODES = ["sync", "async"]


def pairs(resp: RerankResponse) -> list[tuple[int, float]]:
    return [(r.index, r.relevance_score) for r in resp.results]


def sent_documents(server: Scorer) -> list[str]:
    return [d for body in server.bodies for d in body["documents"]]


# -- split / merge, pure ----------------------------------------------------------------------


def test_split_covers_every_document_once_and_caps_top_n() -> None:
    req = RerankRequest.create(model="m", query="q", documents=corpus(10), top_n=4)
    windows = split(req, 3)
    assert [off for off, _ in windows] == [0, 3, 6, 9]
    assert [w.documents for _, w in windows] == [req.documents[i : i + 3] for i in (0, 3, 6, 9)]
    assert [w.top_n for _, w in windows] == [3, 3, 3, 1]
    assert all(w.query == req.query and w.model == req.model for _, w in windows)
    assert split(req, 10) == [(0, req)] and split(req, None) == [(0, req)]
    with pytest.raises(ValueError):
        split(req, 0)


def _window_answer(window: RerankRequest, results: list[dict[str, Any]], n: int) -> RerankResponse:
    raw = RawResponse(200, {}, b"")
    return finish(
        window,
        raw,
        results,
        provider="cohere",
        response_id=f"id{n}",
        usage=Usage(search_units=1, total_tokens=10 * n),
    )


def test_merge_remaps_sorts_cuts_and_sums() -> None:
    docs = [{"text": t, "n": i} for i, t in enumerate(corpus(7))]
    req = RerankRequest.create(
        model="m", query=QUERY, documents=docs, top_n=5, return_documents=True
    )
    parts = []
    for k, (offset, window) in enumerate(split(req, 3)):
        scores = [
            {"index": i, "relevance_score": score(QUERY, d["text"])}
            for i, d in enumerate(window.documents)
        ]
        parts.append((offset, _window_answer(window, scores, k + 1)))
    merged = merge(req, parts)
    assert pairs(merged) == reference(docs, 5)
    assert [r.document for r in merged.results] == [docs[r.index] for r in merged.results]
    assert merged.id == "id1" and merged.provider == "cohere" and merged.model == "m"
    assert merged.usage.search_units == 3 and merged.usage.total_tokens == 10 + 20 + 30
    assert merged.model_dump(exclude_none=True)["object"] == "list"


def test_merge_breaks_score_ties_by_global_index() -> None:
    req = RerankRequest.create(model="m", query="q", documents=["a", "b", "c", "d"])
    parts = [
        (off, _window_answer(w, [{"index": i, "relevance_score": 0.5} for i in range(2)], 1))
        for off, w in split(req, 2)
    ]
    assert pairs(merge(req, parts)) == [(0, 0.5), (1, 0.5), (2, 0.5), (3, 0.5)]


def test_sum_usage_adds_counts_ors_flags_keeps_absent_absent() -> None:
    total = sum_usage(
        [Usage(search_units=1, estimated=False), Usage(search_units=2.5, estimated=True)]
    )
    assert total.model_dump(exclude_none=True) == {"search_units": 3.5, "estimated": True}


# -- end to end, sync and async ----------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_every_document_scored_once_in_global_order(scorer: Scorer, mode: str) -> None:
    docs = corpus(250)
    resp = await call(client(scorer.url, window_size=40), mode, documents=docs)
    assert pairs(resp) == reference(docs)  # same ranking as scoring all 250 in one go
    assert sorted(r.index for r in resp.results) == list(range(250))
    sizes = sorted(len(b["documents"]) for b in scorer.bodies)
    assert sizes == [10] + [40] * 6
    assert sorted(sent_documents(scorer)) == sorted(docs)  # each document sent exactly once
    assert resp.usage.search_units == 7  # one search unit per window, summed
    assert resp.id == window_id(docs[0])  # the first window's id
    assert resp.provider == "cohere" and resp.model == "rerank-v3.5"


@pytest.mark.parametrize("mode", MODES)
async def test_top_n_applies_globally_and_per_window(scorer: Scorer, mode: str) -> None:
    docs = corpus(95)
    resp = await call(client(scorer.url, window_size=30), mode, documents=docs, top_n=8)
    assert pairs(resp) == reference(docs, 8)
    assert sorted(b["top_n"] for b in scorer.bodies) == [5, 8, 8, 8]  # capped at window size


@pytest.mark.parametrize("mode", MODES)
async def test_return_documents_back_filled_to_the_right_documents(
    scorer: Scorer, mode: str
) -> None:
    docs: list[Any] = [{"text": t, "n": i} for i, t in enumerate(corpus(60))]
    docs[7] = "a plain string document"
    resp = await call(
        client(scorer.url, window_size=16), mode, documents=docs, return_documents=True, top_n=20
    )
    assert pairs(resp) == reference(docs, 20)
    for r in resp.results:
        want = {"text": docs[r.index]} if isinstance(docs[r.index], str) else docs[r.index]
        assert r.document == want


@pytest.mark.parametrize("mode", MODES)
async def test_ten_thousand_documents_through_a_100_document_limit(
    scorer: Scorer, mode: str
) -> None:
    docs = corpus(10_000)
    c = client(scorer.url, window_size=100, max_concurrency=8)
    resp = await call(c, mode, documents=docs, top_n=50)
    assert len(scorer.bodies) == 100
    assert all(len(b["documents"]) == 100 for b in scorer.bodies)
    assert sorted(sent_documents(scorer)) == sorted(docs)
    assert pairs(resp) == reference(docs, 50)
    assert resp.usage.search_units == 100


# -- failures ----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("status", "error"), [(400, InvalidRequestError), (503, ProviderError)])
async def test_a_failing_window_fails_the_call_with_a_typed_error(
    scorer: Scorer, mode: str, status: int, error: type[Exception]
) -> None:
    docs = corpus(100)
    poison = docs[45]
    scorer.status = lambda window: status if poison in window else 200
    with pytest.raises(error) as info:
        await call(client(scorer.url, window_size=20), mode, documents=docs)
    assert info.value.status_code == status  # type: ignore[attr-defined]
    assert info.value.provider == "cohere"  # type: ignore[attr-defined]


@pytest.mark.parametrize("mode", MODES)
async def test_a_failure_cancels_windows_not_yet_sent(scorer: Scorer, mode: str) -> None:
    docs = corpus(100)
    first = docs[0]
    scorer.status = lambda window: 400 if first in window else 200
    with pytest.raises(InvalidRequestError):
        await call(client(scorer.url, window_size=10, max_concurrency=1), mode, documents=docs)
    time.sleep(0.2)  # let any window in flight land before counting
    assert len(scorer.bodies) <= 2  # not all 10: the rest were cancelled


@pytest.mark.parametrize("mode", MODES)
async def test_a_fast_failure_does_not_wait_for_slow_windows(scorer: Scorer, mode: str) -> None:
    docs = corpus(40)
    poison = docs[30]
    scorer.delay = lambda window: 0.0 if poison in window else 1.5
    scorer.status = lambda window: 400 if poison in window else 200
    start = time.perf_counter()
    with pytest.raises(InvalidRequestError):
        await call(client(scorer.url, window_size=10), mode, documents=docs)
    assert time.perf_counter() - start < 1.0  # failed before the slow windows answered


# -- concurrency -------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
async def test_windows_run_concurrently(scorer: Scorer, mode: str) -> None:
    docs = corpus(40)
    scorer.delay = lambda window: 0.25
    start = time.perf_counter()
    serial = await call(client(scorer.url, window_size=10, max_concurrency=1), mode, documents=docs)
    serial_time = time.perf_counter() - start
    assert scorer.max_in_flight == 1
    start = time.perf_counter()
    parallel = await call(
        client(scorer.url, window_size=10, max_concurrency=4), mode, documents=docs
    )
    parallel_time = time.perf_counter() - start
    assert pairs(parallel) == pairs(serial) == reference(docs)
    assert serial_time >= 4 * 0.25
    assert parallel_time < 0.6 * serial_time  # about one window's time, not four
    assert scorer.max_in_flight >= 2


@pytest.mark.parametrize("mode", MODES)
async def test_max_concurrency_bounds_windows_in_flight(scorer: Scorer, mode: str) -> None:
    scorer.delay = lambda window: 0.05
    await call(client(scorer.url, window_size=5, max_concurrency=3), mode, documents=corpus(60))
    assert len(scorer.bodies) == 12
    assert 2 <= scorer.max_in_flight <= 3
