"""A scripted HTTP server on 127.0.0.1, started by the test that needs it.

Each request takes the next scripted answer (the last one repeats): a status, headers and a
body, optionally after a delay, or a fault (``"reset"``: close without answering;
``"truncate"``: promise more body than is sent). Every request received is recorded, so a
test can prove that nothing was sent.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Answer:
    status: int = 200
    body: Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    fault: str | None = None  # "reset" | "truncate"

    def payload(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Loopback:
    def __init__(self) -> None:
        self.answers: list[Answer] = [Answer(500, {"message": "no answer scripted"})]
        self.received: list[Received] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                answer = server._take(Received(self.command, self.path, dict(self.headers), body))
                if answer.delay:
                    time.sleep(answer.delay)
                if answer.fault == "reset":
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                    )
                    self.close_connection = True
                    return
                payload = answer.payload()
                self.send_response(answer.status)
                headers = {"Content-Type": "application/json", **answer.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                declared = len(payload) * 2 + 10 if answer.fault == "truncate" else len(payload)
                self.send_header("Content-Length", str(declared))
                self.end_headers()
                self.wfile.write(payload)
                if answer.fault == "truncate":
                    self.close_connection = True

            do_GET = do_POST

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # clients hanging up mid-answer is what fault tests do

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        assert isinstance(host, str)  # an IPv4 address, never a Unix socket path
        return f"http://{host}:{port}"

    def script(self, *answers: Answer) -> None:
        with self._lock:
            self.answers = list(answers)

    def _take(self, received: Received) -> Answer:
        with self._lock:
            self.received.append(received)
            return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]

    def start(self) -> Loopback:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (connections are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
