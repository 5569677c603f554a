"""The HTTP server: latency it adds over calling the upstream directly, and throughput at 64
concurrent clients, beside the LiteLLM proxy's ``/rerank`` on the same upstream.

One loopback upstream (``_server.py``: Cohere-shaped, precomputed answers) serves three paths:
``direct`` (Cohere's ``/v2/rerank`` on the upstream itself), ``unified-rerank serve`` (one
worker, a virtual key to that upstream) and, when ``.venv-bench`` exists
(``scripts/litellm-venv.sh``), the LiteLLM proxy (one worker, its ``/rerank`` with a
``cohere/rerank-v3.5`` model on the same upstream). Each gateway is pinned to the last CPU,
the upstream and this load generator to the others, as the issue's reference figures were
taken (gateway on one CPU).

- Added latency: sequential calls on one keep-alive connection, the paths interleaved call by
  call; p50 and p99 of each, and the gateway's minus direct's. Target: p50 added <= 1 ms at
  10 documents.
- Throughput: 64 connections, each sending its next request as soon as its answer is in,
  for a fixed time; every answer must be a 200. Target: >= 3x LiteLLM's.

``--quick``: fewer calls and a shorter run; LiteLLM is skipped when its venv is absent (said
so). Exits non-zero only if something breaks (a non-200, a gateway that does not start).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass

import _server
from _util import KEY, MODEL, QUERY, documents

ROOT = os.path.dirname(_server.HERE)
LITELLM = os.path.join(ROOT, ".venv-bench", "bin", "litellm")
TARGET_ADDED_MS = 1.0
TARGET_VS_LITELLM = 3.0
CONCURRENCY = 64


@dataclass
class Path:
    """One way to get a ranking: where to send which bytes."""

    name: str
    port: int
    request: bytes

    @classmethod
    def post(cls, name: str, port: int, path: str, body: dict[str, object], **headers: str) -> Path:
        data = json.dumps(body).encode()
        head = [
            f"POST {path} HTTP/1.1",
            f"Host: 127.0.0.1:{port}",
            "Content-Type: application/json",
        ]
        head += [f"{k}: {v}" for k, v in headers.items()]
        head.append(f"Content-Length: {len(data)}")
        return cls(name, port, ("\r\n".join(head) + "\r\n\r\n").encode() + data)


# -- a minimal HTTP/1.1 client (the same for every path: its cost cancels in the differences) --


def _read_answer(sock: socket.socket, buf: bytearray) -> int:
    """Read one answer from ``sock`` (``buf`` keeps what arrived beyond it); its status."""
    while True:
        end = buf.find(b"\r\n\r\n")
        if end >= 0:
            head = bytes(buf[:end]).lower()
            at = head.find(b"content-length:")
            length = int(
                head[at + 15 : head.find(b"\r\n", at) if head.find(b"\r\n", at) > 0 else None]
            )
            total = end + 4 + length
            if len(buf) >= total:
                status = int(head[9:12])
                del buf[:total]
                return status
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed")
        buf += chunk


def latencies(paths: list[Path], calls: int) -> dict[str, list[float]]:
    """Seconds per call for each path, interleaved call by call (rotating who goes first)."""
    conns = {}
    for p in paths:
        sock = socket.create_connection(("127.0.0.1", p.port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conns[p.name] = (sock, bytearray())
    times: dict[str, list[float]] = {p.name: [] for p in paths}
    clock = time.perf_counter
    try:
        for i in range(calls + 50):
            k = i % len(paths)
            for p in paths[k:] + paths[:k]:
                sock, buf = conns[p.name]
                start = clock()
                sock.sendall(p.request)
                status = _read_answer(sock, buf)
                elapsed = clock() - start
                if status != 200:
                    raise RuntimeError(f"{p.name} answered {status}")
                if i >= 50:  # the first 50 rounds warm up
                    times[p.name].append(elapsed)
    finally:
        for sock, _ in conns.values():
            sock.close()
    return times


async def throughput(path: Path, seconds: float, concurrency: int = CONCURRENCY) -> float:
    """Answers per second with ``concurrency`` connections each keeping one request in flight."""
    done = 0
    stop = time.perf_counter() + seconds

    async def client() -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection("127.0.0.1", path.port)
        try:
            while time.perf_counter() < stop:
                writer.write(path.request)
                head = await reader.readuntil(b"\r\n\r\n")
                if head[9:12] != b"200":
                    raise RuntimeError(f"{path.name} answered {head[9:12].decode()}")
                low = head.lower()
                at = low.index(b"content-length:")
                await reader.readexactly(int(low[at + 15 : low.index(b"\r\n", at)]))
                done += 1
        finally:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return done / (time.perf_counter() - start)


# -- the processes -------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, proc: subprocess.Popen[bytes], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not start in {timeout:.0f} s")


@contextlib.contextmanager
def process(
    cmd: list[str],
    port: int,
    what: str,
    cpu: int | None,
    timeout: float,
    env: dict[str, str] | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, **(env or {})}
    )
    try:
        if cpu is not None:
            os.sched_setaffinity(proc.pid, {cpu})
        _wait_port(port, proc, what, timeout)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux; 0 elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def report(times: dict[str, list[float]], base: str) -> dict[str, float]:
    """Print p50/p99 per path and each gateway's added p50/p99; the added p50s (ms)."""
    q = {name: statistics.quantiles(ts, n=100) for name, ts in times.items()}
    added = {}
    print(f"{'path':28} {'p50':>9} {'p99':>9} {'added p50':>10} {'added p99':>10}")
    for name, cuts in q.items():
        p50, p99 = cuts[49] * 1e3, cuts[98] * 1e3
        if name == base:
            print(f"{name:28} {p50:7.3f}ms {p99:7.3f}ms")
            continue
        a50, a99 = p50 - q[base][49] * 1e3, p99 - q[base][98] * 1e3
        added[name] = a50
        print(f"{name:28} {p50:7.3f}ms {p99:7.3f}ms {a50:8.3f}ms {a99:8.3f}ms")
    return added


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke mode (CI)")
    parser.add_argument("--documents", type=int, default=10)
    parser.add_argument("--calls", type=int, help="sequential calls per path (latency)")
    parser.add_argument("--seconds", type=float, help="seconds per throughput run")
    args = parser.parse_args(argv)
    calls = args.calls or (200 if args.quick else 3000)
    seconds = args.seconds or (1.0 if args.quick else 5.0)
    n = args.documents

    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    gateway_cpu = cpus[-1] if len(cpus) >= 2 and not os.environ.get("BENCH_NO_PIN") else None
    os.environ["BENCH_NO_PIN"] = "1"  # _server.start() must not pin: we place everyone here
    upstream, url = _server.start()
    if gateway_cpu is not None:
        rest = set(cpus[:-1])
        os.sched_setaffinity(upstream.pid, rest)
        os.sched_setaffinity(0, rest)
    up_port = int(url.rsplit(":", 1)[1])
    docs = documents(n)
    body = {"model": MODEL, "query": QUERY, "documents": docs}
    paths = [
        Path.post(
            "direct (upstream)", up_port, f"/n{n}/v2/rerank", body, Authorization=f"Bearer {KEY}"
        )
    ]
    runs = []

    folder = tempfile.mkdtemp(prefix="bench-server-")
    ours_port = _free_port()
    config = {
        "virtual_keys": {
            "co": {
                "provider": "cohere",
                "api_key": KEY,
                "base_url": f"{url}/n{n}",
                "max_retries": 0,
            }
        }
    }
    with open(os.path.join(folder, "server.json"), "w") as f:
        json.dump(config, f)
    ours_cmd = [sys.executable, "-m", "unified_rerank", "serve", "--port", str(ours_port)]
    ours_cmd += ["--config", os.path.join(folder, "server.json"), "--log-level", "warning"]
    ours = Path.post(
        "unified-rerank serve", ours_port, "/v1/rerank", body, **{"x-portkey-virtual-key": "co"}
    )
    runs.append((ours, ours_cmd, 30.0, None))

    if os.path.exists(LITELLM):
        lite_port = _free_port()
        with open(os.path.join(folder, "litellm.yaml"), "w") as f:
            f.write(
                "model_list:\n  - model_name: bench-rerank\n    litellm_params:\n"
                f"      model: cohere/{MODEL}\n      api_base: {url}/n{n}\n      api_key: {KEY}\n"
            )
        lite_cmd = [
            LITELLM,
            "--config",
            os.path.join(folder, "litellm.yaml"),
            "--port",
            str(lite_port),
            "--num_workers",
            "1",
        ]
        lite = Path.post("LiteLLM proxy", lite_port, "/rerank", {**body, "model": "bench-rerank"})
        quiet = {
            "LITELLM_LOG": "ERROR",
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "LITELLM_TELEMETRY": "False",
        }
        runs.append((lite, lite_cmd, 180.0, quiet))
    else:
        print(f"LiteLLM proxy: skipped ({LITELLM} is absent; scripts/litellm-venv.sh creates it)")

    print(
        f"server bench: {n} documents, {calls} sequential calls per path, "
        f"{CONCURRENCY} clients x {seconds:.0f} s, gateway CPU {gateway_cpu}"
    )
    rates: dict[str, float] = {}
    try:
        with contextlib.ExitStack() as stack:
            procs = {
                path.name: stack.enter_context(
                    process(cmd, path.port, path.name, gateway_cpu, timeout, env)
                )
                for path, cmd, timeout, env in runs
            }
            live = [paths[0]] + [r[0] for r in runs]
            latencies(live, 20)  # first requests (imports, connection pools) out of the way
            before = {name: cpu_seconds(proc.pid) for name, proc in procs.items()}
            added = report(latencies(live, calls), paths[0].name)
            # CPU time per call: steadier than wall time on a loaded machine.
            for name, proc in procs.items():
                per_call = (cpu_seconds(proc.pid) - before[name]) / (calls + 50)
                print(f"{name:28} CPU {per_call * 1e3:6.3f} ms per call (the gateway process)")
        # Throughput one gateway at a time (each alone on its CPU).
        for path, cmd, timeout, env in runs:
            with process(cmd, path.port, path.name, gateway_cpu, timeout, env):
                latencies([path], 20)
                rates[path.name] = asyncio.run(throughput(path, seconds))
        rates[paths[0].name] = asyncio.run(throughput(paths[0], seconds))
    finally:
        _server.stop(upstream)
    print(f"\nthroughput at {CONCURRENCY} concurrent clients:")
    for name, rate in rates.items():
        print(f"  {name:28} {rate:9.0f} answers/s")
    a = added[ours.name]
    print(
        f"\nadded p50 latency, unified-rerank serve: {a:.3f} ms "
        f"({'ok  ' if a <= TARGET_ADDED_MS else 'OVER'} target <= {TARGET_ADDED_MS:.1f} ms)"
    )
    if "LiteLLM proxy" in rates:
        ratio = rates[ours.name] / rates["LiteLLM proxy"]
        print(
            f"throughput vs LiteLLM proxy: {ratio:.2f}x "
            f"({'ok  ' if ratio >= TARGET_VS_LITELLM else 'UNDER'} "
            f"target >= {TARGET_VS_LITELLM:.1f}x); "
            f"LiteLLM adds {added['LiteLLM proxy']:.3f} ms at p50"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
