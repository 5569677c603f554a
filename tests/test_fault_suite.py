"""The fault-injection suite: thousands of calls against a server that breaks on purpose.

Every call must end in a correct ranking (checked against the ranking computed from the
request) or a typed ``RerankError``: never a wrong ranking, never a hang. The figures are
printed (run with ``-s``, or read the "reliability figures" section pytest shows).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.faults import ALL, BENIGN, TRANSIENT, WRONG, FaultServer, expected_ranking
from unified_rerank import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    InvalidRequestError,
    ProviderError,
    RateLimitError,
    RerankClient,
    RerankError,
)
from unified_rerank.cache import CachedReranker, LRUCache
from unified_rerank.observability import Event
from unified_rerank.routing import Router
from unified_rerank.transport import RetryPolicy

SECRET = "sk-live-FAULT-SUITE-NEVER-LEAK-9876543210"
WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa"]
FAST = RetryPolicy(max_retries=3, base_delay=0.001, max_delay=0.004)
NO_RETRY = RetryPolicy(max_retries=0)
# Per attempt: generous, so a loaded CI machine never times out a healthy answer; "slow"
# answers take SLOW, far past the timeout: the client's loop (sharing the GIL with the fault
# server's thread) can stall long enough to find a merely late answer already in its socket.
# Fallback tests use a short timeout on the failing target only.
CALL_TIMEOUT = 1.0
SLOW = 6.0
SHORT_TIMEOUT = 0.2
HANG_LIMIT = 15.0  # asyncio.wait_for bound per call: a hang is a failure, not a stuck suite

N_FALLBACK = 100
FIGURES: dict[str, str] = {}


@pytest.fixture
def faults() -> Iterator[FaultServer]:
    server = FaultServer(slow_delay=SLOW, huge_bytes=1_000_000).start()
    try:
        yield server
    finally:
        server.stop()


def workload(n: int, seed: int, rate: float, kinds: tuple[str, ...], server: FaultServer) -> list:
    """``n`` seeded requests; a share ``rate`` of them get one scripted fault."""
    rng = random.Random(seed)
    calls = []
    for i in range(n):
        docs = [f"{w} {i} {rng.random():.6f}" for w in rng.sample(WORDS, rng.randint(2, 8))]
        top_n = rng.choice([None, 1, 2, len(docs) + 3])
        query = f"query {seed}-{i}"
        if rng.random() < rate:
            server.plan[query] = [rng.choice(kinds)]
        calls.append((query, docs, top_n))
    return calls


def check(resp: Any, query: str, docs: list[str], top_n: int | None) -> bool:
    """True when ``resp`` is exactly the ranking the request deserves."""
    want = expected_ranking(query, docs, top_n)
    got = [r.index for r in resp.results]
    scores = [r.relevance_score for r in resp.results]
    return got == want and scores == sorted(scores, reverse=True) and resp.provider == "cohere"


async def run_async(client: Any, calls: list, concurrency: int = 16) -> dict[str, Any]:
    gate = asyncio.Semaphore(concurrency)
    tally: Counter[str] = Counter()

    async def one(query: str, docs: list[str], top_n: int | None) -> None:
        async with gate:
            try:
                resp = await asyncio.wait_for(
                    client.arerank(model="rerank-v3.5", query=query, documents=docs, top_n=top_n),
                    HANG_LIMIT,
                )
            except asyncio.TimeoutError:
                tally["hang"] += 1
            except RerankError as err:
                tally["typed_error"] += 1
                tally[f"error:{type(err).__name__}"] += 1
            except Exception:  # anything untyped is a failure of the contract
                tally["untyped_error"] += 1
            else:
                tally["correct" if check(resp, query, docs, top_n) else "wrong"] += 1

    start = time.perf_counter()
    await asyncio.gather(*(one(*c) for c in calls))
    return {"tally": tally, "seconds": time.perf_counter() - start}


@pytest.fixture
def quiet(caplog: pytest.LogCaptureFixture) -> None:
    """INFO, not DEBUG, for the big runs: thousands of captured records slow them down."""
    caplog.set_level(logging.INFO, logger="unified_rerank")


def report(capsys: pytest.CaptureFixture[str], name: str, line: str) -> None:
    FIGURES[name] = line
    with capsys.disabled():
        print(f"\n[reliability] {name}: {line}")


async def test_2000_async_calls_10pct_faults_with_retries_all_succeed(
    quiet: None, faults: FaultServer, capsys: pytest.CaptureFixture[str]
) -> None:
    calls = workload(2000, seed=7, rate=0.10, kinds=TRANSIENT + BENIGN, server=faults)
    planned = len(faults.plan)
    client = RerankClient(
        "cohere", api_key=SECRET, base_url=faults.url, timeout=CALL_TIMEOUT, retry_policy=FAST
    )
    async with client:
        out = await run_async(client, calls)
    tally = out["tally"]
    report(
        capsys,
        "2000 async calls, 10% faults, retries on",
        f"{tally['correct']} correct, {tally['wrong']} wrong, {tally['typed_error']} errors, "
        f"{tally['hang']} hangs; {planned} faults injected "
        f"({sum(faults.injected.values())} served), {faults.requests} requests, "
        f"{out['seconds']:.1f}s",
    )
    assert 150 <= planned <= 250  # the seeded 10%
    assert tally["correct"] == 2000, tally
    assert tally["wrong"] == tally["hang"] == tally["untyped_error"] == 0
    assert sum(faults.injected.values()) == planned
    # Each transient fault costs one extra request; benign ones cost none.
    transient = sum(n for k, n in faults.injected.items() if k in TRANSIENT)
    assert faults.requests >= 2000 + transient
    assert set(faults.injected) >= set(TRANSIENT)  # every kind was exercised


async def test_1000_async_calls_10pct_faults_no_retries_typed_errors_only(
    quiet: None, faults: FaultServer, capsys: pytest.CaptureFixture[str]
) -> None:
    calls = workload(1000, seed=11, rate=0.10, kinds=ALL, server=faults)
    client = RerankClient(
        "cohere", api_key=SECRET, base_url=faults.url, timeout=CALL_TIMEOUT, retry_policy=NO_RETRY
    )
    async with client:
        out = await run_async(client, calls)
    tally = out["tally"]
    failing = sum(n for k, n in faults.injected.items() if k not in BENIGN)
    report(
        capsys,
        "1000 async calls, 10% faults, no retries",
        f"{tally['correct']} correct, {tally['wrong']} wrong, {tally['typed_error']} typed "
        f"errors ({failing} failing faults injected), {tally['hang']} hangs, "
        f"{tally['untyped_error']} untyped; {out['seconds']:.1f}s",
    )
    assert tally["wrong"] == tally["hang"] == tally["untyped_error"] == 0
    assert tally["typed_error"] == failing  # exactly the injected failures, nothing else
    assert tally["correct"] == 1000 - failing
    assert tally["error:ProviderError"] >= faults.injected["bad_index"] + faults.injected["repeat"]
    assert faults.requests == 1000  # no retries: one request per call


def test_sync_calls_with_faults_and_retries(
    quiet: None, faults: FaultServer, capsys: pytest.CaptureFixture[str]
) -> None:
    calls = workload(200, seed=3, rate=0.10, kinds=TRANSIENT + BENIGN, server=faults)
    correct = 0
    start = time.perf_counter()
    with RerankClient(
        "cohere", api_key=SECRET, base_url=faults.url, timeout=CALL_TIMEOUT, retry_policy=FAST
    ) as client:
        for query, docs, top_n in calls:
            resp = client.rerank(model="m", query=query, documents=docs, top_n=top_n)
            correct += check(resp, query, docs, top_n)
    report(
        capsys,
        "200 sync calls, 10% faults, retries on",
        f"{correct} correct; {sum(faults.injected.values())} faults; "
        f"{time.perf_counter() - start:.1f}s",
    )
    assert correct == 200


@pytest.mark.parametrize("kind", ALL)
async def test_each_fault_alone_async(faults: FaultServer, kind: str) -> None:
    faults.plan["q"] = [kind]
    client = RerankClient(
        "cohere", api_key=SECRET, base_url=faults.url, timeout=CALL_TIMEOUT, retry_policy=NO_RETRY
    )
    docs = ["one", "two", "three"]
    expected = {
        "429s": RateLimitError,
        "429date": RateLimitError,
        "429ms": RateLimitError,
        "reset": APIConnectionError,
        "reset_body": APIConnectionError,
        "truncate": APIConnectionError,
        "slow": APITimeoutError,
    }.get(kind, ProviderError)
    if kind in BENIGN:
        resp = await client.arerank(model="m", query="q", documents=docs)
        assert check(resp, "q", docs, None)
    else:
        with pytest.raises(expected) as info:
            await client.arerank(model="m", query="q", documents=docs)
        assert info.value.retryable == (kind in TRANSIENT)
        assert SECRET not in str(info.value) and SECRET not in repr(info.value)
    # And with one retry every transient fault heals, every wrong answer stays an error.
    faults.plan["q2"] = [kind]
    client2 = RerankClient(
        "cohere", api_key=SECRET, base_url=faults.url, timeout=CALL_TIMEOUT, retry_policy=FAST
    )
    if kind in WRONG:
        with pytest.raises(ProviderError):
            client2.rerank(model="m", query="q2", documents=docs)
        assert faults.attempts("q2") == 1  # decodes but is wrong: not retried
    else:
        assert check(client2.rerank(model="m", query="q2", documents=docs), "q2", docs, None)
        assert faults.attempts("q2") == (2 if kind in TRANSIENT else 1)


async def test_retry_after_forms_set_rate_limit_error(faults: FaultServer) -> None:
    client = RerankClient("cohere", api_key=SECRET, base_url=faults.url, retry_policy=NO_RETRY)
    seen = {}
    for kind in ("429s", "429date", "429ms"):
        faults.plan[kind] = [kind]
        with pytest.raises(RateLimitError) as info:
            await client.arerank(model="m", query=kind, documents=["a", "b"])
        seen[kind] = info.value.retry_after
    assert seen["429s"] == 0.0 and seen["429ms"] == pytest.approx(0.001)
    assert seen["429date"] is not None and 0.0 <= seen["429date"] <= 1.0


# -- routing through faults ---------------------------------------------------------------


@pytest.fixture
def pair() -> Iterator[tuple[FaultServer, FaultServer]]:
    bad = FaultServer(slow_delay=SHORT_TIMEOUT * 25).start()
    good = FaultServer().start()
    try:
        yield bad, good
    finally:
        bad.stop()
        good.stop()


@pytest.mark.parametrize("failure", ["503", "429s", "reset", "slow", "401", "invalid_json"])
async def test_fallback_from_failing_provider_is_100pct(
    quiet: None,
    pair: tuple[FaultServer, FaultServer],
    failure: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad, good = pair
    bad.default = failure
    events: list[Event] = []
    router = Router.from_config(
        {
            "strategy": {"mode": "fallback"},
            "targets": [
                {
                    "provider": "cohere",
                    "api_key": SECRET,
                    "base_url": bad.url,
                    "override_params": {"model": "primary"},
                    "retry": {"attempts": 1},
                    "timeout": SHORT_TIMEOUT,
                },
                {
                    "provider": "cohere",
                    "api_key": SECRET + "-2",
                    "base_url": good.url,
                    "override_params": {"model": "backup"},
                },
            ],
        },
        hooks=events.append,
    )
    for t in router.targets:  # tiny backoff so the suite stays fast
        t.client._transport().retry = RetryPolicy(max_retries=1, base_delay=0.001, max_delay=0.002)  # type: ignore[attr-defined]
    calls = workload(N_FALLBACK, seed=5, rate=0.0, kinds=ALL, server=good)
    async with router:
        out = await run_async(router, calls, concurrency=64)
    tally = out["tally"]
    fallbacks = [e for e in events if e.kind == "fallback"]
    tried = [e for e in events if e.kind == "request" and e.model == "primary"]
    report(
        capsys,
        f"fallback after {failure}",
        f"{tally['correct']}/{N_FALLBACK} correct via backup, {len(fallbacks)} fallback "
        f"events, {len(tried)} attempts on the failing target, {out['seconds']:.1f}s",
    )
    assert tally["correct"] == N_FALLBACK and tally["wrong"] == 0
    assert len(fallbacks) == N_FALLBACK and all(e.target == "cohere" for e in fallbacks)
    # One retry on the failing target first, except after a 401 (not retryable).
    assert len(tried) == N_FALLBACK * (1 if failure == "401" else 2)
    assert good.requests == N_FALLBACK


async def test_fallback_response_names_what_answered(
    pair: tuple[FaultServer, FaultServer],
) -> None:
    bad, good = pair
    bad.default = "503"
    router = Router(
        [
            {
                "provider": "cohere",
                "api_key": SECRET,
                "base_url": bad.url,
                "retry": {"attempts": 0},
                "override_params": {"model": "primary"},
            },
            {
                "provider": "cohere",
                "api_key": SECRET,
                "base_url": good.url,
                "override_params": {"model": "backup"},
            },
        ]
    )
    resp = await router.arerank(query="q", documents=["a", "b"])
    assert (resp.provider, resp.model) == ("cohere", "backup")
    bad.default = None
    resp = router.rerank(query="q", documents=["a", "b"])
    assert resp.model == "primary"


async def test_fallback_never_after_invalid_request(pair: tuple[FaultServer, FaultServer]) -> None:
    bad, good = pair
    bad.default = "400"
    router = Router(
        [
            {"provider": "cohere", "api_key": SECRET, "base_url": bad.url},
            {"provider": "cohere", "api_key": SECRET, "base_url": good.url},
        ]
    )
    with pytest.raises(InvalidRequestError):
        await router.arerank(model="m", query="q", documents=["a", "b"])
    assert good.requests == 0 and bad.requests == 1


async def test_loadbalance_within_5pct_of_weights_over_1000_calls(
    quiet: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    servers = [FaultServer().start() for _ in range(3)]
    weights = [0.6, 0.3, 0.1]
    try:
        router = Router(
            [
                {
                    "provider": "cohere",
                    "api_key": SECRET,
                    "base_url": s.url,
                    "weight": w,
                    "override_params": {"model": f"m{i}"},
                }
                for i, (s, w) in enumerate(zip(servers, weights, strict=True))
            ],
            strategy={"mode": "loadbalance"},
            seed=1234,
        )
        calls = workload(1000, seed=9, rate=0.0, kinds=ALL, server=servers[0])
        by_model: Counter[str] = Counter()

        async def one(query: str, docs: list[str], top_n: int | None) -> None:
            resp = await router.arerank(query=query, documents=docs, top_n=top_n)
            assert check(resp, query, docs, top_n)
            by_model[resp.model] += 1

        gate = asyncio.Semaphore(64)

        async def bounded(*c: Any) -> None:
            async with gate:
                await asyncio.wait_for(one(*c), HANG_LIMIT)

        await asyncio.gather(*(bounded(*c) for c in calls))
        await router.aclose()
    finally:
        for s in servers:
            s.stop()
    shares = [by_model[f"m{i}"] / 1000 for i in range(3)]
    report(
        capsys,
        "loadbalance 1000 calls, weights 0.6/0.3/0.1",
        "shares "
        + "/".join(f"{s:.3f}" for s in shares)
        + f"; max deviation {max(abs(s - w) for s, w in zip(shares, weights, strict=True)):.3f}",
    )
    assert [s.requests for s in servers] == [by_model[f"m{i}"] for i in range(3)]
    for share, weight in zip(shares, weights, strict=True):
        assert abs(share - weight) <= 0.05


# -- secrets ----------------------------------------------------------------------------------


async def test_no_secret_anywhere(
    faults: FaultServer, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from unified_rerank.observability import Hooks, OpenTelemetryHooks

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    events: list[Event] = []
    hooks = [OpenTelemetryHooks(tracer=provider.get_tracer("t")), Hooks(on_event=events.append)]
    caplog.set_level(logging.DEBUG, logger="unified_rerank")
    query, doc = "TOP-SECRET-QUERY-TEXT", "CONFIDENTIAL-DOCUMENT-TEXT"
    client = RerankClient(
        "cohere",
        api_key=SECRET,
        base_url=faults.url,
        timeout=SHORT_TIMEOUT,
        hooks=hooks,
        retry_policy=RetryPolicy(max_retries=1, base_delay=0.001, max_delay=0.002),
    )
    second = RerankClient(
        "cohere", api_key=SECRET, base_url=faults.url, timeout=SHORT_TIMEOUT, retry_policy=FAST
    )
    router = Router([client, second])
    cached = CachedReranker(router, LRUCache(), hooks=hooks)
    errors: list[BaseException] = []
    for i, kind in enumerate((*ALL, "401", "400")):
        q = f"{query} {i}"
        faults.plan[q] = [kind, kind, kind, kind]
        try:
            await cached.arerank(model="m", query=q, documents=[doc, "other"])
            await cached.arerank(model="m", query=q, documents=[doc, "other"])  # a hit
        except RerankError as err:
            errors.append(err)
    with pytest.raises(AuthenticationError) as missing:
        RerankClient("cohere").rerank(model="m", query="q", documents=["a"])
    errors.append(missing.value)

    texts = [repr(client), repr(router), repr(cached), str(router.targets)]
    texts += [str(e) for e in errors] + [repr(e) for e in errors]
    texts += [r.getMessage() for r in caplog.records] + [repr(r.args) for r in caplog.records]
    spans = exporter.get_finished_spans()
    texts += [repr(dict(s.attributes or {})) + s.name for s in spans]
    texts += [repr(dict(ev.attributes or {})) for s in spans for ev in s.events]
    texts += [repr(e) for e in events]
    blob = "\n".join(texts)
    report(
        capsys,
        "secrets",
        f"0 leaks across {len(errors)} errors, {len(caplog.records)} log records, "
        f"{len(spans)} spans, {len(events)} events",
    )
    assert errors and caplog.records and spans and events
    assert SECRET not in blob
    assert query not in blob and doc not in blob  # no text at any level, not only INFO
    assert any(e.kind == "cache_hit" for e in events)
