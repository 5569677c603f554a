"""``UnifiedRanker`` on its own: defaults, keys, top_k, meta fields, lazy client, errors.
Wire bodies are checked on the loopback server (a Cohere-compatible answer)."""

from __future__ import annotations

from typing import Any

import pytest
from haystack import Document
from haystack.utils import Secret
from haystack_integrations.components.rankers.unified_rerank import UnifiedRanker
from pydantic import SecretStr

from tests.support.loopback import Answer, Loopback
from unified_rerank import (
    AuthenticationError,
    InvalidRequestError,
    RerankClient,
    RerankError,
)
from unified_rerank.providers import PROVIDERS, get_provider
from unified_rerank.providers.base import ClientConfig
from unified_rerank.schema import RerankRequest


def cohere_answer(*results: tuple[int, float]) -> Answer:
    return Answer(
        200,
        {
            "id": "lb-1",
            "results": [{"index": i, "relevance_score": s} for i, s in results],
            "meta": {"billed_units": {"search_units": 1}},
        },
    )


def on_loopback(loopback: Loopback, **kwargs: Any) -> UnifiedRanker:
    options: dict[str, Any] = {
        "api_key": Secret.from_token("test-key-not-a-secret"),
        "base_url": loopback.url,
        "max_retries": 0,
    }
    options.update(kwargs)
    return UnifiedRanker("cohere/rerank-v3.5", **options)


def docs(n: int) -> list[Document]:
    return [Document(id=f"d{i}", content=f"text {i}", meta={"n": i}) for i in range(n)]


def test_haystack_telemetry_is_off_in_the_tests() -> None:
    from haystack.telemetry import _telemetry

    assert _telemetry.telemetry is None


def test_defaults_follow_haystack_rankers() -> None:
    ranker = UnifiedRanker("voyage/rerank-2.5")
    assert ranker.top_k == 10  # as CohereRanker and JinaRanker
    assert ranker.api_key == Secret.from_env_var(["VOYAGE_API_KEY"], strict=False)
    assert UnifiedRanker("mixedbread/mxbai-rerank-large-v2").api_key == Secret.from_env_var(
        ["MXBAI_API_KEY", "MIXEDBREAD_API_KEY"], strict=False
    )
    assert UnifiedRanker("local/bm25").api_key is None  # nothing to read


def test_default_top_k_is_sent_and_clamped(loopback: Loopback) -> None:
    loopback.script(cohere_answer((1, 0.9), (0, 0.2)))
    out = on_loopback(loopback).run(query="q", documents=docs(2))
    assert loopback.received[0].json()["top_n"] == 2  # 10, clamped to the two documents
    assert [(d.id, d.score) for d in out["documents"]] == [("d1", 0.9), ("d0", 0.2)]
    loopback.script(cohere_answer(*((i, 1 - i / 20) for i in range(10))))
    on_loopback(loopback).run(query="q", documents=docs(12))
    assert loopback.received[1].json()["top_n"] == 10


def test_run_top_k_overrides_and_none_returns_all(loopback: Loopback) -> None:
    loopback.script(cohere_answer((2, 0.5)))
    on_loopback(loopback, top_k=None).run(query="q", documents=docs(3), top_k=1)
    assert loopback.received[0].json()["top_n"] == 1
    loopback.script(cohere_answer((2, 0.5), (0, 0.4), (1, 0.1)))
    out = on_loopback(loopback, top_k=None).run(query="q", documents=docs(3))
    assert "top_n" not in loopback.received[1].json()
    assert [d.id for d in out["documents"]] == ["d2", "d0", "d1"]


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_bad_top_k_fails_before_any_call(loopback: Loopback, bad: Any) -> None:
    with pytest.raises(InvalidRequestError, match="top_k"):
        on_loopback(loopback, top_k=bad)
    with pytest.raises(InvalidRequestError, match="top_k"):
        on_loopback(loopback).run(query="q", documents=docs(2), top_k=bad)
    assert loopback.received == []


async def test_empty_input_makes_no_request(loopback: Loopback) -> None:
    ranker = on_loopback(loopback)
    assert ranker.run(query="q", documents=[]) == {"documents": []}
    assert await ranker.run_async(query="q", documents=[]) == {"documents": []}
    assert loopback.received == []


def test_ids_content_meta_kept_and_new_objects(loopback: Loopback) -> None:
    loopback.script(cohere_answer((1, 0.8), (0, 0.3)))
    inputs = [
        Document(id="a", content="alpha", meta={"k": {"nested": [1]}}, score=7.0),
        Document(id="b", content="beta", meta={"k": 2}),
    ]
    out = on_loopback(loopback).run(query="q", documents=inputs)["documents"]
    assert [(d.id, d.content, d.meta, d.score) for d in out] == [
        ("b", "beta", {"k": 2}, 0.8),
        ("a", "alpha", {"k": {"nested": [1]}}, 0.3),
    ]
    assert inputs[0].score == 7.0 and inputs[1].score is None
    out[1].meta["k"]["nested"].append(2)
    assert inputs[0].meta == {"k": {"nested": [1]}}


def test_meta_fields_rendered_as_haystack_rankers_do(loopback: Loopback) -> None:
    # Values then content, joined by the separator; a missing or empty field is skipped;
    # a document without content sends "".
    loopback.script(cohere_answer((0, 0.5), (1, 0.4), (2, 0.3)))
    inputs = [
        Document(content="c0", meta={"title": "T0", "year": 2020}),
        Document(content="c1", meta={"title": ""}),
        Document(meta={"year": 1999}),
    ]
    on_loopback(loopback, meta_fields_to_embed=["title", "year"]).run(query="q", documents=inputs)
    assert loopback.received[0].json()["documents"] == ["T0\n2020\nc0", "c1", "1999\n"]


def test_meta_fields_as_rank_fields_for_field_ranking_providers(loopback: Loopback) -> None:
    loopback.script(Answer(200, {"data": [{"index": 1, "score": 0.7}, {"index": 0, "score": 0.1}]}))
    ranker = UnifiedRanker(
        "pinecone/bge-reranker-v2-m3",
        api_key=Secret.from_token("test-key-not-a-secret"),
        base_url=loopback.url,
        max_retries=0,
        meta_fields_to_embed=["title", "absent"],
    )
    inputs = [Document(content="c0", meta={"title": 5}), Document(content="c1")]
    out = ranker.run(query="q", documents=inputs)["documents"]
    body = loopback.received[0].json()
    # Only fields some document has; a document without one sends it empty.
    assert body["rank_fields"] == ["title", "text"]
    assert body["documents"] == [{"title": "5", "text": "c0"}, {"title": "", "text": "c1"}]
    assert [d.content for d in out] == ["c1", "c0"]


def test_key_from_the_secret_reaches_the_provider(
    loopback: Loopback, monkeypatch: pytest.MonkeyPatch
) -> None:
    loopback.script(cohere_answer((0, 0.5)))
    monkeypatch.setenv("MY_COHERE_KEY", "test-key-from-my-variable")
    ranker = on_loopback(loopback, api_key=Secret.from_env_var("MY_COHERE_KEY"))
    ranker.run(query="q", documents=docs(1))
    assert loopback.received[0].headers["Authorization"] == "Bearer test-key-from-my-variable"


def test_missing_key_raises_before_sending(loopback: Loopback) -> None:
    ranker = UnifiedRanker("cohere/rerank-v3.5", base_url=loopback.url)
    with pytest.raises(AuthenticationError, match="COHERE_API_KEY"):
        ranker.run(query="q", documents=docs(1))
    assert loopback.received == []


def test_warm_up_is_lazy_and_a_changed_field_builds_a_new_client(
    loopback: Loopback, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COHERE_API_KEY", "test-key-not-a-secret")
    ranker = UnifiedRanker("cohere/rerank-v3.5", base_url="http://127.0.0.1:9", max_retries=0)
    assert ranker._built is None  # nothing built at construction
    ranker.warm_up()
    first = ranker._built
    assert isinstance(first, RerankClient)
    ranker.warm_up()
    assert ranker._built is first  # built once
    assert loopback.received == []
    ranker.base_url = loopback.url
    loopback.script(cohere_answer((0, 0.5)))
    ranker.run(query="q", documents=docs(1))
    assert ranker._built is not first
    assert len(loopback.received) == 1


def test_client_and_client_options_are_exclusive() -> None:
    with pytest.raises(ValueError, match=r"\['base_url', 'max_retries'\]"):
        UnifiedRanker(
            "local/bm25", client=RerankClient("local"), base_url="http://x", max_retries=5
        )


def test_unknown_provider_or_model_without_one_fails_at_construction() -> None:
    with pytest.raises(InvalidRequestError, match="known providers"):
        UnifiedRanker("nope/model")
    with pytest.raises(InvalidRequestError, match="provider"):
        UnifiedRanker("BAAI/bge-reranker-v2-m3")
    assert UnifiedRanker("BAAI/bge-reranker-v2-m3", provider="tei").api_key == (
        Secret.from_env_var(["TEI_API_KEY"], strict=False)
    )


def test_typed_provider_error_is_raised_not_an_empty_list(loopback: Loopback) -> None:
    from unified_rerank import ProviderError

    loopback.script(Answer(200, {"results": [{"index": 9, "relevance_score": 0.5}]}))
    with pytest.raises(ProviderError):
        on_loopback(loopback).run(query="q", documents=docs(2))


def test_meta_fields_rendered_for_a_gateway_and_for_a_text_field(loopback: Loopback) -> None:
    # A Portkey gateway (how it hands objects to each upstream is not documented) and a meta
    # field named "text" (it would clash with the content) both get the rendered strings.
    loopback.script(
        Answer(
            200,
            {
                "object": "list",
                "model": "rerank-v3.5",
                "provider": "cohere",
                "results": [{"index": 0, "relevance_score": 0.5}],
            },
        )
    )
    UnifiedRanker(
        "portkey/rerank-v3.5", base_url=loopback.url, max_retries=0, meta_fields_to_embed=["t"]
    ).run(query="q", documents=[Document(content="c", meta={"t": "T"})])
    assert loopback.received[0].json()["documents"] == ["T\nc"]
    assert "rank_fields" not in loopback.received[0].json()
    loopback.script(Answer(200, {"data": [{"index": 0, "score": 0.7}]}))
    UnifiedRanker(
        "pinecone/bge-reranker-v2-m3",
        api_key=Secret.from_token("test-key-not-a-secret"),
        base_url=loopback.url,
        max_retries=0,
        meta_fields_to_embed=["text"],
    ).run(query="q", documents=[Document(content="c", meta={"text": "meta text"})])
    assert loopback.received[1].json()["documents"] == [{"text": "meta text\nc"}]


#: What a provider needs to build a request offline (no exchange happens in ``build``).
PROBE_MODELS = {
    "bedrock": "arn:aws:bedrock:us-west-2::foundation-model/amazon.rerank-v1:0",
    "vertex-ai": "semantic-ranker-default@latest",
}
PROBE_OPTIONS: dict[str, dict[str, Any]] = {
    "bedrock": {"region": "us-west-2", "aws_access_key_id": "AKIA", "aws_secret_access_key": "x"},
    "vertex-ai": {"project": "p"},
    "watsonx": {"project_id": "p"},
}
#: Providers that pass objects on but are deliberately sent rendered text (see the ranker).
RENDERED_ON_PURPOSE = {"portkey"}


def test_field_ranking_providers_match_the_core() -> None:
    # The core's ranks_fields flags (which the ranker follows), checked against what
    # the core's own request builders send for an object document with rank_fields.
    native: set[str] = set()
    rendered: set[str] = set()
    unprobed: set[str] = set()
    for slug in PROVIDERS:
        provider = get_provider(slug)
        if provider.build is None:
            rendered.add(slug)  # in process: ranks text only
            continue
        request = RerankRequest(
            model=PROBE_MODELS.get(slug, "m"),
            query="q",
            documents=[{"title": "Tt", "text": "cc"}],
            rank_fields=["title", "text"],
        )
        config = ClientConfig(
            provider=slug,
            api_key=SecretStr("k"),
            base_url="http://127.0.0.1:9",
            options=PROBE_OPTIONS.get(slug, {}),
            env_keys=provider.env_keys,
        )
        try:
            body = provider.build(request, config).body.decode()
        except RerankError:
            # An optional dependency missing (botocore outside the dev venv), or options the
            # probe lacks (a provider added since): not compared.
            unprobed.add(slug)
            continue
        (rendered if "title: Tt" in body else native).add(slug)
    flagged = {slug for slug in PROVIDERS if get_provider(slug).ranks_fields}
    assert native - RENDERED_ON_PURPOSE == flagged - unprobed
    assert {"cohere", "jina", "voyage", "azure-ai", "tei"} <= rendered
