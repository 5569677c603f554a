"""The transport parses each distinct URL and header set once and reuses them: every request
must still carry exactly its own URL and headers (and the user's client defaults), signed
calls fresh signatures on every attempt, and the cache stays bounded."""

from __future__ import annotations

import itertools

import httpx

from unified_rerank import RerankClient
from unified_rerank.providers.base import HttpCall, RawResponse
from unified_rerank.transport import _PREPARED_MAX, RetryPolicy, Transport

# One answer both Cohere ("results") and Voyage ("data") read.
ANSWER = b"""{"id": "x", "results": [{"index": 0, "relevance_score": 0.5}],
    "data": [{"index": 0, "relevance_score": 0.5}], "usage": {"total_tokens": 1}}"""


def recording() -> tuple[list[httpx.Request], httpx.Client]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=ANSWER)

    return seen, httpx.Client(transport=httpx.MockTransport(handler), headers={"X-Proxy": "p"})


def test_each_request_carries_its_own_url_and_headers() -> None:
    seen, http = recording()
    transport = Transport(timeout=5.0, retry=RetryPolicy(max_retries=0), http_client=http)
    calls = [
        HttpCall("POST", "https://a.example/v2/rerank", {"Authorization": "Bearer k1"}, b"{}"),
        HttpCall("POST", "https://a.example/v2/rerank", {"Authorization": "Bearer k2"}, b"{}"),
        HttpCall("POST", "https://b.example/v1/rerank", {"Authorization": "Bearer k1"}, b"{}"),
        HttpCall("POST", "https://a.example/v2/rerank", {"Authorization": "Bearer k1"}, b"{}"),
    ]
    for call in calls:
        transport.send(call, lambda raw: raw, "test")
    assert [(str(r.url), r.headers["authorization"]) for r in seen] == [
        (c.url, c.headers["Authorization"]) for c in calls
    ]
    assert all(r.headers["x-proxy"] == "p" for r in seen)  # the user's client defaults kept


def test_one_client_two_providers() -> None:
    seen, http = recording()
    client = RerankClient(api_key="k", http_client=http, max_retries=0)
    for model in ["cohere/rerank-v3.5", "voyage/rerank-2.5", "cohere/rerank-v3.5"]:
        client.rerank(model=model, query="q", documents=["a"])
    assert [str(r.url) for r in seen] == [
        "https://api.cohere.com/v2/rerank",
        "https://api.voyageai.com/v1/rerank",
        "https://api.cohere.com/v2/rerank",
    ]
    assert all(r.headers["authorization"] == "Bearer k" for r in seen)


def test_a_shared_header_set_is_never_changed_by_a_request() -> None:
    seen, http = recording()
    transport = Transport(timeout=5.0, retry=RetryPolicy(max_retries=0), http_client=http)
    call = HttpCall("POST", "https://h.example/r", {"Authorization": "Bearer a"}, b"{}")
    for _ in range(3):
        transport.send(call, lambda raw: raw, "test")
    cached = next(iter(transport._header_sets.values()))
    assert dict(cached) == {"authorization": "Bearer a"}  # not merged into, not grown
    assert [r.headers["authorization"] for r in seen] == ["Bearer a"] * 3


def test_signed_calls_are_signed_on_every_attempt() -> None:
    seen, http = recording()
    transport = Transport(timeout=5.0, retry=RetryPolicy(max_retries=0), http_client=http)
    counter = itertools.count()

    def signer(call: HttpCall) -> dict[str, str]:
        return {"X-Signature": f"sig-{next(counter)}"}

    call = HttpCall("POST", "https://h.example/r", {"Content-Type": "a/b"}, b"{}", signer=signer)
    for _ in range(3):
        transport.send(call, lambda raw: raw, "test")
    assert [r.headers["x-signature"] for r in seen] == ["sig-0", "sig-1", "sig-2"]
    assert not transport._header_sets  # signatures are never kept


def test_the_prepared_cache_stays_bounded() -> None:
    seen, http = recording()
    transport = Transport(timeout=5.0, retry=RetryPolicy(max_retries=0), http_client=http)
    total = _PREPARED_MAX * 2 + 3
    for i in range(total):
        call = HttpCall("POST", f"https://h{i}.example/r", {"X-N": str(i)}, b"{}")
        raw: RawResponse = transport.send(call, lambda raw: raw, "test")
        assert raw.status_code == 200
        assert len(transport._urls) <= _PREPARED_MAX
        assert len(transport._header_sets) <= _PREPARED_MAX
    assert [(r.url.host, r.headers["x-n"]) for r in seen] == [
        (f"h{i}.example", str(i)) for i in range(total)
    ]
