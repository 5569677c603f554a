"""Run every benchmark: ``python bench/run_all.py [--quick]``.

Exits non-zero only when a benchmark crashes (or finds a broken invariant, such as an optional
dependency loading on ``import unified_rerank``), never because a timing missed its target:
timings on shared CI machines are too noisy to gate on. ``--quick`` is the CI smoke mode.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BENCHMARKS = [
    "import_time.py",
    "overhead.py",
    "async_throughput.py",
    "memory.py",
    "server.py",
    "first_call_stall.py",
]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    failed = []
    for name in BENCHMARKS:
        print(f"\n=== {name} {' '.join(args)}", flush=True)
        start = time.perf_counter()
        code = subprocess.call([sys.executable, os.path.join(HERE, name), *args])
        print(f"=== {name}: exit {code}, {time.perf_counter() - start:.1f} s", flush=True)
        if code != 0:
            failed.append(name)
    if failed:
        print(f"\nFAILED: {', '.join(failed)}")
        return 1
    print("\nall benchmarks ran")
    return 0


if __name__ == "__main__":
    sys.exit(main())
