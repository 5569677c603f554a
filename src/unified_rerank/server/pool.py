"""The one HTTP connection pool that every upstream client of the server shares.

The core speaks ``httpx.AsyncClient``; the server hands each of its clients one whose plain
requests (a bytes body, headers, a timeout: all the core sends) go straight to one shared
``aiohttp`` session. Two reasons, both measured by ``bench/server.py``: httpcore's pool scans
every connection for every request (most of the gateway's CPU at 64 clients), and httpx's
per-request layers (request building, cookie handling) are a third of the gateway's added
latency. Anything else (``json=``, ``params=``, auth, streaming) takes httpx's own path.

The shared session keeps no cookies (one caller's upstream cookies must never reach another's
requests), follows no redirects (as httpx by default), and leaves decompression to httpx, so
an answer reads exactly as httpx would read it. aiohttp's errors become httpx's: a refused or
dropped connection is a connection error (502), a slow answer a timeout (504).
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

import httpx

__all__ = ["Pool"]

_ACCEPT_ENCODING = "gzip, deflate"  # what both aiohttp and httpx always decode


class Pool:
    """Connections to every upstream, shared by all the server's clients.

    Args:
        max_connections: open connections at most, over all upstreams.
    """

    def __init__(self, max_connections: int = 512) -> None:
        self.max_connections = max_connections
        self._session: Any = None
        self._clients: dict[float | None, httpx.AsyncClient] = {}
        try:
            import aiohttp  # noqa: F401
        except ImportError:  # httpx's own transport: correct, slower under concurrency
            self._aiohttp = False
        else:
            self._aiohttp = True
        limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        self._fallback = httpx.AsyncHTTPTransport(limits=limits)

    def client(self, timeout: float | None) -> httpx.AsyncClient:
        """A client over the shared connections whose requests time out after ``timeout``."""
        client = self._clients.get(timeout)
        if client is None:
            cls = _AiohttpClient if self._aiohttp else httpx.AsyncClient
            client = cls(timeout=timeout, transport=self._fallback)
            if isinstance(client, _AiohttpClient):
                client.pool = self
            self._clients[timeout] = client
        return client

    def session(self) -> Any:
        """The shared aiohttp session, opened in the running loop on first use."""
        if self._session is None or self._session.closed:
            import aiohttp

            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.max_connections, limit_per_host=0),
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=False,
            )
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        await self._fallback.aclose()


class _AiohttpClient(httpx.AsyncClient):
    """An ``httpx.AsyncClient`` whose plain requests go to the pool's aiohttp session."""

    pool: Pool

    async def request(  # type: ignore[override]
        self,
        method: str,
        url: httpx.URL | str,
        *,
        content: bytes | None = None,
        headers: Any = None,
        timeout: Any = httpx.USE_CLIENT_DEFAULT,
        **kwargs: Any,
    ) -> httpx.Response:
        if kwargs or not (content is None or isinstance(content, bytes)):
            return await super().request(
                method, url, content=content, headers=headers, timeout=timeout, **kwargs
            )
        return await _send(self.pool.session(), method, url, content, headers, self._aio(timeout))

    def _aio(self, timeout: Any) -> Any:
        t = httpx.Timeout(self.timeout if timeout is httpx.USE_CLIENT_DEFAULT else timeout)
        return _aio_timeout(t.pool or t.connect, t.connect, t.read)


@functools.lru_cache(maxsize=64)
def _aio_timeout(connect: float | None, sock_connect: float | None, read: float | None) -> Any:
    """aiohttp's timeout for httpx's (the same few for every call: built once)."""
    import aiohttp

    return aiohttp.ClientTimeout(
        total=None, connect=connect, sock_connect=sock_connect, sock_read=read
    )


class _Complete(httpx.Response):
    """An answer whose whole body is in hand and needs no decoding: ``content`` is that body,
    without httpx's read machinery (a tenth of the gateway's CPU per request)."""

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        super().__init__(status, headers=headers, stream=httpx.ByteStream(body))
        self._body = body

    @property
    def content(self) -> bytes:
        return self._body


async def _send(
    session: Any,
    method: str,
    url: httpx.URL | str,
    content: bytes | None,
    headers: Any,
    timeout: Any,
) -> httpx.Response:
    import aiohttp

    sent = dict(headers or {})
    if not any(k.lower() == "accept-encoding" for k in sent):
        sent["Accept-Encoding"] = _ACCEPT_ENCODING
    try:
        async with session.request(
            method, str(url), data=content, headers=sent, timeout=timeout, allow_redirects=False
        ) as answer:
            body = await answer.read()
            headers = list(answer.raw_headers)
            if answer.headers.get("Content-Encoding", "identity") != "identity":
                return httpx.Response(answer.status, headers=headers, content=body)  # decoded
            return _Complete(answer.status, headers, body)
    except (aiohttp.ServerTimeoutError, asyncio.TimeoutError) as exc:
        raise httpx.ReadTimeout(f"timed out ({type(exc).__name__})") from exc
    except aiohttp.ClientConnectorError as exc:
        raise httpx.ConnectError(f"connection failed ({type(exc).__name__})") from exc
    except aiohttp.ClientPayloadError as exc:
        raise httpx.ReadError(f"the answer broke off ({type(exc).__name__})") from exc
    except aiohttp.ClientError as exc:  # dropped, reset, unparsable answer
        raise httpx.RemoteProtocolError(f"connection lost ({type(exc).__name__})") from exc
    except ValueError as exc:  # a request aiohttp will not send (credentials in the URL, ...)
        raise httpx.UnsupportedProtocol(f"the request cannot be sent ({exc})") from exc
