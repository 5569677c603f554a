"""Peak memory of reranking 100,000 short documents in one call.

The documents go through the loopback server (its own process) in windows of 1,000, sent
concurrently and merged into one ranking of all 100,000. ``tracemalloc`` measures the peak of
Python allocations during the call, compared with the input's own size (the list and its
strings, as ``sys.getsizeof`` counts them). Target: a small multiple of the input
(each document needs a result object, a score and an index; request bodies and answers for
the windows in flight come and go). ``--quick``: 10,000 documents.
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc

import _server
from _util import KEY, MODEL, QUERY, documents

from unified_rerank import RerankClient

TARGET_RATIO = 10.0


def input_size(docs: list[str]) -> int:
    return sys.getsizeof(docs) + sum(sys.getsizeof(d) for d in docs)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    ap.add_argument("--documents", type=int, default=100_000)
    ap.add_argument("--window", type=int, default=1000)
    args = ap.parse_args(argv)
    n = 10_000 if args.quick else args.documents
    proc, url = _server.start()
    try:
        docs = documents(n)
        size = input_size(docs)
        client = RerankClient(
            "cohere",
            api_key=KEY,
            base_url=f"{url}/n{args.window}",
            window_size=args.window,
            max_retries=0,
        )
        client.rerank(model=MODEL, query=QUERY, documents=docs[: args.window])  # warm up
        tracemalloc.start()
        start = time.perf_counter()
        resp = client.rerank(model=MODEL, query=QUERY, documents=docs)
        elapsed = time.perf_counter() - start
        current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert len(resp.results) == n
        assert sorted(r.index for r in resp.results) == list(range(n))
        client.close()
    finally:
        _server.stop(proc)
    ratio = peak / size
    print(f"memory: {n:,} documents in windows of {args.window} ({elapsed:.2f} s, traced)")
    print(f"  input (list + strings)   {size / 1e6:8.2f} MB")
    print(
        f"  peak during the call     {peak / 1e6:8.2f} MB   {ratio:5.2f}x the input  "
        f"{'ok  ' if ratio <= TARGET_RATIO else 'OVER'} (target <= {TARGET_RATIO:.0f}x)"
    )
    print(f"  held after (the answer)  {current / 1e6:8.2f} MB   {current / size:5.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
