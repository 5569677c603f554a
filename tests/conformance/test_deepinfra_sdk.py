"""deepinfra against DeepInfra's official SDK (``deepinfra``): it has no rerank wrapper, so the
SDK's generic inference call (``BaseModel._post``, what its embeddings and text-generation
wrappers use) sends the documented rerank body to one loopback recorder, and RerankClient makes
the same call. Compared field by field: method, path (``/v1/inference/{model}``, the model's
``/`` kept), auth, headers and JSON body; both read the same canned answer alike (scores in
document order, sorted by us); error statuses give the same category; our default URL is the
SDK's ``ROOT_URL`` plus the model.

What this does not settle: the body itself (``queries`` repeated per document, ``documents``,
``instruction``) comes from DeepInfra's model API page and LiteLLM, not from the SDK, which has
no rerank code (UNCONFIRMED in docs/providers-deepinfra-fireworks-dashscope-llamacpp-xinference.md).

Intended differences (and why):

- ``header:accept``: the SDK sends ``*/*``; we ask for JSON.
- Retries: the SDK retries a POST only on connection errors (a retried inference is billed
  again); we also retry 429, 502, 503 and 504 (listed per status below).
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

deepinfra_base = pytest.importorskip(
    "deepinfra.models.base", reason="deepinfra SDK (requirements/test.txt)"
)
deepinfra_constants = pytest.importorskip("deepinfra.constants.client", reason="deepinfra SDK")

KEY = "di-conformance-0001"
MODEL = "Qwen/Qwen3-Reranker-0.6B"
QUERY = "capital of France?"
DOCS = ["Berlin is in Germany.", "Paris is the capital.", "The Eiffel Tower is in Paris."]
INSTRUCTION = "Given a question, find passages that answer it"
ANSWER = {
    "scores": [0.02, 0.93, 0.41],
    "input_tokens": 37,
    "request_id": "di-1",
    "inference_status": {"status": "succeeded", "runtime_ms": 12, "cost": 0.0, "tokens_input": 37},
}
INTENDED = {"header:accept": "the SDK sends Accept: */*; we ask for JSON"}


@pytest.fixture(autouse=True)
def _no_ambient_key(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DEEPINFRA_API_KEY", "DEEPINFRA_TOKEN", "DEEPINFRA_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


def sdk_post(url: str, body: dict[str, Any]) -> Any:
    model = deepinfra_base.BaseModel(f"{url}/v1/inference/{MODEL}", auth_token=KEY)
    return model._post(json=body)


CASES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    # name: (the documented body, sent by the SDK; RerankClient's fields)
    "top_n": ({"queries": [QUERY] * 3, "documents": DOCS}, dict(top_n=2)),
    "instruction": (
        {"queries": [QUERY] * 3, "documents": DOCS, "instruction": INSTRUCTION},
        dict(parameters={"instruction": INSTRUCTION}),
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
async def test_same_request_and_reading(loopback: Loopback, name: str) -> None:
    body, fields = CASES[name]
    loopback.script(Answer(200, ANSWER))
    sdk_answer = sdk_post(loopback.url, body).json()
    with RerankClient("deepinfra", api_key=KEY, base_url=loopback.url) as client:
        resp = client.rerank(model=MODEL, query=QUERY, documents=DOCS, **fields)
    async with RerankClient("deepinfra", api_key=KEY, base_url=loopback.url) as client:
        aresp = await client.arerank(model=MODEL, query=QUERY, documents=DOCS, **fields)
    sdk_seen, our_seen, our_async_seen = (Wire.of(r) for r in loopback.received)
    assert our_seen.path == f"/v1/inference/{MODEL}"
    assert_same_wire(sdk_seen, our_seen, INTENDED, bearer)
    assert_same_wire(sdk_seen, our_async_seen, INTENDED, bearer)
    by_score = sorted(enumerate(sdk_answer["scores"]), key=lambda pair: -pair[1])
    expected = by_score[: fields.get("top_n")]
    for got in (resp, aresp):
        assert [(r.index, r.relevance_score) for r in got.results] == expected
        assert got.usage.total_tokens == sdk_answer["input_tokens"]


def test_default_url_is_the_sdks_root() -> None:
    call = (
        RerankClient("deepinfra", api_key=KEY)
        ._plan(dict(model=MODEL, query=QUERY, documents=DOCS))
        .calls[0]
    )
    assert call.url == deepinfra_constants.ROOT_URL + MODEL


@pytest.mark.parametrize(
    ("status", "body", "our_retries"),
    [
        (400, {"detail": {"error": "bad input"}}, 0),
        (401, {"detail": {"error": "Invalid token"}}, 0),
        (403, {"error": {"message": "forbidden"}}, 0),
        (404, {"detail": "model not found"}, 0),
        (429, {"error": "rate limited"}, 2),
        (500, {"detail": {"error": "model crashed"}}, 0),
        (503, {"detail": "no capacity"}, 2),
    ],
)
def test_same_error_category_and_message(
    loopback: Loopback,
    monkeypatch: pytest.MonkeyPatch,
    status: int,
    body: dict[str, Any],
    our_retries: int,
) -> None:
    loopback.script(Answer(status, body, {"Retry-After": "0"}))
    with no_backoff_sleeps(monkeypatch):
        with pytest.raises(Exception) as sdk_raised:
            sdk_post(loopback.url, {"queries": [QUERY], "documents": ["a"]})
        assert retries(loopback.received) == 0  # the SDK never retries a POST on a status
        loopback.received.clear()
        with (
            RerankClient("deepinfra", api_key=KEY, base_url=loopback.url) as client,
            pytest.raises(RerankError) as raised,
        ):
            client.rerank(model=MODEL, query=QUERY, documents=["a"])
    assert our_category(raised.value) == sdk_category(sdk_raised.value, status)
    assert raised.value.message.startswith(sdk_raised.value.message)  # type: ignore[attr-defined]
    assert retries(loopback.received) == our_retries
