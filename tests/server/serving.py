"""Test support for the HTTP server: the app on a real uvicorn (in a thread, or as the
``unified-rerank serve`` command in a process), a real ``redis-server``, and the vendored
OpenAPI schemas the answers are checked against."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import uvicorn
import yaml

from unified_rerank.server import ServerConfig, create_app

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
SCHEMAS: dict[str, Any] = yaml.safe_load((HERE / "rerank-schemas.yaml").read_text())


def validator(name: str) -> jsonschema.Draft202012Validator:
    """A validator for one of the vendored component schemas (``$ref``s resolve inside)."""
    return jsonschema.Draft202012Validator({"$ref": f"#/components/schemas/{name}", **SCHEMAS})


RESPONSE = validator("CreateRerankResponse")


class InThread:
    """``create_app(config)`` served by uvicorn on 127.0.0.1 in a background thread."""

    def __init__(self, config: dict[str, Any] | ServerConfig, **app_kwargs: Any) -> None:
        cfg = config if isinstance(config, ServerConfig) else ServerConfig.from_mapping(config)
        self.app = create_app(cfg, **app_kwargs)
        self.server = uvicorn.Server(
            uvicorn.Config(
                self.app,
                host="127.0.0.1",
                port=0,
                log_level="warning",
                access_log=False,
                lifespan="on",
            )
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> InThread:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    @property
    def url(self) -> str:
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve_command(
    config: dict[str, Any], *args: str, env: dict[str, str] | None = None
) -> Iterator[str]:
    """``unified-rerank serve`` in its own process with ``config``; yields its URL."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "server.json")
        with open(path, "w") as f:
            json.dump(config, f)
        port = free_port()
        cmd = [sys.executable, "-m", "unified_rerank", "serve", "--port", str(port)]
        proc = subprocess.Popen(
            [*cmd, "--config", path, "--log-level", "warning", *args],
            env={**os.environ, **(env or {})},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(url, proc)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def _wait_healthy(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise RuntimeError(f"serve exited with {proc.returncode}: {err}")
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError("serve did not become healthy")


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """A private ``redis-server`` on a free loopback port (no persistence); yields its URL.
    Raises ``FileNotFoundError`` when redis-server is not installed."""
    exe = shutil.which("redis-server")
    if exe is None:
        raise FileNotFoundError("redis-server")
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        args = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        proc = subprocess.Popen(
            [exe, *args, "--dir", folder],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 10
            while True:
                with (
                    contextlib.suppress(OSError),
                    socket.create_connection(("127.0.0.1", port), 0.2),
                ):
                    break
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("redis-server did not start")
                time.sleep(0.02)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            proc.terminate()
            proc.wait(10)
