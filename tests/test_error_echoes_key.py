"""An upstream error body that echoes the API key never puts it in our error."""

from __future__ import annotations

import httpx
import pytest

from unified_rerank import AuthenticationError, InvalidRequestError, RerankClient

KEY = "sk-live-0123456789abcdef"


def _echo(status: int) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        sent = request.headers["authorization"].removeprefix("Bearer ")
        return httpx.Response(status, json={"message": f"invalid api key: {sent}"})

    return httpx.MockTransport(answer)


@pytest.mark.parametrize(
    ("status", "kind"), [(401, AuthenticationError), (400, InvalidRequestError)]
)
def test_sync_error_masks_an_echoed_key(status: int, kind: type[Exception]) -> None:
    http = httpx.Client(transport=_echo(status))
    client = RerankClient("cohere", api_key=KEY, http_client=http, max_retries=0)
    with client, pytest.raises(kind) as info:
        client.rerank(model="rerank-v3.5", query="q", documents=["a"])
    text = f"{info.value} {info.value!r} {info.value.args}"
    assert KEY not in text
    assert "invalid api key: [redacted]" in str(info.value)


async def test_async_error_masks_an_echoed_key() -> None:
    http = httpx.AsyncClient(transport=_echo(401))
    async with RerankClient("cohere", api_key=KEY, async_http_client=http, max_retries=0) as c:
        with pytest.raises(AuthenticationError) as info:
            await c.arerank(model="rerank-v3.5", query="q", documents=["a"])
    assert KEY not in f"{info.value} {info.value!r}"
