"""The server's shared connection pool: answers read as httpx reads them (gzip decoded, no
redirect followed), no cookie carried from one request to the next, aiohttp's errors turned
into httpx's, and every other kind of request on httpx's own path."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator

import httpx
import pytest

from tests.support.loopback import Answer, Loopback, closed_port
from unified_rerank.server.pool import Pool

OK = {"results": []}


@pytest.fixture
def loopback() -> Iterator[Loopback]:
    server = Loopback().start()
    yield server
    server.stop()


async def test_answers_read_as_httpx_reads_them(loopback: Loopback) -> None:
    pool = Pool()
    client = pool.client(5.0)
    try:
        loopback.script(
            Answer(200, gzip.compress(json.dumps(OK).encode()), {"Content-Encoding": "gzip"}),
            Answer(302, b"", {"Location": "/elsewhere", "Set-Cookie": "session=caller-a"}),
            Answer(200, OK),
        )
        first = await client.request("POST", loopback.url + "/r", content=b"{}", headers={"a": "1"})
        assert first.status_code == 200 and first.json() == OK
        second = await client.request("POST", loopback.url + "/r", content=b"{}")
        assert second.status_code == 302  # not followed
        third = await pool.client(1.0).request("POST", loopback.url + "/r", content=b"{}")
        assert third.json() == OK
        assert len(loopback.received) == 3
        assert loopback.received[0].headers["a"] == "1"
        assert all("Cookie" not in r.headers for r in loopback.received)  # never replayed
        # anything but a plain request takes httpx's own path, still pooled and correct
        other = await client.post(loopback.url + "/r", json={"x": 1})
        assert other.status_code == 200 and loopback.received[-1].json() == {"x": 1}
    finally:
        await pool.aclose()


async def test_errors_become_httpx_errors(loopback: Loopback) -> None:
    pool = Pool()
    try:
        with pytest.raises(httpx.ConnectError):
            await pool.client(2.0).request(
                "POST", f"http://127.0.0.1:{closed_port()}/r", content=b"{}"
            )
        loopback.script(Answer(fault="reset"))
        with pytest.raises(httpx.TransportError) as info:
            await pool.client(2.0).request("POST", loopback.url + "/r", content=b"{}")
        assert not isinstance(info.value, httpx.TimeoutException)
        loopback.script(Answer(200, OK, fault="truncate"))
        with pytest.raises(httpx.TransportError):
            await pool.client(2.0).request("POST", loopback.url + "/r", content=b"{}")
        loopback.script(Answer(200, OK, delay=1.0))
        with pytest.raises(httpx.TimeoutException):
            await pool.client(0.2).request("POST", loopback.url + "/r", content=b"{}")
    finally:
        await pool.aclose()
