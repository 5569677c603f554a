from __future__ import annotations

import json

import pytest

from tests.support.cassettes import cassette, key
from tests.support.loopback import Answer, Loopback
from tests.support.provider_cases import HOTELS
from unified_rerank import AuthenticationError, InvalidRequestError, ProviderError, RerankClient

MODEL = "nvidia/llama-3.2-nv-rerankqa-1b-v2"


def hosted() -> RerankClient:
    return RerankClient("nvidia", api_key=key("NVIDIA_API_KEY"), max_retries=0)


def test_hosted_url_truncate_logits_cut_client_side() -> None:
    with cassette("nvidia", "rerank_hosted"), hosted() as c:
        resp = c.rerank(
            model=f"nvidia/{MODEL}",  # slug prefix, then NVIDIA's own "nvidia/..." id
            query="capital of France?",
            documents=["Paris is the capital.", "Berlin is in Germany."],
            top_n=1,
            truncation=True,
        )
    dumped = resp.model_dump(exclude_none=True)
    assert dumped["results"] == [{"index": 0, "relevance_score": 6.8125}]  # raw logit, kept
    assert dumped["model"] == MODEL and dumped["provider"] == "nvidia" and dumped["usage"] == {}


async def test_self_hosted_no_top_k_cut_client_side_async() -> None:
    with cassette("nvidia", "rerank_self_hosted"):
        async with RerankClient("nvidia", base_url="http://localhost:8000", max_retries=0) as c:
            resp = await c.arerank(
                model=f"nvidia/{MODEL}",  # the NIM serves "nvidia/...": the slug goes first
                query="quiet hotel for business travel",
                documents=HOTELS,
                rank_fields=["title", "text"],
                top_n=2,
                truncation=False,
                return_documents=True,
            )
    assert [(r.index, r.relevance_score) for r in resp.results] == [(2, 2.5), (0, -1.75)]
    assert resp.results[1].document == HOTELS[0]


def test_unauthorized() -> None:
    with (
        cassette("nvidia", "unauthorized"),
        hosted() as c,
        pytest.raises(AuthenticationError) as info,
    ):
        c.rerank(model=MODEL, query="q", documents=["a"])
    assert "Authentication failed" in str(info.value) and info.value.status_code == 401


def test_key_required_only_when_hosted() -> None:
    with pytest.raises(AuthenticationError, match="NVIDIA_API_KEY"):
        RerankClient("nvidia").rerank(model=MODEL, query="q", documents=["a"])
    call = (
        RerankClient("nvidia", base_url="http://nim:8000/v1")
        ._plan(dict(model=MODEL, query="q", documents=["a"], top_n=1))
        .calls[0]
    )
    assert call.url == "http://nim:8000/v1/ranking" and "Authorization" not in call.headers
    assert b"top_k" not in call.body
    with pytest.raises(InvalidRequestError, match="parameters"):
        hosted()._plan(dict(model=MODEL, query="q", documents=["a"], parameters={"x": 1}))


def test_rankings_missing_is_provider_error(loopback: Loopback) -> None:
    loopback.script(Answer(200, {"data": []}))
    with (
        RerankClient("nvidia", base_url=loopback.url, max_retries=0) as c,
        pytest.raises(ProviderError),
    ):
        c.rerank(model=MODEL, query="q", documents=["a"])


@pytest.mark.parametrize("model", [MODEL, "llama-3.2-nv-rerankqa-1b-v2", f"nvidia/{MODEL}"])
def test_hosted_model_id_forms(model: str) -> None:
    call = hosted()._plan(dict(model=model, query="q", documents=["a"])).calls[0]
    assert call.url.endswith("/v1/retrieval/nvidia/llama-3_2-nv-rerankqa-1b-v2/reranking")
    assert b'"model":"nvidia/llama-3.2-nv-rerankqa-1b-v2"' in call.body


@pytest.mark.parametrize(
    ("model", "sent", "url"),
    [
        # NVIDIA's table (langchain-nvidia-ai-endpoints _statics.py): id and endpoint.
        (
            "nv-rerank-qa-mistral-4b:1",
            "nv-rerank-qa-mistral-4b:1",
            "https://ai.api.nvidia.com/v1/retrieval/nvidia/reranking",
        ),
        (
            "ai-rerank-qa-mistral-4b",  # the table's alias
            "nv-rerank-qa-mistral-4b:1",
            "https://ai.api.nvidia.com/v1/retrieval/nvidia/reranking",
        ),
        (
            MODEL,  # the slug takes "nvidia/"; NVIDIA's org comes back
            MODEL,
            "https://ai.api.nvidia.com/v1/retrieval/nvidia/llama-3_2-nv-rerankqa-1b-v2/reranking",
        ),
        (
            "nvidia/nvidia/llama-nemotron-rerank-1b-v2",  # the old double form still works
            "nvidia/llama-nemotron-rerank-1b-v2",
            "https://ai.api.nvidia.com/v1/retrieval/nvidia/llama-nemotron-rerank-1b-v2/reranking",
        ),
        (
            "acme/my.reranker",  # not in the table: the table's own URL pattern
            "acme/my.reranker",
            "https://ai.api.nvidia.com/v1/retrieval/acme/my_reranker/reranking",
        ),
    ],
)
def test_hosted_ids_and_endpoints_from_nvidias_table(model: str, sent: str, url: str) -> None:
    call = hosted()._plan(dict(model=model, query="q", documents=["a"], top_n=1)).calls[0]
    assert call.url == url
    body = json.loads(call.body)
    assert body["model"] == sent and "top_k" not in body


@pytest.mark.parametrize("model", [MODEL, "llama-3.2-nv-rerankqa-1b-v2", f"nvidia/{MODEL}"])
def test_self_hosted_nim_gets_its_nvidia_id(model: str) -> None:
    # A NIM serves "nvidia/llama-3.2-nv-rerankqa-1b-v2": one "nvidia/" is enough.
    client = RerankClient("nvidia", base_url="http://nim:8000")
    call = client._plan(dict(model=model, query="q", documents=["a"])).calls[0]
    assert json.loads(call.body)["model"] == MODEL
    routed = RerankClient(base_url="http://nim:8000")  # "nvidia/..." chooses the provider
    call = routed._plan(dict(model=MODEL, query="q", documents=["a"])).calls[0]
    assert json.loads(call.body)["model"] == MODEL
