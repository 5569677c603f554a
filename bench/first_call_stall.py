"""The longest event-loop stall during a first async call, for the core and both wrappers.

A first ``arerank`` / ``acompress_documents`` / ``apostprocess_nodes`` must not block the
event loop (an async server would stop answering everyone): the slow one-time work (importing
``httpx``, building the HTTP client and its SSL context, importing the provider module) has
to run before the first await or off the loop. Each variant runs in a fresh interpreter that
imports the library and builds the reranker at start-up (as an application does), then, inside
``asyncio.run``, makes its first call while a ticker task records the longest gap between its
wake-ups. The floor is the same measure over a warm call in the same process (nothing left to
load): ``ratio`` is first/warm. Target: the first call's stall <= 50 ms (httpx alone takes about
200 ms to import). Against ``bench/_server.py`` on the loopback; ``--quick`` runs each variant
once.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

import _server
from _util import HERE, KEY, MODEL, QUERY, documents

TARGET_MS = 50.0

# Run in a fresh interpreter: {setup} builds ``call`` (an async callable) at start-up.
PROBE = """
import asyncio, json, sys, time
sys.path.insert(0, {here!r})
{setup}

async def stall_during(make_call):
    longest, stop = 0.0, False

    async def ticker():
        nonlocal longest
        last = time.perf_counter()
        while not stop:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            longest = max(longest, now - last)
            last = now

    task = asyncio.ensure_future(ticker())
    await asyncio.sleep(0.01)  # the ticker runs
    longest = 0.0
    await make_call()
    stop = True
    await task
    return longest * 1000

async def main():
    first = await stall_during(call)
    warm = [await stall_during(call) for _ in range(3)]
    print(json.dumps({{"first": first, "warm": min(warm)}}))

asyncio.run(main())
"""

SETUPS = {
    "core": """
from unified_rerank import RerankClient
client = RerankClient("cohere", api_key={key!r}, base_url={url!r})
call = lambda: client.arerank(model={model!r}, query={query!r}, documents={docs!r})
""",
    "langchain": """
from langchain_core.documents import Document
from langchain_unified_rerank import UnifiedRerank
r = UnifiedRerank(model={model!r}, provider="cohere", api_key={key!r}, base_url={url!r})
docs = [Document(page_content=d) for d in {docs!r}]
call = lambda: r.acompress_documents(docs, {query!r})
""",
    "llama-index": """
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode
from llama_index.postprocessor.unified_rerank import UnifiedRerank
r = UnifiedRerank({model!r}, provider="cohere", api_key={key!r}, base_url={url!r})
nodes = [NodeWithScore(node=TextNode(text=d)) for d in {docs!r}]
call = lambda: r.apostprocess_nodes(nodes, QueryBundle({query!r}))
""",
}


def measure(name: str, url: str) -> dict[str, float]:
    docs = documents(10)
    setup = SETUPS[name].format(key=KEY, url=url + "/n10", model=MODEL, query=QUERY, docs=docs)
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(here=HERE, setup=setup)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one run per variant (smoke)")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    runs = 1 if args.quick else args.runs
    proc, url = _server.start()
    try:
        print(f"{'variant':<12} {'first call':>11} {'warm floor':>11} {'ratio':>7}  verdict")
        for name in SETUPS:
            samples = [measure(name, url) for _ in range(runs)]
            first = statistics.median(s["first"] for s in samples)
            warm = statistics.median(s["warm"] for s in samples)
            verdict = "ok" if first <= TARGET_MS else f"over {TARGET_MS:.0f} ms"
            print(
                f"{name:<12} {first:>8.1f} ms {warm:>8.1f} ms {first / max(warm, 0.001):>6.1f}x"
                f"  {verdict}",
                flush=True,
            )
    finally:
        _server.stop(proc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
