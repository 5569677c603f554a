"""Errors name where a call went without the credentials a base_url may carry."""

from __future__ import annotations

import pytest

from unified_rerank import APIConnectionError, RerankClient


def test_connection_error_names_the_host_without_user_info() -> None:
    # Port 9 on loopback: nothing listens, the connection is refused at once.
    client = RerankClient("tei", base_url="http://alice:s3cret-pw@127.0.0.1:9", max_retries=0)
    with client, pytest.raises(APIConnectionError) as info:
        client.rerank(model="m", query="q", documents=["a"])
    text = f"{info.value} {info.value!r}"
    assert "127.0.0.1:9" in text
    assert "s3cret-pw" not in text and "alice" not in text
