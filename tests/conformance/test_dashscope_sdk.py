"""dashscope against Alibaba's ``dashscope`` SDK (2.x ``Client`` / ``AsyncClient``,
``client.rerank.create``): the same call to one loopback recorder, compared field by field
(method, path, query, auth, the workspace header, JSON body); both read the same canned answer
alike; errors (HTTP statuses, and business codes on HTTP 200) give the same category and retry
count; the default roots (workspace gateway, region gateways) are the SDK's.

Intended differences (and why):

- ``x-dashscope-sdk-client`` / ``x-dashscope-sdk-session-id``: the SDK's telemetry.
- ``accept``: the SDK sends none; we ask for JSON.
"""

from __future__ import annotations

import warnings
from typing import Any

import pytest

from tests.conformance._sdk_wire import (
    Wire,
    assert_same_wire,
    bearer,
    no_backoff_sleeps,
    our_category,
    retries,
    sdk_category,
)
from tests.support.loopback import Answer, Loopback
from unified_rerank import RerankClient, RerankError

dashscope = pytest.importorskip("dashscope.v2", reason="dashscope SDK (requirements/test.txt)")
ds_config = pytest.importorskip("dashscope.v2._config", reason="dashscope SDK")

KEY = "ds-conformance-0001"
WORKSPACE = "ws-conformance"
QUERY = "capital of France?"
DOCS = ["Berlin is in Germany.", "Paris is the capital.", "The Eiffel Tower is in Paris."]
INSTRUCT = "Given a question, find passages that answer it"
TOP_2 = [{"index": 1, "relevance_score": 0.93}, {"index": 2, "relevance_score": 0.41}]
ALL = [*TOP_2, {"index": 0, "relevance_score": 0.02}]
TELEMETRY = "the SDK's telemetry (SDK version and module, session id)"
INTENDED = {
    "header:x-dashscope-sdk-client": TELEMETRY,
    "header:x-dashscope-sdk-session-id": TELEMETRY,
    "header:accept": "the SDK sends no Accept; we ask for JSON",
}
VARIABLES = (
    "DASHSCOPE_API_KEY",
    "DASHSCOPE_BASE_URL",
    "DASHSCOPE_HTTP_BASE_URL",
    "DASHSCOPE_WORKSPACE",
    "DASHSCOPE_WORKSPACE_ID",
    "DASHSCOPE_REGION",
    "DASHSCOPE_CONFIG",
    "DASHSCOPE_MAX_RETRIES",
)


@pytest.fixture(autouse=True)
def _no_ambient_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """Neither side may read the developer's DashScope settings (variables, config file)."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DASHSCOPE_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("HOME", str(tmp_path))


def answer(results: list[dict[str, Any]]) -> dict[str, Any]:
    return {"output": {"results": results}, "usage": {"total_tokens": 31}, "request_id": "r-1"}


CASES: dict[str, tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]] = {
    # name: (the SDK's create() arguments, RerankClient's, the answer's results)
    "top_n": (dict(top_n=2, return_documents=False), dict(top_n=2), TOP_2),
    "all_instruct": (
        dict(return_documents=False, instruct=INSTRUCT),
        dict(parameters={"instruct": INSTRUCT}),
        ALL,
    ),
}


def sdk_client(url: str, **kwargs: Any) -> Any:
    return dashscope.Client(api_key=KEY, base_url=url + "/api/v1", workspace=WORKSPACE, **kwargs)


def ours(url: str) -> RerankClient:
    return RerankClient("dashscope", api_key=KEY, base_url=url + "/api/v1", workspace=WORKSPACE)


def check(loopback: Loopback, sdk_answer: Any, resp: Any) -> None:
    sdk_seen, our_seen = (Wire.of(r) for r in loopback.received)
    assert our_seen.path == "/api/v1/services/rerank/text-rerank/text-rerank"
    assert our_seen.headers["x-dashscope-workspace"] == WORKSPACE
    assert_same_wire(sdk_seen, our_seen, INTENDED, bearer)
    assert [(r.index, r.relevance_score) for r in resp.results] == [
        (r.index, r.relevance_score) for r in sdk_answer.results
    ]
    assert resp.usage.total_tokens == sdk_answer.usage.total_tokens == 31


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_request_and_reading_sync(loopback: Loopback, name: str) -> None:
    sdk_args, our_args, results = CASES[name]
    loopback.script(Answer(200, answer(results)))
    sdk_answer = sdk_client(loopback.url).rerank.create(
        model="gte-rerank-v2", query=QUERY, documents=DOCS, **sdk_args
    )
    with ours(loopback.url) as client:
        resp = client.rerank(model="gte-rerank-v2", query=QUERY, documents=DOCS, **our_args)
    check(loopback, sdk_answer, resp)


@pytest.mark.parametrize("name", sorted(CASES))
async def test_same_request_and_reading_async(loopback: Loopback, name: str) -> None:
    sdk_args, our_args, results = CASES[name]
    loopback.script(Answer(200, answer(results)))
    sdk = dashscope.AsyncClient(api_key=KEY, base_url=loopback.url + "/api/v1", workspace=WORKSPACE)
    sdk_answer = await sdk.rerank.create(
        model="qwen3-rerank", query=QUERY, documents=DOCS, **sdk_args
    )
    async with ours(loopback.url) as client:
        resp = await client.arerank(model="qwen3-rerank", query=QUERY, documents=DOCS, **our_args)
    check(loopback, sdk_answer, resp)


@pytest.mark.parametrize(
    ("workspace", "region"),
    [
        (None, None),
        (None, "ap-southeast-1"),
        (None, "cn-hongkong"),
        ("ws1", None),
        ("ws2", "eu-central-1"),
    ],
)
def test_default_root_is_the_sdks(workspace: str | None, region: str | None) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the SDK's nudge toward a workspace
        config = ds_config.resolve_config(api_key=KEY, workspace=workspace, region=region)
    options = {k: v for k, v in (("workspace", workspace), ("region", region)) if v}
    call = (
        RerankClient("dashscope", api_key=KEY, **options)
        ._plan(dict(model="m", query=QUERY, documents=DOCS))
        .calls[0]
    )
    assert call.url == config.base_url.rstrip("/") + "/services/rerank/text-rerank/text-rerank"


@pytest.mark.parametrize(
    ("status", "code", "headers"),
    [
        (400, "InvalidParameter", {}),
        (401, "InvalidApiKey", {}),
        (403, "Arrearage", {}),
        (404, "Model.NotExist", {}),
        (429, "Throttling.RateQuota", {"Retry-After": "0"}),
        (500, "InternalError", {}),
        (503, "ServiceUnavailable", {"x-should-retry": "false"}),
        (400, "InvalidParameter", {"x-should-retry": "true"}),
        (200, "InvalidParameter", {}),  # the second layer: a business error on HTTP 200
        (200, "Throttling", {}),
        (200, "DataInspectionFailed", {}),
    ],
)
def test_same_error_category_and_retries(
    loopback: Loopback,
    monkeypatch: pytest.MonkeyPatch,
    status: int,
    code: str,
    headers: dict[str, str],
) -> None:
    body = {"request_id": "r-1", "code": code, "message": f"scripted {code}"}
    loopback.script(Answer(status, body, headers))
    with no_backoff_sleeps(monkeypatch):
        with pytest.raises(Exception) as sdk_raised:
            sdk_client(loopback.url).rerank.create(model="m", query=QUERY, documents=DOCS)
        sdk_retries = retries(loopback.received)
        loopback.received.clear()
        with ours(loopback.url) as client, pytest.raises(RerankError) as raised:
            client.rerank(model="m", query=QUERY, documents=DOCS)
        our_retries = retries(loopback.received)
    assert our_category(raised.value) == sdk_category(sdk_raised.value, status), code
    assert raised.value.code == getattr(sdk_raised.value, "code", None) == code
    assert sdk_retries == our_retries
