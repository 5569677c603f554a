"""Async throughput: many concurrent ``arerank`` calls vs raw ``httpx.AsyncClient``.

``--calls`` requests (default 2,000) of ``--documents`` documents each, at most
``--concurrency`` (default 50) in flight, against the loopback server in its own process.
Raw and core runs alternate for 5 rounds; the best round of each is compared as calls per
second. Target: core >= 0.9x raw throughput. ``--quick``: 200 calls, one round each.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable

import _server
import httpx
from _util import KEY, MODEL, QUERY, documents, verdict

from unified_rerank import RerankClient

TARGET = 0.9


async def drive(one: Callable[[], Awaitable[int]], calls: int, concurrency: int) -> float:
    """Seconds to run ``calls`` calls of ``one`` with ``concurrency`` workers."""
    remaining = calls
    ranked = 0

    async def worker() -> None:
        nonlocal remaining, ranked
        while remaining > 0:
            remaining -= 1
            ranked += await one()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    return elapsed


async def bench(url: str, calls: int, concurrency: int, n: int, rounds: int) -> tuple[float, float]:
    base = f"{url}/n{n}"
    docs = documents(n)
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
    raw_client = httpx.AsyncClient(limits=limits)
    headers = {
        "Authorization": f"Bearer {KEY}",
        "Content-Type": "application/json",
        "Accept": "application/json",
    }
    payload = {"model": MODEL, "query": QUERY, "documents": docs}
    endpoint = base + "/v2/rerank"

    async def raw() -> int:
        r = await raw_client.post(endpoint, content=json.dumps(payload).encode(), headers=headers)
        r.raise_for_status()
        return len(json.loads(r.content)["results"])

    core_client = RerankClient("cohere", api_key=KEY, base_url=base, max_retries=0)

    async def core() -> int:
        resp = await core_client.arerank(model=MODEL, query=QUERY, documents=docs)
        return len(resp.results)

    assert await raw() == n and await core() == n
    await drive(raw, concurrency, concurrency)  # warm both pools
    await drive(core, concurrency, concurrency)
    raw_times, core_times = [], []
    for i in range(rounds):
        for name in ("raw", "core") if i % 2 == 0 else ("core", "raw"):
            fn, sink = (raw, raw_times) if name == "raw" else (core, core_times)
            sink.append(await drive(fn, calls, concurrency))
    await raw_client.aclose()
    await core_client.aclose()
    return min(raw_times), min(core_times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument("--documents", type=int, default=20)
    args = ap.parse_args(argv)
    calls, rounds = (200, 1) if args.quick else (args.calls, 5)
    proc, url = _server.start()
    try:
        raw, core = asyncio.run(bench(url, calls, args.concurrency, args.documents, rounds))
    finally:
        _server.stop(proc)
    ratio = raw / core  # throughput ratio: core calls/s over raw calls/s
    print(
        f"async throughput, {calls} calls x {args.documents} documents, "
        f"concurrency {args.concurrency} (best of {rounds}):"
    )
    print(f"  raw httpx.AsyncClient  {calls / raw:8.0f} calls/s")
    print(
        f"  core arerank           {calls / core:8.0f} calls/s   {ratio:4.2f}x  "
        f"{verdict(ratio, TARGET, higher_is_better=True)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
