"""A fast loopback rerank server for the benchmarks, run in its own process.

It answers every ``POST .../n<COUNT>/v2/rerank`` with a precomputed Cohere-shaped response
ranking ``COUNT`` documents (scores descending), or only the best ``K`` of them for
``.../n<COUNT>/t<K>/...`` (a request with ``top_n=K``), so the benchmarks measure the client,
not the server. The request body is read in full but not parsed. Start it with :func:`start`,
which spawns ``python bench/_server.py`` and returns the process and its base URL.

Usage by hand: ``python bench/_server.py`` prints ``PORT <n>`` and serves until killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
from functools import lru_cache

HERE = os.path.dirname(os.path.abspath(__file__))


@lru_cache(maxsize=64)
def answer(count: int, top: int | None = None) -> bytes:
    """The full HTTP response (headers + body) for a request of ``count`` documents, ranking
    the best ``top`` of them when given."""
    results = [
        {"index": i, "relevance_score": round(1.0 - i / (count + 1), 6)}
        for i in range(min(count, top or count))
    ]
    body = json.dumps(
        {
            "id": "bench-0001",
            "results": results,
            "meta": {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}},
        },
        separators=(",", ":"),
    ).encode()
    head = (
        "HTTP/1.1 200 OK\r\n"
        "content-type: application/json\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: keep-alive\r\n\r\n"
    ).encode()
    return head + body


def count_of(path: bytes) -> tuple[int, int | None]:
    """``(count, top)`` from a path's ``n<COUNT>`` and optional ``t<K>`` parts."""
    count, top = 1, None
    for part in path.split(b"/"):
        if part[:1] == b"n" and part[1:].isdigit():
            count = int(part[1:])
        elif part[:1] == b"t" and part[1:].isdigit():
            top = int(part[1:])
    return count, top


class Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buf[:end])
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            total = end + 4 + length
            if len(self.buf) < total:
                return
            path = head.split(b" ", 2)[1]
            del self.buf[:total]
            assert self.transport is not None
            self.transport.write(answer(*count_of(path)))


async def serve(port: int = 0) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Protocol, "127.0.0.1", port, backlog=1024)
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


_CPUS: set[int] | None = None  # the benchmark's own CPUs before start() pinned it


def start() -> tuple[subprocess.Popen[bytes], str]:
    """Spawn the server in a separate process; ``(process, base URL)``.

    With two CPUs or more, the server gets the last one and the benchmark the others, so
    neither migrates mid-call or evicts the other's caches: steadier ratios on small shared
    machines (``BENCH_NO_PIN=1`` turns this off). :func:`stop` gives the benchmark its CPUs
    back."""
    global _CPUS
    proc = subprocess.Popen(
        [sys.executable, os.path.join(HERE, "_server.py")], stdout=subprocess.PIPE
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().decode()
    if not line.startswith("PORT "):
        proc.kill()
        raise RuntimeError(f"bench server did not start: {line!r}")
    if hasattr(os, "sched_setaffinity"):
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) >= 2 and not os.environ.get("BENCH_NO_PIN"):
            _CPUS = set(cpus)
            os.sched_setaffinity(proc.pid, {cpus[-1]})
            os.sched_setaffinity(0, set(cpus[:-1]))
    return proc, f"http://127.0.0.1:{int(line.split()[1])}"


def stop(proc: subprocess.Popen[bytes]) -> None:
    global _CPUS
    if _CPUS is not None:
        os.sched_setaffinity(0, _CPUS)
        _CPUS = None
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(int(sys.argv[1]) if len(sys.argv) > 1 else 0))
