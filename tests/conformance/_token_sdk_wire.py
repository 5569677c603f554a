"""Shared by the vertex-ai and watsonx SDK conformance tests: a loopback recorder, a transport
that sends real service URLs to it, and a field-by-field header comparison.

Stdlib and httpx only: the watsonx driver imports it from the SDK's own interpreter.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx


@dataclass
class Seen:
    """One request as the recorder got it; header names lower-cased."""

    method: str
    host: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode(), keep_blank_values=True)


class Recorder:
    """An HTTP server on 127.0.0.1 that keeps every request and answers JSON by path prefix
    (``routes``: prefix -> body, or (status, body)); anything else is a 404."""

    def __init__(self, routes: Mapping[str, Any]) -> None:
        self.routes = dict(routes)
        self.seen: list[Seen] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def handle_one(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                parts = urlsplit(self.path)
                headers = {k.lower(): v for k, v in self.headers.items()}
                recorder.seen.append(
                    Seen(
                        self.command,
                        headers.get("host", ""),
                        parts.path,
                        parse_qs(parts.query, keep_blank_values=True),
                        headers,
                        body,
                    )
                )
                status, answer = recorder.answer(parts.path)
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = handle_one

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def answer(self, path: str) -> tuple[int, Any]:
        for prefix in sorted(self.routes, key=len, reverse=True):
            if path.startswith(prefix):
                value = self.routes[prefix]
                return value if isinstance(value, tuple) else (200, value)
        return 404, {"error": f"no route for {path}"}

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Recorder:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def take(self) -> list[Seen]:
        seen, self.seen = self.seen, []
        return seen


class ToLoopback(httpx.HTTPTransport):
    """Sends every request to the recorder, keeping the real URL's Host header and path: both
    sides call the service's real URLs and nothing leaves the machine."""

    def __init__(self, port: int) -> None:
        super().__init__()
        self.port = port

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(scheme="http", host="127.0.0.1", port=self.port)
        return super().handle_request(request)


class AsyncToLoopback(httpx.AsyncHTTPTransport):
    def __init__(self, port: int) -> None:
        super().__init__()
        self.port = port

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(scheme="http", host="127.0.0.1", port=self.port)
        return await super().handle_async_request(request)


def header_differences(sdk: Seen, ours: Seen) -> dict[str, tuple[str | None, str | None]]:
    """Every header whose value differs (or that one side lacks): name -> (SDK's, ours)."""
    names = set(sdk.headers) | set(ours.headers)
    return {
        name: (sdk.headers.get(name), ours.headers.get(name))
        for name in sorted(names)
        if sdk.headers.get(name) != ours.headers.get(name)
    }
