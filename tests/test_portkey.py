from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import SecretStr

from tests.support.cassettes import cassette, key
from tests.support.loopback import Answer, Loopback
from tests.support.provider_cases import HOTELS
from unified_rerank import (
    AuthenticationError,
    InvalidRequestError,
    ProviderError,
    RateLimitError,
    RerankClient,
)
from unified_rerank.transport import RetryPolicy


def client(**options: object) -> RerankClient:
    return RerankClient(
        "portkey",
        api_key=key("PORTKEY_API_KEY"),
        max_retries=0,
        **options,  # type: ignore[arg-type]
    )


def test_unified_request_sent_as_is_tokens_put_back_in_their_unit() -> None:
    with cassette("portkey", "rerank_voyage"), client(portkey_provider="voyage") as c:
        resp = c.rerank(
            model="rerank-2.5",
            query="capital of France?",
            documents=["Paris is the capital.", "Berlin is in Germany."],
            top_n=1,
            return_documents=True,
        )
    assert resp.model_dump(exclude_none=True) == {
        "id": "rerank_AbCdEfGhIjKlMnOpQrStUvWxYz012",
        "object": "list",
        "results": [
            {"index": 0, "relevance_score": 0.8945, "document": {"text": "Paris is the capital."}}
        ],
        "model": "rerank-2.5",
        "usage": {"total_tokens": 26},  # Portkey's "search_units" from Voyage are tokens
        "provider": "portkey",
    }


async def test_self_hosted_gateway_all_fields_async() -> None:
    with cassette("portkey", "rerank_pinecone_self_hosted"):
        async with RerankClient(
            "portkey", base_url="http://localhost:8787", portkey_provider="pinecone"
        ) as c:
            resp = await c.arerank(
                model="portkey/bge-reranker-v2-m3",
                query="quiet hotel for business travel",
                documents=HOTELS,
                return_documents=True,
                rank_fields=["title", "text"],
                priority=3,
                parameters={"truncate": "END"},
            )
    assert [r.index for r in resp.results] == [2, 0, 1]
    assert resp.results[1].document == HOTELS[0]  # the caller's object, not Pinecone's echo
    assert resp.usage.model_dump(exclude_none=True) == {"rerank_units": 1}
    assert resp.provider == "portkey" and resp.id.startswith("rerank-")


def test_upstream_rate_limit_keeps_status_and_retry_after() -> None:
    with (
        cassette("portkey", "upstream_rate_limited"),
        client() as c,
        pytest.raises(RateLimitError) as info,
    ):
        c.rerank(model="rerank-v3.5", query="q", documents=["a"])
    assert info.value.retry_after == 5.0 and info.value.provider == "portkey"
    assert "cohere error: You are past" in str(info.value)


async def test_gateway_failure_body_async() -> None:
    with cassette("portkey", "gateway_failure"), pytest.raises(InvalidRequestError) as info:
        async with client() as c:
            await c.arerank(model="rerank-v3.5", query="q", documents=["a"])
    assert "x-portkey-provider header is required" in str(info.value)
    assert info.value.status_code == 400


def test_headers_from_options() -> None:
    c = client(
        portkey_provider="cohere",
        provider_api_key=SecretStr("upstream-key"),
        virtual_key="vk-1",
        config={"retry": {"attempts": 3}},
        trace_id="t-1",
        span_id="s-2",
        parent_span_id="s-1",
        span_name="rerank step",
        metadata={"_user": "u-9", "env": "test"},
    )
    call = c._plan(dict(model="rerank-v3.5", query="q", documents=["a"])).calls[0]
    h = call.headers
    assert call.url == "https://api.portkey.ai/v1/rerank"
    assert h["x-portkey-api-key"] == key("PORTKEY_API_KEY")
    assert h["x-portkey-provider"] == "cohere" and h["Authorization"] == "Bearer upstream-key"
    assert h["x-portkey-virtual-key"] == "vk-1"
    assert json.loads(h["x-portkey-config"]) == {"retry": {"attempts": 3}}
    assert (h["x-portkey-trace-id"], h["x-portkey-span-id"]) == ("t-1", "s-2")
    assert (h["x-portkey-parent-span-id"], h["x-portkey-span-name"]) == ("s-1", "rerank step")
    assert json.loads(h["x-portkey-metadata"]) == {"_user": "u-9", "env": "test"}
    assert "upstream-key" not in repr(call) and "upstream-key" not in repr(c)
    assert json.loads(call.body) == {
        "model": "rerank-v3.5",
        "query": "q",
        "documents": ["a"],
        "return_documents": False,
    }


def test_key_needed_for_hosted_only_and_options_checked() -> None:
    with pytest.raises(AuthenticationError, match="PORTKEY_API_KEY"):
        RerankClient("portkey").rerank(model="m", query="q", documents=["a"])
    call = (
        RerankClient("portkey", base_url="http://gw:8787/v1")
        ._plan(dict(model="m", query="q", documents=["a"]))
        .calls[0]
    )
    assert call.url == "http://gw:8787/v1/rerank" and "x-portkey-api-key" not in call.headers
    with pytest.raises(InvalidRequestError, match="metadata"):
        client(metadata=5)._plan(dict(model="m", query="q", documents=["a"]))
    with pytest.raises(InvalidRequestError, match="<secret>"):
        client(provider_api_key=123)._plan(dict(model="m", query="q", documents=["a"]))
    with pytest.raises(InvalidRequestError, match=r"unknown|accept"):
        RerankClient("portkey", trace=1)


@pytest.mark.parametrize(
    ("upstream", "usage"),
    [
        ("cohere", {"search_units": 1}),
        ("bedrock", {"search_units": 1, "estimated": True}),
        ("jina", {"total_tokens": 12}),
        (None, {"search_units": 3}),
    ],
)
def test_usage_units_by_upstream(
    loopback: Loopback, upstream: str | None, usage: dict[str, object]
) -> None:
    units = usage.get("search_units", usage.get("total_tokens"))
    answer: dict[str, object] = {
        "object": "list",
        "model": "m",
        "results": [{"index": 0, "relevance_score": 0.5}],
    }
    answer["usage"] = {"search_units": units}
    if upstream:
        answer["provider"] = upstream
    loopback.script(Answer(200, answer))
    with RerankClient("portkey", base_url=loopback.url, max_retries=0) as c:
        resp = c.rerank(model="m", query="q", documents=["a"])
    assert resp.usage.model_dump(exclude_none=True) == usage
    assert loopback.received[0].path == "/v1/rerank"


FAILING = Answer(503, {"error": {"message": "cohere error: overloaded"}, "provider": "cohere"})
GATEWAY_RETRY = {"retry": {"attempts": 2, "on_status_codes": [503]}}


@pytest.mark.parametrize(
    ("config", "asked", "attempts"),
    [
        (None, False, 3),  # no gateway retry: the client's own (2 retries)
        (GATEWAY_RETRY, False, 1),  # the gateway retried already: no retry on top
        ({"strategy": {"mode": "fallback"}, "targets": [GATEWAY_RETRY]}, False, 1),
        (json.dumps(GATEWAY_RETRY), False, 1),  # the config as a JSON string
        (GATEWAY_RETRY, True, 3),  # asked for: client_retries=True
        ("pc-saved-config", False, 3),  # a saved config's id cannot be read
    ],
)
def test_no_client_retry_on_top_of_a_gateway_retry(
    loopback: Loopback, config: object, asked: bool, attempts: int
) -> None:
    loopback.script(FAILING)
    options: dict[str, Any] = {"client_retries": True} if asked else {}
    if config is not None:
        options["config"] = config
    policy = RetryPolicy(max_retries=2, base_delay=0.0)
    with (
        RerankClient("portkey", base_url=loopback.url, retry_policy=policy, **options) as c,
        pytest.raises(ProviderError),
    ):
        c.rerank(model="rerank-v3.5", query="q", documents=["a"])
    assert len(loopback.received) == attempts


async def test_gateway_not_supported_is_not_retried_async(loopback: Loopback) -> None:
    # Portkey-AI/gateway 2.0.0: GatewayError("rerank is not supported by openai") -> a 500
    # {"status": "failure", "message"} with x-portkey-gateway-exception: true.
    loopback.script(
        Answer(
            500,
            {"status": "failure", "message": "rerank is not supported by openai"},
            {"x-portkey-gateway-exception": "true"},
        )
    )
    policy = RetryPolicy(max_retries=2, base_delay=0.0)
    async with RerankClient("portkey", base_url=loopback.url, retry_policy=policy) as c:
        with pytest.raises(InvalidRequestError, match="not supported by openai") as info:
            await c.arerank(model="rerank-v3.5", query="q", documents=["a"])
    assert not info.value.retryable and info.value.status_code == 500
    assert len(loopback.received) == 1


def test_client_retries_option_checked() -> None:
    with pytest.raises(InvalidRequestError, match="client_retries"):
        RerankClient("portkey", base_url="http://gw", client_retries="yes")._plan(
            dict(model="m", query="q", documents=["a"])
        )
