"""The one HTTP connection pool that every upstream client of the server shares.

httpx stays the interface the core speaks, but under many concurrent requests httpcore's pool
scans every connection for every request (most of the gateway's CPU at 64 clients), so when
``httpx-aiohttp`` is installed (the ``server`` extra) requests go through aiohttp's connector
instead. Its error mapping is corrected here: a refused or dropped connection stays a
connection error (502), never a timeout (504), and no aiohttp error escapes as itself.

Each timeout gets its own thin ``httpx.AsyncClient`` over the one transport (a client's
timeout is the core's per-attempt timeout); only the transport holds connections.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

__all__ = ["Pool"]


class Pool:
    """Connections to every upstream, shared by all the server's clients."""

    def __init__(self, max_connections: int = 512) -> None:
        limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        self.transport: httpx.AsyncBaseTransport = _transport(limits)
        self._clients: dict[float | None, httpx.AsyncClient] = {}

    def client(self, timeout: float | None) -> httpx.AsyncClient:
        """A client over the shared connections whose requests time out after ``timeout``."""
        client = self._clients.get(timeout)
        if client is None:
            client = httpx.AsyncClient(transport=self.transport, timeout=timeout)
            self._clients[timeout] = client
        return client

    async def aclose(self) -> None:
        await self.transport.aclose()


def _transport(limits: httpx.Limits) -> httpx.AsyncBaseTransport:
    try:
        import aiohttp
        from httpx_aiohttp import AiohttpTransport
    except ImportError:  # httpx's own transport: correct, slower under concurrency
        return httpx.AsyncHTTPTransport(limits=limits)

    class Transport(AiohttpTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            try:
                response: httpx.Response = await super().handle_async_request(request)
            except httpx.TimeoutException as exc:
                cause = exc.__cause__
                if isinstance(cause, (aiohttp.ServerTimeoutError, asyncio.TimeoutError)):
                    raise
                if isinstance(cause, aiohttp.ClientConnectorError):
                    raise httpx.ConnectError(str(exc), request=request) from cause
                raise httpx.ReadError(str(exc), request=request) from cause
            except httpx.HTTPError:
                raise
            except asyncio.TimeoutError as exc:
                raise httpx.ReadTimeout("timed out", request=request) from exc
            except aiohttp.ClientError as exc:
                raise httpx.ReadError(type(exc).__name__, request=request) from exc
            return response

    transport: Any = Transport(limits=limits, trust_env=False)
    return transport  # type: ignore[no-any-return]
