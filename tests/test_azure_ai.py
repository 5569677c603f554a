"""Cohere on Azure AI: URL forms (pure), cassette round trips (providers.md section 6)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.cassettes import cassette, key
from tests.support.provider_cases import call
from unified_rerank import AuthenticationError, InvalidRequestError, RerankClient

SERVERLESS = "https://my-rerank.eastus2.models.ai.azure.com"
V1_HOST = "https://my-rerank.eastus2.inference.ai.azure.com"
FOUNDRY = "https://myres.services.ai.azure.com"


def client(base_url: str, **kw: Any) -> RerankClient:
    return RerankClient(
        "azure-ai", api_key=key("AZURE_AI_API_KEY"), base_url=base_url, max_retries=0, **kw
    )


def plan_call(base_url: str | None = None, **options: Any) -> Any:
    c = RerankClient("azure-ai", api_key="az-key", base_url=base_url, **options)
    return c._plan(dict(model="cohere.rerank-v3.5", query="q", documents=["a"])).calls[0]


@pytest.mark.parametrize(
    ("given", "url"),
    [
        (SERVERLESS, SERVERLESS + "/v2/rerank"),
        (SERVERLESS + "/", SERVERLESS + "/v2/rerank"),
        (SERVERLESS + "/v2", SERVERLESS + "/v2/rerank"),
        (SERVERLESS + "/v2/", SERVERLESS + "/v2/rerank"),
        (SERVERLESS + "/v2/rerank", SERVERLESS + "/v2/rerank"),
        (SERVERLESS + "/v1", SERVERLESS + "/v1/rerank"),
        (SERVERLESS + "/v1/rerank", SERVERLESS + "/v1/rerank"),
        (FOUNDRY, FOUNDRY + "/providers/cohere/v2/rerank"),
        (FOUNDRY + "/providers/cohere", FOUNDRY + "/providers/cohere/v2/rerank"),
        (FOUNDRY + "/providers/cohere/v2", FOUNDRY + "/providers/cohere/v2/rerank"),
        (FOUNDRY + "/providers/cohere/v2/rerank", FOUNDRY + "/providers/cohere/v2/rerank"),
        (
            FOUNDRY + "/providers/cohere/v2?api-version=1",
            FOUNDRY + "/providers/cohere/v2/rerank?api-version=1",
        ),
        ("http://127.0.0.1:8080/proxy", "http://127.0.0.1:8080/proxy/v2/rerank"),
    ],
)
def test_url_forms(given: str, url: str) -> None:
    call_ = plan_call(given)
    assert call_.url == url
    body = json.loads(call_.body)
    assert body["model"] == "rerank-v3.5"  # `cohere.` stripped upstream
    # v1 URLs get the v1 body (return_documents is a v1 field), v2 URLs the v2 body.
    assert ("return_documents" in body) == url.split("?")[0].endswith("/v1/rerank")


def test_endpoint_from_environment_and_option(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InvalidRequestError, match="AZURE_AI_ENDPOINT"):
        plan_call()
    monkeypatch.setenv("AZURE_AI_ENDPOINT", SERVERLESS + "/v1")
    assert plan_call().url == SERVERLESS + "/v1/rerank"
    assert plan_call(endpoint=FOUNDRY).url == FOUNDRY + "/providers/cohere/v2/rerank"


@pytest.mark.parametrize("bad", ["my-rerank.eastus2.models.ai.azure.com", "ftp://x/y", "https://"])
def test_bad_endpoints_are_refused(bad: str) -> None:
    with pytest.raises(InvalidRequestError, match="http"):
        plan_call(bad)


def test_auth_header_option() -> None:
    bearer = plan_call(SERVERLESS)
    assert bearer.headers["Authorization"] == "Bearer az-key" and "api-key" not in bearer.headers
    api_key = plan_call(FOUNDRY, auth_header="api-key")
    assert api_key.headers["api-key"] == "az-key" and "Authorization" not in api_key.headers
    with pytest.raises(InvalidRequestError, match="auth_header"):
        plan_call(FOUNDRY, auth_header="basic")


def test_key_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_AI_API_KEY", "env-key")
    c = RerankClient("azure-ai", base_url=SERVERLESS)
    call_ = c._plan(dict(model="m", query="q", documents=["a"])).calls[0]
    assert call_.headers["Authorization"] == "Bearer env-key"
    monkeypatch.delenv("AZURE_AI_API_KEY")
    with pytest.raises(AuthenticationError, match="AZURE_AI_API_KEY"):
        RerankClient("azure-ai", base_url=SERVERLESS)._plan(
            dict(model="m", query="q", documents=["a"])
        )


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_serverless_v2_round_trip(mode: str) -> None:
    with cassette("azure-ai", "rerank_serverless_v2"):
        resp = await call(
            client(SERVERLESS),
            mode,
            model="cohere.rerank-v3.5",
            query="capital of France?",
            documents=["Paris is the capital.", "Berlin is in Germany."],
            top_n=1,
            max_tokens_per_doc=512,
            priority=3,
            truncation=True,  # Cohere always truncates: nothing to send
        )
    assert resp.model_dump(exclude_none=True) == {
        "id": "0a7e7c1e-0000-4000-8000-00000000a201",
        "object": "list",
        "results": [{"index": 0, "relevance_score": 0.9312}],
        "model": "cohere.rerank-v3.5",
        "usage": {"search_units": 1},
        "provider": "azure-ai",
    }


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_foundry_round_trip_with_api_key_header(mode: str) -> None:
    docs = [
        {"text": "airport hotel with meeting rooms", "stars": "4"},
        "beach resort with nightlife",
    ]
    with cassette("azure-ai", "rerank_foundry"):
        resp = await call(
            client(FOUNDRY + "/providers/cohere/v2", auth_header="api-key"),
            mode,
            model="Cohere-rerank-v4.0-fast",
            query="quiet hotel for business travel",
            documents=docs,
            top_n=2,
            return_documents=True,
        )
    assert [r.index for r in resp.results] == [0, 1]
    assert [r.document for r in resp.results] == [docs[0], {"text": docs[1]}]  # back-filled


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_v1_round_trip_objects_rank_fields(mode: str) -> None:
    docs = [
        {"Title": "Airport Inn", "text": "airport hotel with meeting rooms"},
        {"Title": "Old Town", "text": "calm boutique hotel"},
    ]
    with cassette("azure-ai", "rerank_v1"):
        resp = await call(
            client(V1_HOST + "/v1/rerank"),
            mode,
            model="cohere.rerank-v3.5",
            query="quiet hotel",
            documents=docs,
            rank_fields=["Title", "text"],
            return_documents=True,
            priority=0,  # v1 has no priority: dropped
        )
    assert [(r.index, r.document) for r in resp.results] == [(1, docs[1]), (0, docs[0])]
    assert resp.usage.search_units == 1


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_401_is_authentication_error(mode: str) -> None:
    with cassette("azure-ai", "error_401"), pytest.raises(AuthenticationError) as info:
        await call(client(SERVERLESS), mode, model="rerank-v3.5", query="q", documents=["a"])
    err = info.value
    assert (err.status_code, err.code, err.provider) == (401, "401", "azure-ai")
    assert "Access denied" in err.message


@pytest.mark.parametrize(
    ("base", "extra", "match"),
    [
        (SERVERLESS, {"parameters": {"x": 1}}, "only by pinecone"),
        (SERVERLESS, {"truncation": False}, "cannot refuse over-long input"),
        (SERVERLESS + "/v1/rerank", {"max_tokens_per_doc": 100}, "needs Cohere's v2"),
        (SERVERLESS, {"priority": 1000}, "from 0 to 999"),
        (SERVERLESS, {"priority": 1.5}, "from 0 to 999"),
    ],
)
def test_unsupported_fields_are_refused(base: str, extra: dict[str, Any], match: str) -> None:
    c = RerankClient("azure-ai", api_key="k", base_url=base)
    with pytest.raises(InvalidRequestError, match=match):
        c._plan(dict(model="m", query="q", documents=["a"], **extra))


def test_v1_objects_take_string_values_only() -> None:
    # Cohere's SDK types v1 object documents as Dict[str, str] (cohere 7.3 RerankDocument).
    with pytest.raises(InvalidRequestError, match="document 1 field 'id' is a int"):
        client(V1_HOST + "/v1/rerank")._plan(
            dict(model="rerank-v3.5", query="q", documents=[{"text": "a"}, {"text": "b", "id": 7}])
        )
