"""fireworks against langchain-fireworks' ``FireworksRerank`` (its OpenAI client): the same call
to one loopback recorder, compared field by field (method, path, query, auth, headers, JSON
body); both read the same canned answer alike; 400/401/429/500 give the same error category and
retry count (the OpenAI client's rule, which the provider copies).

Intended differences (and why):

- ``x-stainless-*`` headers: the OpenAI client's telemetry.
- With ``rank_fields``, langchain-fireworks sends each object as a JSON string of the named
  fields; we send ``field: value`` lines (the library's one rendering for string-only
  providers). Documents are compared only for string documents.
- langchain-fireworks reads no ``usage``; ours is checked against the canned answer's tokens.
"""

from __future__ import annotations

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

lcfw = pytest.importorskip(
    "langchain_fireworks", reason="langchain-fireworks (requirements/test.txt)"
)

KEY = "fw-conformance-0001"
MODEL = "accounts/fireworks/models/qwen3-reranker-8b"
QUERY = "capital of France?"
DOCS = ["Berlin is in Germany.", "Paris is the capital.", "The Eiffel Tower is in Paris."]
TASK = "Given a question, find passages that answer it"
TOP_2 = [{"index": 1, "relevance_score": 0.93}, {"index": 2, "relevance_score": 0.41}]
ALL = [*TOP_2, {"index": 0, "relevance_score": 0.02}]


def answer(data: list[dict[str, Any]]) -> dict[str, Any]:
    usage = {"prompt_tokens": 33, "total_tokens": 33}
    return {"object": "list", "model": MODEL, "data": data, "usage": usage}


pytestmark = pytest.mark.filterwarnings("ignore:The class `FireworksRerank` is in beta")
STAINLESS = "the OpenAI client's telemetry (OS, architecture, runtime, retry count)"
INTENDED = {
    f"header:x-stainless-{name}": STAINLESS
    for name in (
        "arch",
        "async",
        "lang",
        "os",
        "package-version",
        "read-timeout",
        "retry-count",
        "runtime",
        "runtime-version",
    )
}


def sdk(url: str) -> Any:
    return lcfw.FireworksRerank(model=MODEL, fireworks_api_key=KEY, base_url=url + "/inference/v1")


def ours(url: str) -> RerankClient:
    return RerankClient("fireworks", api_key=KEY, base_url=url + "/inference/v1")


CASES: dict[str, tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]] = {
    # name: (langchain-fireworks' rerank() arguments, RerankClient's, the answer's data)
    "top_n": (dict(top_n=2), dict(top_n=2), TOP_2),
    "all_with_task": (dict(top_n=None, task=TASK), dict(parameters={"task": TASK}), ALL),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_request_and_reading_sync(loopback: Loopback, name: str) -> None:
    sdk_args, our_args, data = CASES[name]
    loopback.script(Answer(200, answer(data)))
    sdk_ranked = sdk(loopback.url).rerank(DOCS, QUERY, **sdk_args)
    with ours(loopback.url) as client:
        resp = client.rerank(model=MODEL, query=QUERY, documents=DOCS, **our_args)
    check(loopback, sdk_ranked, resp)


@pytest.mark.parametrize("name", sorted(CASES))
async def test_same_request_and_reading_async(loopback: Loopback, name: str) -> None:
    sdk_args, our_args, data = CASES[name]
    loopback.script(Answer(200, answer(data)))
    sdk_ranked = await sdk(loopback.url).arerank(DOCS, QUERY, **sdk_args)
    async with ours(loopback.url) as client:
        resp = await client.arerank(model=MODEL, query=QUERY, documents=DOCS, **our_args)
    check(loopback, sdk_ranked, resp)


def check(
    loopback: Loopback, sdk_ranked: Any, resp: Any, intended: dict[str, str] = INTENDED
) -> None:
    sdk_seen, our_seen = (Wire.of(r) for r in loopback.received)
    assert our_seen.path == "/inference/v1/rerank"
    assert_same_wire(sdk_seen, our_seen, intended, bearer)
    assert [(r.index, r.relevance_score) for r in resp.results] == [
        (r["index"], r["relevance_score"]) for r in sdk_ranked
    ]
    assert resp.usage.model_dump(exclude_none=True, exclude={"estimated"}) == {"total_tokens": 33}


def test_default_root_is_the_sdks() -> None:
    default = lcfw.FireworksRerank.model_fields["base_url"].default
    call = (
        RerankClient("fireworks", api_key=KEY)
        ._plan(dict(model=MODEL, query=QUERY, documents=DOCS))
        .calls[0]
    )
    assert call.url == default + "/rerank"


@pytest.mark.parametrize("status", [400, 401, 409, 429, 500])
def test_same_error_category_and_retries(
    loopback: Loopback, monkeypatch: pytest.MonkeyPatch, status: int
) -> None:
    headers = {"Retry-After": "0"} if status == 429 else {}
    body = {
        "error": {"message": f"scripted {status}", "type": "invalid_request_error", "code": None}
    }
    loopback.script(Answer(status, body, headers))
    with no_backoff_sleeps(monkeypatch):
        with pytest.raises(Exception) as sdk_raised:
            sdk(loopback.url).rerank(DOCS, QUERY, top_n=2)
        sdk_retries = retries(loopback.received)
        loopback.received.clear()
        with ours(loopback.url) as client, pytest.raises(RerankError) as raised:
            client.rerank(model=MODEL, query=QUERY, documents=DOCS, top_n=2)
        our_retries = retries(loopback.received)
    assert our_category(raised.value) == sdk_category(sdk_raised.value, status)
    assert sdk_retries == our_retries
