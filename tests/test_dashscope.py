from __future__ import annotations

import pytest

from tests.support.cassettes import cassette, key
from tests.support.loopback import Answer, Loopback
from tests.support.provider_cases import CAPITALS, HOTELS
from unified_rerank import (
    AuthenticationError,
    InvalidRequestError,
    ProviderError,
    RateLimitError,
    RerankClient,
)


def client(**options: object) -> RerankClient:
    return RerankClient("dashscope", api_key=key("DASHSCOPE_API_KEY"), max_retries=0, **options)  # type: ignore[arg-type]


def test_basic_shared_gateway() -> None:
    with cassette("dashscope", "rerank_basic"), client() as c:
        resp = c.rerank(
            model="gte-rerank-v2", query="capital of France?", documents=CAPITALS, top_n=2
        )
    assert resp.model_dump(exclude_none=True) == {
        "id": "5f7e0a1c-3c2b-9d44-b1a7-2f0c9e6d8a11",
        "object": "list",
        "results": [
            {"index": 0, "relevance_score": 0.7372},
            {"index": 2, "relevance_score": 0.4513},
        ],
        "model": "gte-rerank-v2",
        "usage": {"total_tokens": 38},
        "provider": "dashscope",
    }


async def test_workspace_gateway_header_instruct_objects_async() -> None:
    # The URL is the workspace gateway of the region; the header is checked in the plan test.
    with cassette("dashscope", "rerank_workspace_instruct"):
        async with client(workspace="ws-8x1k2m", region="ap-southeast-1") as c:
            resp = await c.arerank(
                model="dashscope/qwen3-rerank",
                query="quiet hotel for business travel",
                documents=HOTELS,
                rank_fields=["title", "text"],
                return_documents=True,
                truncation=True,  # the service always truncates: dropped
                parameters={"instruct": "Given a travel request, find hotels that fit it"},
            )
    assert [r.index for r in resp.results] == [2, 0, 1]
    assert resp.results[1].document == HOTELS[0]
    assert resp.usage.total_tokens == 104


def test_error_code_in_http_200_is_an_error_never_a_ranking() -> None:
    with (
        cassette("dashscope", "error_in_200"),
        client() as c,
        pytest.raises(InvalidRequestError, match="Range of input length") as info,
    ):
        c.rerank(model="gte-rerank-v2", query="q", documents=["a"])
    assert info.value.status_code == 200 and info.value.code == "InvalidParameter"
    assert not info.value.retryable


async def test_invalid_api_key_async() -> None:
    with cassette("dashscope", "invalid_api_key"), pytest.raises(AuthenticationError) as info:
        async with client() as c:
            await c.arerank(model="gte-rerank-v2", query="q", documents=["a"])
    assert info.value.code == "InvalidApiKey" and info.value.status_code == 401


def test_throttled_is_rate_limit_with_retry_after() -> None:
    with (
        cassette("dashscope", "throttled"),
        client() as c,
        pytest.raises(RateLimitError, match="rate limit") as info,
    ):
        c.rerank(model="gte-rerank-v2", query="q", documents=["a"])
    assert info.value.code == "Throttling.RateQuota" and info.value.retry_after == 2.0
    assert info.value.retryable


@pytest.mark.parametrize(
    ("options", "env", "url"),
    [
        ({}, {}, "https://dashscope.aliyuncs.com/api/v1"),
        ({"region": "us-east-1"}, {}, "https://dashscope-intl.aliyuncs.com/api/v1"),
        (
            {},
            {"DASHSCOPE_REGION": "cn-hongkong"},
            "https://cn-hongkong.dashscope.aliyuncs.com/api/v1",
        ),
        ({"workspace": "ws1"}, {}, "https://ws1.cn-beijing.maas.aliyuncs.com/api/v1"),
        (
            {},
            {"DASHSCOPE_WORKSPACE_ID": "ws2", "DASHSCOPE_REGION": "eu-central-1"},
            "https://ws2.eu-central-1.maas.aliyuncs.com/api/v1",
        ),
        (
            {"workspace": "ws1"},
            {"DASHSCOPE_BASE_URL": "http://127.0.0.1:9/api/v1/"},
            "http://127.0.0.1:9/api/v1",
        ),
        ({}, {"DASHSCOPE_HTTP_BASE_URL": "http://127.0.0.1:8/api/v1"}, "http://127.0.0.1:8/api/v1"),
    ],
)
def test_root_follows_the_sdk_rule(
    monkeypatch: pytest.MonkeyPatch, options: dict[str, str], env: dict[str, str], url: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    call = client(**options)._plan(dict(model="m", query="q", documents=["a"])).calls[0]
    assert call.url == url + "/services/rerank/text-rerank/text-rerank"
    space = options.get("workspace") or env.get("DASHSCOPE_WORKSPACE_ID")
    assert call.headers.get("X-DashScope-WorkSpace") == space


def test_key_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(AuthenticationError, match="DASHSCOPE_API_KEY"):
        RerankClient("dashscope")._plan(dict(model="m", query="q", documents=["a"]))
    monkeypatch.setenv("DASHSCOPE_API_KEY", "from-env")
    call = RerankClient("dashscope")._plan(dict(model="m", query="q", documents=["a"])).calls[0]
    assert call.headers["Authorization"] == "Bearer from-env"


@pytest.mark.parametrize(
    ("kwargs", "options", "match"),
    [
        ({"max_tokens_per_doc": 100}, {}, "max_tokens_per_doc"),
        ({"truncation": False}, {}, "truncation=False"),
        ({"parameters": {"top_n": 1}}, {}, "cannot set"),
        ({"parameters": {"return_documents": True}}, {}, "cannot set"),
        ({}, {"region": "mars-1"}, "region"),
        ({}, {"workspace": "ws.evil.com/x"}, "workspace"),
        ({}, {"workspace": ""}, "non-empty"),
    ],
)
def test_refused_before_io(
    loopback: Loopback, kwargs: dict[str, object], options: dict[str, object], match: str
) -> None:
    with (
        RerankClient("dashscope", api_key="k", **options) as c,  # type: ignore[arg-type]
        pytest.raises(InvalidRequestError, match=match),
    ):
        c.rerank(model="m", query="q", documents=["a"], **kwargs)  # type: ignore[arg-type]


def test_windows_of_500() -> None:
    plan = client()._plan(dict(model="m", query="q", documents=["d"] * 1201, top_n=3))
    assert [len(w.documents) for _, w in plan.windows] == [500, 500, 201]


@pytest.mark.parametrize(
    ("status", "body", "headers", "kind", "retryable"),
    [
        (200, {"code": "Throttling", "message": "busy"}, {}, RateLimitError, False),
        (
            200,
            {"code": "Throttling", "message": "busy"},
            {"x-should-retry": "true"},
            RateLimitError,
            True,
        ),
        (200, {"code": "SomethingNew", "message": "??"}, {}, ProviderError, False),
        (403, {"code": "Arrearage", "message": "in arrears"}, {}, AuthenticationError, False),
        (
            404,
            {"code": "Model.NotExist", "message": "no such model"},
            {},
            InvalidRequestError,
            False,
        ),
        (409, {"message": "conflict"}, {}, InvalidRequestError, True),
        (500, {"code": "InternalError", "message": "oops"}, {}, ProviderError, True),
        (
            500,
            {"code": "InternalError", "message": "oops"},
            {"x-should-retry": "false"},
            ProviderError,
            False,
        ),
        (501, {"message": "not implemented"}, {}, ProviderError, False),
        (502, b"<html>bad gateway</html>", {}, ProviderError, True),
    ],
)
def test_error_table_and_sdk_retry_rule(
    loopback: Loopback,
    status: int,
    body: object,
    headers: dict[str, str],
    kind: type[Exception],
    retryable: bool,
) -> None:
    loopback.script(Answer(status, body, headers=headers))
    with (
        RerankClient("dashscope", api_key="k", base_url=loopback.url, max_retries=0) as c,
        pytest.raises(kind) as info,
    ):
        c.rerank(model="m", query="q", documents=["a"])
    assert type(info.value) is kind and info.value.retryable is retryable  # type: ignore[attr-defined]


def test_retried_then_answer(loopback: Loopback) -> None:
    ok = {
        "output": {
            "results": [{"index": 1, "relevance_score": 0.9}, {"index": 0, "relevance_score": 0.1}]
        }
    }
    loopback.script(
        Answer(503, {"code": "ServiceUnavailable", "message": "later"}), Answer(200, ok)
    )
    with RerankClient("dashscope", api_key="k", base_url=loopback.url, max_retries=1) as c:
        resp = c.rerank(model="m", query="q", documents=["a", "b"])
    assert [r.index for r in resp.results] == [1, 0] and resp.usage.total_tokens is None
    assert loopback.received[-1].path == "/services/rerank/text-rerank/text-rerank"


@pytest.mark.parametrize(
    "answer",
    [
        {"output": {}},
        {"results": [{"index": 0, "relevance_score": 0.5}]},
        {"output": {"results": [{"index": 3, "relevance_score": 0.5}]}},
        {"output": {"results": [{"index": 0, "relevance_score": "0.5"}]}},
    ],
)
def test_malformed_answers(loopback: Loopback, answer: object) -> None:
    loopback.script(Answer(200, answer))
    with (
        RerankClient("dashscope", api_key="k", base_url=loopback.url, max_retries=0) as c,
        pytest.raises(ProviderError, match="malformed"),
    ):
        c.rerank(model="m", query="q", documents=["a"])
