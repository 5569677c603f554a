"""Client overhead: raw ``httpx`` vs ``RerankClient.rerank`` vs the framework wrappers.

A loopback server in a separate process (``bench/_server.py``) answers a precomputed
Cohere-shaped ranking of the right size, so the numbers are the client's own cost. Every
iteration runs each variant once, round-robin, and the medians are compared. Each client is
compared with raw ``httpx`` posting the same JSON and getting the same answer:

- ``raw httpx``: ``httpx.Client.post`` of the JSON body (``json.dumps``), then ``json.loads``
  of the answer (what a hand-written integration does);
- ``core``: ``RerankClient("cohere", ...).rerank(...)`` of every document: validation, body,
  transport, checking the answer, building the sorted ``RerankResponse`` of N results;
- ``langchain``: ``UnifiedRerank.compress_documents`` with LangChain's default ``top_n=3``
  (new ``Document``s with scores), against raw ``httpx`` sending ``top_n: 3``;
- ``llama-index``: ``UnifiedRerank.postprocess_nodes`` with LlamaIndex's default ``top_n=2``
  (``NodeWithScore``s), against raw ``httpx`` sending ``top_n: 2``;
- ``haystack``: ``UnifiedRanker.run`` with Haystack's rankers' default ``top_k=10`` (new
  ``Document``s with scores), against raw ``httpx`` sending ``top_n: 10``.

Each ratio is paired: a variant's time in a round over its baseline's in the same round, then
the median over rounds (adjacent calls share the machine's state, so a slow spell of a shared
machine shifts both). Targets: core <= 1.10x raw, wrappers <= 1.25x raw.

``llama-index floor`` is LlamaIndex's own per-call cost (its instrumentation), measured with a
postprocessor that does nothing but post with raw ``httpx`` and emit the events every
LlamaIndex reranker emits: no wrapper can be cheaper. Rows marked ``info`` (no target) show the
wrappers returning *every* document as a framework object (``top_n=None``): there the cost of
building N ``Document``/``NodeWithScore`` objects, which raw ``httpx`` never builds, is the
framework's own. ``--profile N`` prints a cProfile of the core at N documents instead.
``--quick`` is a smoke run of a few seconds.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
from collections.abc import Callable
from functools import partial
from typing import Any, NamedTuple

import _server
import httpx
from _util import KEY, MODEL, QUERY, documents, fmt_us, interleaved, median, verdict

from unified_rerank import RerankClient

CORE_TARGET = 1.10
WRAPPER_TARGET = 1.25


HEADERS = {
    "Authorization": f"Bearer {KEY}",
    "Content-Type": "application/json",
    "Accept": "application/json",
}


class Variant(NamedTuple):
    call: Callable[[], object]
    baseline: str | None  # the raw httpx variant it is compared with (None: it is one)
    target: float | None  # None: shown for information
    results: int  # how many ranked results it returns (checked before timing)


def raw_variant(client: httpx.Client, base: str, docs: list[str], top: int | None) -> Variant:
    payload: dict[str, Any] = {"model": MODEL, "query": QUERY, "documents": docs}
    if top is not None:
        payload["top_n"] = top
        base = f"{base}/t{top}"
    endpoint = base + "/v2/rerank"

    def raw() -> object:
        r = client.post(endpoint, content=json.dumps(payload).encode(), headers=HEADERS)
        r.raise_for_status()
        return json.loads(r.content)

    return Variant(raw, None, None, len(docs) if top is None else top)


def variants(url: str, n: int) -> dict[str, Variant]:
    base = f"{url}/n{n}"
    docs = documents(n)
    raw_client = httpx.Client()
    out: dict[str, Variant] = {"raw httpx": raw_variant(raw_client, base, docs, None)}
    core_client = RerankClient("cohere", api_key=KEY, base_url=base, max_retries=0)

    def core() -> object:
        return core_client.rerank(model=MODEL, query=QUERY, documents=docs)

    out["core"] = Variant(core, "raw httpx", CORE_TARGET, n)

    def add_wrapper(
        name: str,
        default_top: int,
        build: Callable[..., Any],
        bind: Callable[[Any], Callable[[], object]],
    ) -> None:
        """The wrapper ``build(...)`` at its framework's default ``top_n`` (against raw
        ``httpx`` sending the same ``top_n``), then returning every document (an ``info``
        row); ``bind(wrapper)`` is the call to time."""
        for top, row in ((default_top, name), (None, f"{name}, all")):
            wrapper = build(
                model=f"cohere/{MODEL}",
                api_key=KEY,
                base_url=base if top is None else f"{base}/t{top}",
                top_n=top,
                max_retries=0,
            )
            baseline = "raw httpx" if top is None else f"raw httpx, top_n={top}"
            if top is not None:
                out[baseline] = raw_variant(raw_client, base, docs, top)
            out[row] = Variant(
                bind(wrapper),
                baseline,
                None if top is None else WRAPPER_TARGET,
                min(n, top or n),
            )

    try:
        from langchain_core.documents import Document
        from langchain_unified_rerank import UnifiedRerank as LangChainRerank
    except ImportError as exc:
        print(f"  (langchain wrapper skipped: {exc})")
    else:
        lc_docs = [Document(page_content=d, metadata={"i": i}) for i, d in enumerate(docs)]
        add_wrapper(
            "langchain", 3, LangChainRerank, lambda w: partial(w.compress_documents, lc_docs, QUERY)
        )

    try:
        from llama_index.core.schema import NodeWithScore, TextNode
        from llama_index.postprocessor.unified_rerank import UnifiedRerank as LlamaRerank
    except ImportError as exc:
        print(f"  (llama-index wrapper skipped: {exc})")
    else:
        nodes = [NodeWithScore(node=TextNode(text=d, id_=f"n{i}")) for i, d in enumerate(docs)]
        add_wrapper(
            "llama-index",
            2,
            LlamaRerank,
            lambda w: partial(w.postprocess_nodes, nodes, query_str=QUERY),
        )
        floor = llama_index_floor(out["raw httpx, top_n=2"].call)
        out["llama-index floor"] = Variant(
            partial(floor.postprocess_nodes, nodes, query_str=QUERY),
            "raw httpx, top_n=2",
            None,
            2,
        )

    os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")  # no collector calls here
    try:
        from haystack import Document as HaystackDocument
        from haystack.utils import Secret
        from haystack_integrations.components.rankers.unified_rerank import UnifiedRanker
    except ImportError as exc:
        print(f"  (haystack wrapper skipped: {exc})")
    else:
        hs_docs = [HaystackDocument(id=f"d{i}", content=d) for i, d in enumerate(docs)]

        def haystack_ranker(*, api_key: str, top_n: int | None, **options: Any) -> Any:
            # Called as a component (no Pipeline): Haystack adds nothing around run().
            return UnifiedRanker(api_key=Secret.from_token(api_key), top_k=top_n, **options)

        add_wrapper("haystack", 10, haystack_ranker, lambda w: partial(w.run, QUERY, hs_docs))
    return out


def llama_index_floor(raw: Callable[[], object]) -> Any:
    """What any LlamaIndex reranker pays before doing anything: a postprocessor that posts
    with raw ``httpx`` and emits the events LlamaIndex's rerankers emit (the span around
    ``postprocess_nodes``, ReRankStart/End, the RERANKING callback event)."""
    from llama_index.core.callbacks import CBEventType, EventPayload
    from llama_index.core.instrumentation import get_dispatcher  # type: ignore[attr-defined]
    from llama_index.core.instrumentation.events.rerank import ReRankEndEvent, ReRankStartEvent
    from llama_index.core.postprocessor.types import BaseNodePostprocessor
    from llama_index.core.schema import NodeWithScore, QueryBundle

    dispatcher = get_dispatcher("bench.floor")

    class Floor(BaseNodePostprocessor):
        def _postprocess_nodes(
            self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None
        ) -> list[NodeWithScore]:
            assert query_bundle is not None
            dispatcher.event(
                ReRankStartEvent(query=query_bundle, nodes=nodes, top_n=2, model_name=MODEL)
            )
            with self.callback_manager.event(
                CBEventType.RERANKING, payload={EventPayload.NODES: nodes}
            ) as event:
                answer: Any = raw()
                out = [
                    NodeWithScore(node=nodes[r["index"]].node, score=r["relevance_score"])
                    for r in answer["results"]
                ]
                event.on_end(payload={EventPayload.NODES: out})
            dispatcher.event(ReRankEndEvent(nodes=out))
            return out

    return Floor()


def count(result: Any) -> int:
    if isinstance(result, dict):
        return len(result["documents" if "documents" in result else "results"])
    if hasattr(result, "results"):
        ranked = result.results
        assert all(a.relevance_score >= b.relevance_score for a, b in itertools.pairwise(ranked))
        return len(ranked)
    return len(result)


def check(found: dict[str, Variant]) -> None:
    """Every variant really returns what it claims (so nothing is timed doing less)."""
    for name, v in found.items():
        got = count(v.call())
        assert got == v.results, (name, got, v.results)


def run(sizes: list[int], iterations: dict[int, int]) -> list[dict[str, Any]]:
    proc, url = _server.start()
    rows: list[dict[str, Any]] = []
    try:
        for n in sizes:
            found = variants(url, n)
            check(found)
            # Two groups, each interleaved: the compared variants, then the every-document
            # wrapper rows (shown for information; kept apart so their thousands of framework
            # objects do not pollute the caches the compared variants run in).
            main = {k: v.call for k, v in found.items() if ", all" not in k}
            extra = {k: v.call for k, v in found.items() if ", all" in k}
            extra["raw httpx"] = found["raw httpx"].call
            times = interleaved(main, iterations[n])
            info = interleaved(extra, max(iterations[n] // 3, 5))
            for k in extra:
                if k != "raw httpx":
                    times[k] = info[k]
            times["raw httpx, all-rows group"] = info["raw httpx"]
            print(f"\n{n} documents, {iterations[n]} interleaved iterations (median per call):")
            for name, v in found.items():
                m = median(times[name])
                base = v.baseline
                if base and ", all" in name:
                    base = "raw httpx, all-rows group"
                # Paired: each round's time over its baseline's in the same round (adjacent in
                # time, so a slow spell of a shared machine hits both), then the median.
                ratio = (
                    median([a / b for a, b in zip(times[name], times[base], strict=True)])
                    if base
                    else 1.0
                )
                if v.baseline is None:
                    note = f"baseline, {v.results} results"
                elif v.target is None:
                    note = f"info: vs {v.baseline}, {v.results} framework objects built"
                else:
                    note = verdict(ratio, v.target) + f" vs {v.baseline}"
                print(f"  {name:20s} {fmt_us(m)}  {ratio:5.2f}x  {note}")
                rows.append(
                    {
                        "documents": n,
                        "variant": name,
                        "median_s": m,
                        "ratio": ratio,
                        "baseline": v.baseline,
                        "target": v.target,
                    }
                )
    finally:
        _server.stop(proc)
    return rows


def profile(n: int, calls: int) -> None:
    import cProfile
    import pstats

    proc, url = _server.start()
    try:
        core = variants(url, n)["core"].call
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
