"""``UnifiedRerank.compress_documents`` / ``acompress_documents`` / ``rerank``.

Wire exchanges replay the core's Cohere cassettes (cassettes/cohere/*.yaml, which pin the
exact request body); body-level checks and failures use the loopback server.
"""

from __future__ import annotations

import asyncio
import pickle
import threading
from copy import deepcopy
from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_unified_rerank import UnifiedRerank
from pydantic import SecretStr

from tests.support.cassettes import cassette, key
from tests.support.loopback import Answer, Loopback
from unified_rerank import (
    AuthenticationError,
    InvalidRequestError,
    ProviderError,
    RateLimitError,
    RerankClient,
    RerankResponse,
)

QUERY = "capital of France?"


def basic_docs() -> list[Document]:
    # The documents of cassettes/cohere/rerank_basic.yaml, with ids and metadata of our own.
    return [
        Document("Paris is the capital.", id="doc-paris", metadata={"src": "a", "tags": ["x"]}),
        Document("Berlin is in Germany.", id="doc-berlin", metadata={"src": "b"}),
    ]


def hotel_docs() -> list[Document]:
    # The documents of cassettes/cohere/rerank_objects.yaml: page_content is the `text` field.
    return [
        Document("airport hotel with meeting rooms", id="h0", metadata={"title": "Airport Inn"}),
        Document("beach resort with nightlife", id="h1", metadata={"title": "Sunny Beach"}),
        Document(
            "calm boutique hotel near the business district",
            id="h2",
            metadata={"title": "Old Town", "stars": 4},
        ),
    ]


def reranker(**kwargs: Any) -> UnifiedRerank:
    options: dict[str, Any] = {
        "model": "cohere/rerank-v3.5",
        "api_key": key("COHERE_API_KEY"),
        "max_retries": 0,
    }
    options.update(kwargs)
    return UnifiedRerank(**options)


def cohere_answer(*results: tuple[int, float]) -> Answer:
    return Answer(
        200,
        {
            "id": "lb-1",
            "results": [{"index": i, "relevance_score": s} for i, s in results],
            "meta": {"billed_units": {"search_units": 1}},
        },
    )


def on_loopback(loopback: Loopback, **kwargs: Any) -> UnifiedRerank:
    return reranker(base_url=loopback.url, **kwargs)


# -- cassette round trips ------------------------------------------------------------------


def test_compress_documents_round_trip() -> None:
    docs = basic_docs()
    with cassette("cohere", "rerank_basic"):
        out = reranker(top_n=1, max_tokens_per_doc=512).compress_documents(docs, QUERY)
    assert len(out) == 1
    best = out[0]
    assert best.page_content == "Paris is the capital."
    assert best.id == "doc-paris"
    assert best.metadata == {"src": "a", "tags": ["x"], "relevance_score": 0.9312}
    assert list(best.metadata)[-1] == "relevance_score"


async def test_acompress_documents_round_trip() -> None:
    docs = basic_docs()
    with cassette("cohere", "rerank_basic"):
        out = await reranker(top_n=1, max_tokens_per_doc=512).acompress_documents(docs, QUERY)
    assert [(d.id, d.metadata["relevance_score"]) for d in out] == [("doc-paris", 0.9312)]


@pytest.mark.parametrize("run_async", [False, True])
async def test_rank_fields_send_selected_metadata(run_async: bool) -> None:
    # rank_fields=["title", "text"] sends {"text": page_content, "title": ...}; `stars` is not
    # named so it is not sent (the cassette pins the exact body). top_n=None returns all.
    docs = hotel_docs()
    r = reranker(top_n=None, rank_fields=["title", "text"], priority=5)
    with cassette("cohere", "rerank_objects"):
        if run_async:
            out = await r.acompress_documents(docs, "quiet hotel for business travel")
        else:
            out = r.compress_documents(docs, "quiet hotel for business travel")
    assert [d.id for d in out] == ["h2", "h0", "h1"]
    assert [d.metadata["relevance_score"] for d in out] == [0.81, 0.64, 0.02]
    assert out[0].metadata == {"title": "Old Town", "stars": 4, "relevance_score": 0.81}
    assert out[0].page_content == "calm boutique hotel near the business district"


def test_rerank_helper_returns_index_and_score() -> None:
    r = reranker(top_n=3)  # per-call arguments win over the instance's
    with cassette("cohere", "rerank_basic"):
        hits = r.rerank(
            ["Paris is the capital.", "Berlin is in Germany."],
            QUERY,
            top_n=1,
            max_tokens_per_doc=512,
        )
    assert hits == [{"index": 0, "relevance_score": 0.9312}]


async def test_arerank_helper_takes_documents_and_objects() -> None:
    docs: list[Any] = [
        hotel_docs()[0],
        {"text": "beach resort with nightlife", "title": "Sunny Beach"},
        Document("calm boutique hotel near the business district", metadata={"title": "Old Town"}),
    ]
    r = reranker(priority=5)
    with cassette("cohere", "rerank_objects"):
        hits = await r.arerank(
            docs, "quiet hotel for business travel", top_n=None, rank_fields=["title", "text"]
        )
    assert [h["index"] for h in hits] == [2, 0, 1]


def test_provider_error_status_surfaces_typed() -> None:
    with cassette("cohere", "rate_limited"), pytest.raises(RateLimitError) as info:
        reranker(top_n=None).compress_documents([Document("a")], "q")
    assert info.value.retry_after == 7.0


# -- what is sent ----------------------------------------------------------------------------


def test_top_n_clamped_to_document_count(loopback: Loopback) -> None:
    loopback.script(cohere_answer((1, 0.7), (0, 0.2)))
    out = on_loopback(loopback, top_n=10).compress_documents(basic_docs(), QUERY)
    body = loopback.received[0].json()
    assert body["top_n"] == 2
    assert body["documents"] == ["Paris is the capital.", "Berlin is in Germany."]
    assert loopback.received[0].path == "/v2/rerank"
    assert [d.id for d in out] == ["doc-berlin", "doc-paris"]


def test_default_top_n_is_three(loopback: Loopback) -> None:
    loopback.script(cohere_answer((3, 0.9), (0, 0.5), (2, 0.4)))
    docs = [Document(f"d{i}") for i in range(5)]
    out = on_loopback(loopback).compress_documents(docs, "q")
    assert loopback.received[0].json()["top_n"] == 3
    assert [d.page_content for d in out] == ["d3", "d0", "d2"]


def test_top_n_none_returns_all(loopback: Loopback) -> None:
    loopback.script(cohere_answer((1, 0.9), (2, 0.5), (0, 0.1)))
    docs = [Document(f"d{i}") for i in range(3)]
    out = on_loopback(loopback, top_n=None).compress_documents(docs, "q")
    assert "top_n" not in loopback.received[0].json()
    assert [d.page_content for d in out] == ["d1", "d2", "d0"]


async def test_empty_input_makes_no_request(loopback: Loopback) -> None:
    r = on_loopback(loopback)
    assert r.compress_documents([], "q") == []
    assert await r.acompress_documents([], "q") == []
    assert r.rerank([], "q") == []
    assert await r.arerank([], "q") == []
    assert loopback.received == []


def test_rank_field_missing_from_metadata_fails_before_sending(loopback: Loopback) -> None:
    docs = [Document("a", metadata={"title": "A"}), Document("b")]
    with pytest.raises(InvalidRequestError, match="document 1 needs a string `title`"):
        on_loopback(loopback, rank_fields=["title"]).compress_documents(docs, "q")
    assert loopback.received == []


def test_metadata_text_key_does_not_replace_page_content(loopback: Loopback) -> None:
    loopback.script(cohere_answer((0, 0.5)))
    doc = Document("the content", metadata={"text": "other", "title": "T", "secret": "s"})
    on_loopback(loopback, rank_fields=["title", "text"]).compress_documents([doc], "q")
    # Cohere renders objects as "field: value" lines of the rank fields, in their order.
    assert loopback.received[0].json()["documents"] == ["title: T\ntext: the content"]


# -- results -------------------------------------------------------------------------------


def test_inputs_untouched_and_outputs_independent(loopback: Loopback) -> None:
    loopback.script(cohere_answer((1, 0.8), (0, 0.3)))
    docs = basic_docs()
    docs[0].metadata["relevance_score"] = 0.01  # a score from an earlier reranker
    before = deepcopy(docs)
    out = on_loopback(loopback).compress_documents(docs, QUERY)
    assert docs == before  # same content, metadata and ids
    assert all(o is not d for o in out for d in docs)
    paris = out[1]
    assert paris.id == "doc-paris"
    # The new score wins over the old one and is written last.
    assert paris.metadata == {"src": "a", "tags": ["x"], "relevance_score": 0.3}
    assert list(paris.metadata)[-1] == "relevance_score"
    paris.metadata["tags"].append("y")  # changing the output leaves the input alone
    assert docs[0].metadata["tags"] == ["x"]


def test_ids_and_types_preserved(loopback: Loopback) -> None:
    loopback.script(cohere_answer((2, 0.9), (0, 0.8), (1, 0.1)))
    docs = [Document(f"d{i}", id=f"id-{i}") for i in range(3)]
    out = on_loopback(loopback, top_n=None).compress_documents(docs, "q")
    assert [d.id for d in out] == ["id-2", "id-0", "id-1"]
    assert all(isinstance(d, Document) for d in out)


# -- errors ----------------------------------------------------------------------------------


def test_server_error_raises_provider_error(loopback: Loopback) -> None:
    loopback.script(Answer(500, {"id": "e", "message": "internal failure"}))
    with pytest.raises(ProviderError) as info:
        on_loopback(loopback).compress_documents(basic_docs(), QUERY)
    assert info.value.status_code == 500 and info.value.provider == "cohere"
    assert len(loopback.received) == 1  # max_retries=0


async def test_server_error_raises_provider_error_async(loopback: Loopback) -> None:
    loopback.script(Answer(503, {"id": "e", "message": "overloaded"}))
    with pytest.raises(ProviderError):
        await on_loopback(loopback, max_retries=1).acompress_documents(basic_docs(), QUERY)
    assert len(loopback.received) == 2  # retried once, then raised (never [])


def test_malformed_answer_is_a_provider_error(loopback: Loopback) -> None:
    loopback.script(Answer(200, {"id": "x", "results": [{"index": 9, "relevance_score": 1}]}))
    with pytest.raises(ProviderError):
        on_loopback(loopback).compress_documents(basic_docs(), QUERY)


def test_missing_key_names_the_variables(loopback: Loopback) -> None:
    r = UnifiedRerank(model="cohere/rerank-v3.5", base_url=loopback.url)
    with pytest.raises(AuthenticationError, match="COHERE_API_KEY"):
        r.compress_documents(basic_docs(), QUERY)
    assert loopback.received == []


def test_key_read_from_provider_env_by_the_core(
    loopback: Loopback, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CO_API_KEY", "env-key-not-a-secret")
    loopback.script(cohere_answer((0, 0.5)))
    UnifiedRerank(model="cohere/rerank-v3.5", base_url=loopback.url).compress_documents(
        [Document("a")], "q"
    )
    assert loopback.received[0].headers["Authorization"] == "Bearer env-key-not-a-secret"


def test_unknown_provider_option_fails_at_construction(loopback: Loopback) -> None:
    with pytest.raises(InvalidRequestError, match="unknown option"):
        on_loopback(loopback, provider_options={"region": "us-east-1"})
    assert loopback.received == []


# -- native async, client reuse ----------------------------------------------------------


class RecordingClient(RerankClient):
    """A core client that records which path ran and on which thread, then answers."""

    def __init__(self) -> None:
        super().__init__("cohere", api_key="test-key-not-a-secret")
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    def _answer(self, kwargs: dict[str, Any]) -> RerankResponse:
        n = len(kwargs["documents"])
        order = list(reversed(range(n)))[: kwargs.get("top_n") or n]
        return RerankResponse(
            id="r",
            model=kwargs["model"],
            provider="cohere",
            results=[{"index": i, "relevance_score": (i + 1) / 10} for i in order],
        )

    def rerank(self, **kwargs: Any) -> RerankResponse:  # type: ignore[override]
        self.calls.append(("sync", threading.current_thread().name, kwargs))
        return self._answer(kwargs)

    async def arerank(self, **kwargs: Any) -> RerankResponse:  # type: ignore[override]
        self.calls.append(("async", threading.current_thread().name, kwargs))
        await asyncio.sleep(0)
        return self._answer(kwargs)


async def test_acompress_awaits_the_core_on_the_loop_thread() -> None:
    fake = RecordingClient()
    r = UnifiedRerank(model="rerank-v3.5", client=fake, top_n=2)
    out = await r.acompress_documents([Document("a"), Document("b"), Document("c")], "q")
    assert [d.page_content for d in out] == ["c", "b"]
    assert [(kind, thread) for kind, thread, _ in fake.calls] == [
        ("async", threading.current_thread().name)
    ]
    assert fake.calls[0][2]["model"] == "rerank-v3.5" and fake.calls[0][2]["top_n"] == 2


def test_injected_client_is_used_for_the_request() -> None:
    with (
        cassette("cohere", "rerank_basic"),
        RerankClient("cohere", api_key=key("COHERE_API_KEY"), max_retries=0) as core,
    ):
        r = UnifiedRerank(model="rerank-v3.5", client=core, top_n=1, max_tokens_per_doc=512)
        out = r.compress_documents(basic_docs(), QUERY)
    assert [d.id for d in out] == ["doc-paris"]
    assert r._cache.client is None  # nothing of our own was built


def test_core_client_built_once_and_reused(loopback: Loopback) -> None:
    loopback.script(cohere_answer((0, 0.5)))
    r = on_loopback(loopback)
    assert r._cache.client is None  # nothing built at construction
    r.compress_documents([Document("a")], "q")
    first = r._rerank_client()
    r.compress_documents([Document("a")], "q")
    assert r._rerank_client() is first
    r.close()
    assert len(loopback.received) == 2


def test_changed_client_field_builds_a_new_client(loopback: Loopback) -> None:
    loopback.script(cohere_answer((0, 0.5)))
    r = on_loopback(loopback)
    first = r._rerank_client()
    r.api_key = SecretStr("rotated-key-not-a-secret")
    r.compress_documents([Document("a")], "q")
    assert r._rerank_client() is not first
    assert loopback.received[0].headers["Authorization"] == "Bearer rotated-key-not-a-secret"
    clone = r.model_copy(update={"base_url": loopback.url + "/proxy"})
    clone.compress_documents([Document("a")], "q")
    assert loopback.received[1].path == "/proxy/v2/rerank"
    assert r._rerank_client().base_url == loopback.url  # the original is unaffected


async def test_copies_and_pickles_after_use(loopback: Loopback) -> None:
    loopback.script(cohere_answer((0, 0.5)))
    r = on_loopback(loopback)
    await r.acompress_documents([Document("a")], "q")  # a live HTTP pool now exists
    twins = (deepcopy(r), r.model_copy(), r.model_copy(deep=True), pickle.loads(pickle.dumps(r)))
    for twin in twins:
        assert twin._cache.client is None and twin == r
        out = await twin.acompress_documents([Document("a")], "q")
        assert out[0].metadata["relevance_score"] == 0.5
    await r.aclose()
