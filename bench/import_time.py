"""Import time of ``unified_rerank`` in fresh interpreters, compared with ``httpx``.

Each statement is timed inside a new ``python`` process (interpreter start-up excluded), the
median of several runs is printed, and the modules it loaded are checked: optional
dependencies (botocore, bm25s, sentence_transformers, langchain, llama_index, numpy, torch)
must never load on ``import unified_rerank``. ``--breakdown`` prints the slowest modules from
``python -X importtime`` for each statement. Target: ``import unified_rerank`` <= 150 ms.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

TARGET_MS = 150.0

STATEMENTS = [
    "import unified_rerank",
    "from unified_rerank import RerankClient",
    "import httpx",
    "import pydantic",
]
FORBIDDEN = (
    "botocore",
    "bm25s",
    "sentence_transformers",
    "langchain_core",
    "llama_index",
    "numpy",
    "torch",
)
WATCH = ("httpx", "pydantic", "asyncio", "unified_rerank.transport", *FORBIDDEN)

PROBE = """
import sys, time, json
t = time.perf_counter()
{stmt}
ms = (time.perf_counter() - t) * 1000
print(json.dumps({{"ms": ms, "loaded": [m for m in {watch!r} if m in sys.modules]}}))
"""


def measure(stmt: str, runs: int) -> tuple[float, list[str]]:
    times, loaded = [], []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", PROBE.format(stmt=stmt, watch=WATCH)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        data = json.loads(out.strip().splitlines()[-1])
        times.append(data["ms"])
        loaded = data["loaded"]
    return statistics.median(times), loaded


def breakdown(stmt: str, top: int = 15) -> None:
    err = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", stmt], capture_output=True, text=True
    ).stderr
    rows = []
    for line in err.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        self_us, cumulative, name = (p.strip() for p in line.split(":", 1)[1].split("|"))
        rows.append((int(cumulative), int(self_us), name))
    rows.sort(reverse=True)
    print(f"  slowest modules for {stmt!r} (cumulative / self, ms):")
    for cumulative, self_us, name in rows[:top]:
        print(f"    {cumulative / 1000:7.1f} {self_us / 1000:7.1f}  {name}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--breakdown", action="store_true", help="python -X importtime, top modules")
    args = ap.parse_args(argv)
    runs = 3 if args.quick else args.runs
    print(f"import time in fresh interpreters (median of {runs} runs):")
    bad = []
    for stmt in STATEMENTS:
        ms, loaded = measure(stmt, runs)
        note = ""
        if stmt == "import unified_rerank":
            note = f"{'ok  ' if ms <= TARGET_MS else 'OVER'} (target <= {TARGET_MS:.0f} ms)"
        if "unified_rerank" in stmt:
            leaked = [m for m in loaded if m in FORBIDDEN]
            if leaked:
                bad.append((stmt, leaked))
        print(f"  {stmt:42s} {ms:7.1f} ms  {note}")
        print(f"  {'':42s} loads: {', '.join(loaded) or 'none of ' + ', '.join(WATCH[:4])}")
        if args.breakdown:
            breakdown(stmt)
    for stmt, leaked in bad:
        print(f"ERROR: {stmt!r} loaded optional dependencies: {leaked}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
