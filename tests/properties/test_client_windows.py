"""Property-based, through ``RerankClient`` and an in-process mock transport (no socket):
for every provider, a call split into windows of any size, each answered correctly in the
provider's own shape, gives exactly the global ranking (top_n, order, documents)."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.properties import strategies as S
from tests.properties.checks import cases, check_ranking, name_of
from tests.properties.tally import count
from tests.properties.test_provider_properties import PROPERTY
from tests.support.provider_configs import Setup
from unified_rerank import RerankClient
from unified_rerank.schema import RerankRequest, RerankResponse

MARK = re.compile(r"doc-(\d+)-end")


def _longest_list(node: Any) -> list[Any]:
    """The body's document list: the longest list in it (requests here have no rank_fields
    or parameters, so no other list is as long; DeepInfra's equal-length queries are skipped
    as they hold no document mark)."""
    best: list[Any] = []
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            if len(item) > len(best) or (len(item) == len(best) and MARK.search(json.dumps(item))):
                best = item
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
    return best


def _answering(setup: Setup, scores: list[float]) -> httpx.MockTransport:
    """Answers each window: the score of document ``doc-<i>-end`` is ``scores[i]``."""

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/identity/token"):  # watsonx's IAM exchange
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        body = json.loads(request.content)
        window = [scores[int(MARK.findall(json.dumps(d))[0])] for d in _longest_list(body)]
        return httpx.Response(200, json=S.scored_answer(setup.answer, window))

    return httpx.MockTransport(handle)


@pytest.mark.parametrize(("slug", "setup"), cases(http_only=True))
@settings(PROPERTY, max_examples=20)
@given(data=st.data())
def test_windows_merge_into_the_exact_global_ranking(
    slug: str, setup: Setup, data: st.DataObject
) -> None:
    n = data.draw(st.integers(1, 9), label="documents")
    scores = data.draw(st.lists(st.floats(-100, 100), min_size=n, max_size=n, unique=True))
    top_n = data.draw(st.none() | st.integers(1, 10), label="top_n")
    window = data.draw(st.integers(1, 4), label="window_size")
    objects = data.draw(st.booleans(), label="objects")
    docs: list[Any] = [f"text doc-{i}-end" for i in range(n)]
    if objects:
        docs = [{"text": d, "n": str(i)} for i, d in enumerate(docs)]  # Cohere v1: strings
    native_async = data.draw(st.booleans(), label="arerank")
    transport = _answering(setup, scores)
    options: dict[str, Any] = {
        "api_key": setup.key,
        "base_url": setup.base_url,
        "window_size": window,
        "max_retries": 0,
        **setup.options,
    }
    call: dict[str, Any] = {
        "model": setup.models[0],
        "query": "q",
        "documents": docs,
        "top_n": top_n,
    }
    if native_async:

        async def run() -> RerankResponse:
            async with httpx.AsyncClient(transport=transport) as http:
                client = RerankClient(slug, async_http_client=http, **options)
                return await client.arerank(**call, return_documents=True)

        resp = asyncio.run(run())
    else:
        with httpx.Client(transport=transport) as http:
            resp = RerankClient(slug, http_client=http, **options).rerank(
                **call, return_documents=True
            )
    expected = sorted(range(n), key=lambda i: -scores[i])[: n if top_n is None else top_n]
    assert [r.index for r in resp.results] == expected
    assert [r.relevance_score for r in resp.results] == [scores[i] for i in expected]
    for r in resp.results:
        assert r.document == (docs[r.index] if objects else {"text": docs[r.index]})
    asked = RerankRequest.create(
        model="m", query="q", documents=docs, top_n=top_n, return_documents=True
    )
    check_ranking(resp, asked)
    way = "arerank" if native_async else "rerank"
    count(name_of(slug, setup), "client", f"{way}, {'one window' if n <= window else 'windows'}")
