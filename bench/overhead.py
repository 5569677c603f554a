"""Client overhead: raw ``httpx`` vs ``RerankClient.rerank`` vs the framework wrappers.

A loopback server in a separate process (``bench/_server.py``) answers a precomputed
Cohere-shaped ranking of the right size, so the numbers are the client's own cost. Every
iteration runs each variant once, round-robin, and the medians are compared:

- ``raw httpx``: ``httpx.Client.post`` of the same JSON body, then ``json.loads`` of the answer
  (what a hand-written integration does);
- ``core``: ``RerankClient("cohere", ...).rerank(...)``: validation, body building, the
  transport, checking the answer, building the sorted ``RerankResponse``;
- ``langchain``: ``UnifiedRerank.compress_documents`` (new ``Document``s with scores);
- ``llama-index``: ``UnifiedRerank.postprocess_nodes`` (``NodeWithScore``s).

Targets: core <= 1.10x raw, wrappers <= 1.25x raw. ``--profile N`` prints a cProfile of the
core at N documents instead. ``--quick`` is a smoke run of a few seconds.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

import _server
import httpx
from _util import KEY, MODEL, QUERY, documents, fmt_us, interleaved, median, verdict

from unified_rerank import RerankClient

CORE_TARGET = 1.10
WRAPPER_TARGET = 1.25


def variants(url: str, n: int) -> dict[str, Callable[[], object]]:
    base = f"{url}/n{n}"
    docs = documents(n)
    raw_client = httpx.Client()
    headers = {
        "Authorization": f"Bearer {KEY}",
        "Content-Type": "application/json",
        "Accept": "application/json",
    }
    payload = {"model": MODEL, "query": QUERY, "documents": docs}
    endpoint = base + "/v2/rerank"

    def raw() -> object:
        r = raw_client.post(endpoint, content=json.dumps(payload).encode(), headers=headers)
        r.raise_for_status()
        return json.loads(r.content)

    core_client = RerankClient("cohere", api_key=KEY, base_url=base, max_retries=0)

    def core() -> object:
        return core_client.rerank(model=MODEL, query=QUERY, documents=docs)

    out: dict[str, Callable[[], object]] = {"raw httpx": raw, "core": core}

    try:
        from langchain_core.documents import Document
        from langchain_unified_rerank import UnifiedRerank as LangChainRerank
    except ImportError as exc:
        print(f"  (langchain wrapper skipped: {exc})")
    else:
        lc = LangChainRerank(
            model=f"cohere/{MODEL}", api_key=KEY, base_url=base, top_n=None, max_retries=0
        )
        lc_docs = [Document(page_content=d, metadata={"i": i}) for i, d in enumerate(docs)]

        def langchain() -> object:
            return lc.compress_documents(lc_docs, QUERY)

        out["langchain"] = langchain

    try:
        from llama_index.core.schema import NodeWithScore, TextNode
        from llama_index.postprocessor.unified_rerank import UnifiedRerank as LlamaRerank
    except ImportError as exc:
        print(f"  (llama-index wrapper skipped: {exc})")
    else:
        li = LlamaRerank(
            model=f"cohere/{MODEL}", api_key=KEY, base_url=base, top_n=None, max_retries=0
        )
        nodes = [NodeWithScore(node=TextNode(text=d, id_=f"n{i}")) for i, d in enumerate(docs)]

        def llama_index() -> object:
            return li.postprocess_nodes(nodes, query_str=QUERY)

        out["llama-index"] = llama_index
    return out


def check(found: dict[str, Callable[[], object]], n: int) -> None:
    """Every variant really ranks all ``n`` documents (so nothing is timed doing less)."""
    raw = found["raw httpx"]()
    assert isinstance(raw, dict) and len(raw["results"]) == n
    resp: Any = found["core"]()
    assert (
        len(resp.results) == n
        and resp.results[0].relevance_score >= resp.results[-1].relevance_score
    )
    for name in ("langchain", "llama-index"):
        if name in found:
            got: Any = found[name]()
            assert len(got) == n, (name, len(got))


def run(sizes: list[int], iterations: dict[int, int]) -> list[dict[str, Any]]:
    proc, url = _server.start()
    rows: list[dict[str, Any]] = []
    try:
        for n in sizes:
            found = variants(url, n)
            check(found, n)
            times = interleaved(found, iterations[n])
            raw = median(times["raw httpx"])
            print(f"\n{n} documents, {iterations[n]} interleaved iterations (median per call):")
            for name, values in times.items():
                m = median(values)
                ratio = m / raw
                target = (
                    None
                    if name == "raw httpx"
                    else (CORE_TARGET if name == "core" else WRAPPER_TARGET)
                )
                note = "" if target is None else verdict(ratio, target)
                print(f"  {name:12s} {fmt_us(m)}  {ratio:5.2f}x  {note}")
                rows.append({"documents": n, "variant": name, "median_s": m, "ratio": ratio})
    finally:
        _server.stop(proc)
    return rows


def profile(n: int, calls: int) -> None:
    import cProfile
    import pstats

    proc, url = _server.start()
    try:
        core = variants(url, n)["core"]
        core()
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(calls):
            core()
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(22)
    finally:
        _server.stop(proc)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    ap.add_argument("--profile", type=int, metavar="N", help="cProfile the core at N documents")
    args = ap.parse_args(argv)
    if args.profile:
        profile(args.profile, 200 if args.profile >= 100 else 2000)
        return 0
    iterations = {10: 60, 1000: 15} if args.quick else {10: 1500, 1000: 300}
    print("client overhead vs raw httpx (loopback server in a separate process)")
    run([10, 1000], iterations)
    return 0


if __name__ == "__main__":
    sys.exit(main())
