"""xinference against Xinference's official client (``xinference-client``: ``Client`` ->
``get_model(uid)`` -> ``rerank``): the same call to one loopback recorder, compared field by
field (method, path, auth, JSON body; our sync and async calls alike); both read the same
canned answer alike; error statuses give the same category (the client raises a bare
``RuntimeError`` with the server's ``detail``; we type it by status).

Intended differences (and why):

- ``body:max_chunks_per_doc`` / ``body:return_len`` / ``body:top_n``: the client sends ``null``
  for an argument not given; we leave the field out. Both are the server's default (its
  ``RerankRequest`` fields are ``Optional`` with ``None`` / ``False``).
- ``body:kwargs``: the client always sends ``json.dumps(kwargs)`` (``"{}"`` when empty); we
  send it only when there is an extra argument. The server treats a missing one as ``{}``.
- ``body:<extra argument>``: the client also copies each extra argument to the top level,
  where the server's ``RerankRequest`` ignores it; it reaches the model through ``kwargs``.
- ``header:accept``: requests sends ``*/*``; we ask for JSON.
- Retries: the client retries nothing; we retry 429 and 5xx (twice by default).
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

xinference_client = pytest.importorskip(
    "xinference_client", reason="xinference-client (requirements/test.txt)"
)

KEY = "xi-conformance-0001"
UID = "my-bge-reranker"
QUERY = "capital of France?"
DOCS = ["Berlin is in Germany.", "Paris is the capital.", "The Eiffel Tower is in Paris."]
TOP_2 = [
    {"index": 1, "relevance_score": 0.93, "document": None},
    {"index": 2, "relevance_score": 0.41, "document": None},
]
ALL = [*TOP_2, {"index": 0, "relevance_score": 0.02, "document": None}]
NULL_DEFAULT = "the client sends null for an argument not given; we omit it (the server's default)"
KWARGS_ALWAYS = "the client always sends json.dumps(kwargs), '{}' when empty; we omit an empty one"
EXTRA_COPY = (
    "the client also copies extra arguments to the top level, where the server ignores them"
)
LIBRARY = {
    "header:accept": "requests sends Accept: */*; we ask for JSON",
}

#: name: (the client's rerank() arguments, RerankClient's, the answer's results, intended)
CASES: dict[str, tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]], dict[str, str]]] = {
    "top_n": (
        dict(top_n=2, return_documents=False),
        dict(top_n=2),
        TOP_2,
        {
            "body:max_chunks_per_doc": NULL_DEFAULT,
            "body:return_len": NULL_DEFAULT,
            "body:kwargs": KWARGS_ALWAYS,
            **LIBRARY,
        },
    ),
    "all_return_len_extra": (
        dict(return_documents=False, return_len=True, max_chunks_per_doc=4, batch_size=8),
        dict(parameters={"return_len": True, "max_chunks_per_doc": 4, "batch_size": 8}),
        ALL,
        {"body:top_n": NULL_DEFAULT, "body:batch_size": EXTRA_COPY, **LIBRARY},
    ),
}


def answer(results: list[dict[str, Any]]) -> dict[str, Any]:
    tokens = {"input_tokens": 40, "output_tokens": 0}
    meta = {"api_version": None, "billed_units": None, "tokens": tokens, "warnings": None}
    return {"id": "x-1", "results": results, "meta": meta}


def sdk_rerank(loopback: Loopback, **arguments: Any) -> Any:
    """The client's way in: the cluster's auth check, the model's description, then rerank."""
    client = xinference_client.RESTfulClient(loopback.url, api_key=KEY)
    model = client.get_model(UID)
    return model.rerank(DOCS, QUERY, **arguments)


def sdk_script(loopback: Loopback, *last: Answer) -> None:
    loopback.script(
        Answer(200, {"auth": True}),
        Answer(200, {"model_type": "rerank", "model_name": "bge-reranker-v2-m3"}),
        *last,
    )


def ours(loopback: Loopback) -> RerankClient:
    return RerankClient("xinference", base_url=loopback.url, api_key=KEY)


def check(
    sdk_seen: Wire, our_seen: Wire, intended: dict[str, str], sdk_answer: Any, resp: Any
) -> None:
    assert our_seen.path == "/v1/rerank"
    assert_same_wire(sdk_seen, our_seen, intended, bearer)
    assert [(r.index, r.relevance_score) for r in resp.results] == [
        (r["index"], r["relevance_score"]) for r in sdk_answer["results"]
    ]


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_request_and_reading_sync(loopback: Loopback, name: str) -> None:
    sdk_args, our_args, results, intended = CASES[name]
    sdk_script(loopback, Answer(200, answer(results)))
    sdk_answer = sdk_rerank(loopback, **sdk_args)
    auth_check, describe, sdk_seen = (Wire.of(r) for r in loopback.received)
    assert (auth_check.path, describe.path) == ("/v1/cluster/auth", f"/v1/models/{UID}")
    loopback.received.clear()
    with ours(loopback) as client:
        resp = client.rerank(model=UID, query=QUERY, documents=DOCS, **our_args)
    check(sdk_seen, Wire.of(loopback.received[0]), intended, sdk_answer, resp)
    assert resp.usage.total_tokens == 40  # meta.tokens, as the server counted them


@pytest.mark.parametrize("name", sorted(CASES))
async def test_same_request_async(loopback: Loopback, name: str) -> None:
    sdk_args, our_args, results, intended = CASES[name]
    sdk_script(loopback, Answer(200, answer(results)))
    sdk_answer = sdk_rerank(loopback, **sdk_args)
    sdk_seen = Wire.of(loopback.received[-1])
    loopback.received.clear()
    async with ours(loopback) as client:
        resp = await client.arerank(model=UID, query=QUERY, documents=DOCS, **our_args)
    check(sdk_seen, Wire.of(loopback.received[0]), intended, sdk_answer, resp)


@pytest.mark.parametrize(
    ("status", "detail"),
    [
        (400, "Invalid input"),
        (401, "Invalid token"),
        (404, f"Model not found in the model list, uid: {UID}"),
        (429, "Rate limit reached"),
        (500, "CUDA out of memory"),
        (503, "Model is loading, please retry later"),
    ],
)
def test_same_error_category(
    loopback: Loopback, monkeypatch: pytest.MonkeyPatch, status: int, detail: str
) -> None:
    sdk_script(loopback, Answer(status, {"detail": detail}))
    with no_backoff_sleeps(monkeypatch):
        with pytest.raises(RuntimeError, match="Failed to rerank documents") as sdk_raised:
            sdk_rerank(loopback, top_n=2)
        sdk_retries = retries(loopback.received[2:])
        loopback.received.clear()
        loopback.script(Answer(status, {"detail": detail}, {"Retry-After": "0"}))
        with ours(loopback) as client, pytest.raises(RerankError) as raised:
            client.rerank(model=UID, query=QUERY, documents=DOCS, top_n=2)
    assert detail in str(sdk_raised.value) and detail in str(raised.value)
    assert our_category(raised.value) == sdk_category(sdk_raised.value, status)
    assert sdk_retries == 0
    assert retries(loopback.received) == (2 if status in (429, 500, 503) else 0)
