"""A fast fault-injecting rerank server on 127.0.0.1 (asyncio, raw HTTP/1.1, keep-alive).

It speaks Cohere's ``POST /v2/rerank`` and computes a deterministic correct ranking for any
request (:func:`score`), so a test can check every answer it gets against
:func:`expected_ranking`. Faults are scripted per query: ``server.plan[query]`` lists the
faults of that query's successive attempts (after the list, correct answers);
``server.default`` is the fault for every attempt of unscripted queries (None: answer).

Faults: ``429s``/``429date``/``429ms`` (429 with ``Retry-After`` seconds, HTTP date,
``retry-after-ms``), ``500``/``502``/``503``/``504``, ``401``, ``400``, ``reset`` (RST before
any answer), ``reset_body`` (RST after the headers and half the body), ``truncate`` (less body
than ``Content-Length``), ``invalid_json``, ``html`` (200 text/html, not JSON), ``text_json``
(a correct answer labelled text/plain), ``slow`` (a correct answer after ``slow_delay``),
``bad_index`` (an index past the documents), ``repeat`` (one document ranked twice), ``huge``
(a correct answer padded to ``huge_bytes``).
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import hashlib
import json
import socket
import struct
import threading
from collections import Counter
from collections.abc import Sequence
from typing import Any

#: Faults after which a retry can succeed.
TRANSIENT = (
    "429s",
    "429date",
    "429ms",
    "500",
    "502",
    "503",
    "504",
    "reset",
    "reset_body",
    "truncate",
    "invalid_json",
    "html",
    "slow",
)
#: Answers that decode but are wrong: a typed error, never retried, never a ranking.
WRONG = ("bad_index", "repeat")
#: Odd but correct answers: a ranking.
BENIGN = ("text_json", "huge")
ALL = TRANSIENT + WRONG + BENIGN


def score(query: str, text: str) -> float:
    digest = hashlib.sha256(f"{query}\x00{text}".encode()).digest()
    return struct.unpack(">I", digest[:4])[0] / 2**32


def expected_ranking(query: str, documents: Sequence[str], top_n: int | None) -> list[int]:
    order = sorted(range(len(documents)), key=lambda i: (-score(query, documents[i]), i))
    return order if top_n is None else order[:top_n]


class FaultServer:
    def __init__(self, *, slow_delay: float = 0.5, huge_bytes: int = 2_000_000) -> None:
        self.plan: dict[str, list[str]] = {}
        self.default: str | None = None
        self.slow_delay = slow_delay
        self.huge_bytes = huge_bytes
        self.requests = 0
        self.injected: Counter[str] = Counter()
        self.bodies: list[bytes] = []
        self.headers_seen: list[dict[str, str]] = []
        self.keep_bodies = False
        self._attempts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._server: asyncio.AbstractServer | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.port = 0

    # -- lifetime ---------------------------------------------------------------------------

    def start(self) -> FaultServer:
        self._thread.start()
        if not self._ready.wait(5):
            raise RuntimeError("fault server did not start")
        return self

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def boot() -> None:
            self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, backlog=512)
            self.port = self._server.sockets[0].getsockname()[1]
            self._ready.set()

        self._loop.run_until_complete(boot())
        self._loop.run_forever()
        for task in asyncio.all_tasks(self._loop):
            task.cancel()
        with contextlib.suppress(Exception):
            self._loop.run_until_complete(asyncio.sleep(0))
        self._loop.close()

    def stop(self) -> None:
        def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            self._loop.stop()

        self._loop.call_soon_threadsafe(shutdown)
        self._thread.join(5)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- scripting --------------------------------------------------------------------------

    def fault_for(self, query: str) -> str | None:
        with self._lock:
            self.requests += 1
            n = self._attempts[query]
            self._attempts[query] += 1
            script = self.plan.get(query)
            fault = self.default if script is None else (script[n] if n < len(script) else None)
            if fault is not None:
                self.injected[fault] += 1
            return fault

    def attempts(self, query: str) -> int:
        with self._lock:
            return self._attempts[query]

    # -- serving ----------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, _, value = line.partition(":")
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length") or 0))
                if self.keep_bodies:
                    with self._lock:
                        self.bodies.append(body)
                        self.headers_seen.append(headers)
                if not await self._answer(body, writer):
                    return
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            return  # a client hanging up, or the server stopping
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _answer(self, body: bytes, writer: asyncio.StreamWriter) -> bool:
        """Write one answer; False when the connection is gone afterwards."""
        request = json.loads(body)
        query, docs, top_n = request["query"], request["documents"], request.get("top_n")
        fault = self.fault_for(query)
        ranking = expected_ranking(query, docs, top_n)
        results = [{"index": i, "relevance_score": score(query, docs[i])} for i in ranking]
        results.reverse()  # out of order on purpose: the client sorts
        ok: dict[str, Any] = {
            "id": "fault-srv",
            "results": results,
            "meta": {"billed_units": {"search_units": 1}},
        }
        status, ctype, extra = 200, "application/json", {}
        payload: bytes
        if fault is None or fault == "text_json":
            payload = json.dumps(ok).encode()
            ctype = "text/plain" if fault else ctype
        elif fault == "slow":
            await asyncio.sleep(self.slow_delay)
            payload = json.dumps(ok).encode()
        elif fault == "huge":
            ok["padding"] = "x" * self.huge_bytes
            payload = json.dumps(ok).encode()
        elif fault.startswith("429"):
            status, payload = 429, b'{"message": "slow down"}'
            if fault == "429s":
                extra["Retry-After"] = "0"
            elif fault == "429date":
                extra["Retry-After"] = email.utils.formatdate(usegmt=True)
            else:
                extra["retry-after-ms"] = "1"
        elif fault in ("500", "503", "504", "401", "400"):
            status, payload = int(fault), b'{"message": "injected fault"}'
        elif fault == "502":
            status, ctype, payload = 502, "text/html", b"<html>bad gateway</html>"
        elif fault == "invalid_json":
            payload = b'{"results": [{"index": 0, "relevance_score": 0.'
        elif fault == "html":
            ctype, payload = "text/html", b"<html><body>maintenance</body></html>"
        elif fault == "bad_index":
            results[0] = {"index": len(docs), "relevance_score": 0.99}
            payload = json.dumps(ok).encode()
        elif fault == "repeat":
            results.append({"index": results[0]["index"], "relevance_score": 0.5})
            payload = json.dumps(ok).encode()
        elif fault == "reset":
            _reset(writer)
            return False
        elif fault in ("reset_body", "truncate"):
            payload = json.dumps(ok).encode()
        else:  # pragma: no cover - a typo in a test script
            raise ValueError(f"unknown fault {fault!r}")

        head = [f"HTTP/1.1 {status} X", f"Content-Type: {ctype}"]
        head += [f"{k}: {v}" for k, v in extra.items()]
        head.append(f"Content-Length: {len(payload) + (100 if fault == 'truncate' else 0)}")
        data = ("\r\n".join(head) + "\r\n\r\n").encode()
        if fault == "reset_body":
            writer.write(data + payload[: len(payload) // 2])
            await writer.drain()
            await asyncio.sleep(0.002)
            _reset(writer)
            return False
        writer.write(data + payload)
        await writer.drain()
        if fault == "truncate":
            writer.close()
            return False
        return True


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST (SO_LINGER 0), as a crashed peer or a middlebox does."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
