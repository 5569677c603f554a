"""Bad input is refused before anything is sent; valid but unusual input goes through.

Every bad case runs against a loopback server the test starts (``base_url=loopback.url``) and
asserts that the server received nothing: the error was raised while planning the call, not
by the server. Sync and async paths are both covered.
"""

from __future__ import annotations

import datetime
import json
import math
from dataclasses import dataclass, field
from typing import Any

import pytest
from pydantic import ValidationError

from tests.support.loopback import Answer, Loopback
from unified_rerank import (
    AuthenticationError,
    InvalidRequestError,
    RerankClient,
    RerankError,
    RerankResponse,
    arerank,
    rerank,
)
from unified_rerank.schema import RerankRequest

DOCS = ["Paris is the capital.", "Berlin is in Germany."]


@dataclass
class Case:
    id: str
    fields: dict[str, Any]
    match: str
    provider: str | None = "cohere"
    client: dict[str, Any] = field(default_factory=dict)
    error: type[RerankError] = InvalidRequestError
    api_key: str | None = "test-key-not-a-secret"


def req(**overrides: Any) -> dict[str, Any]:
    """A valid cohere request with some fields replaced."""
    return {"model": "rerank-v3.5", "query": "capital?", "documents": DOCS, **overrides}


BAD: list[Case] = [
    # model
    Case("model-int", req(model=123), "`model` must be a non-empty string"),
    Case("model-empty", req(model=""), "`model` must be a non-empty string"),
    Case("model-no-known-prefix", req(model="BAAI/bge-reranker-v2-m3"), "known providers", None),
    Case("model-unknown-slug-prefix", req(model="acme/rerank-1"), "unknown provider 'acme'", None),
    Case("model-bare-no-provider", req(model="rerank-v3.5"), "provider/model-id", None),
    # query
    Case("query-none", req(query=None), "`query` is required"),
    Case("query-int", req(query=42), "`query` must be a string, got int"),
    Case("query-bytes", req(query=b"capital?"), "`query` must be a string, got bytes"),
    Case("query-empty", req(query=""), "`query` must not be empty"),
    Case("query-whitespace", req(query=" \n\t "), "`query` must not be empty"),
    # documents
    Case("documents-none", req(documents=None), "`documents` must be a list"),
    Case("documents-str", req(documents="Paris"), "`documents` must be a list"),
    Case("documents-dict", req(documents={"text": "Paris"}), "`documents` must be a list"),
    Case("documents-empty", req(documents=[]), "at least one document"),
    Case("documents-int-items", req(documents=[1, 2]), "documents.0"),
    Case("documents-none-item", req(documents=["a", None]), "documents.1"),
    Case("documents-nested-list", req(documents=[["a"]]), "documents.0"),
    Case("documents-bytes-item", req(documents=[b"a"]), "documents.0"),
    Case("document-without-text", req(documents=[{"title": "x"}]), "needs a string `text`"),
    Case("document-text-not-str", req(documents=[{"text": 5}]), "needs a string `text`"),
    Case("document-text-none", req(documents=["a", {"text": None}]), "document 1 needs"),
    # fields of document objects go on the wire: JSON values only, finite numbers
    Case(
        "document-field-not-json",
        req(documents=["a", {"text": "b", "when": datetime.date(2026, 1, 1)}]),
        "`documents.1.when`: input was not a valid JSON value",
    ),
    Case(
        "document-field-nan",
        req(documents=[{"text": "a", "rank": [1, math.nan]}]),
        "`documents.0.rank.1`: Input should be a finite number",
    ),
    # top_n
    Case("top_n-zero", req(top_n=0), "`top_n` must be at least 1, got 0"),
    Case("top_n-negative", req(top_n=-1), "`top_n` must be at least 1, got -1"),
    Case("top_n-bool", req(top_n=True), "`top_n`"),
    Case("top_n-float", req(top_n=1.5), "`top_n`"),
    Case("top_n-str", req(top_n="2"), "`top_n`"),
    # other fields
    Case("return_documents-str", req(return_documents="yes"), "`return_documents`"),
    Case("return_documents-int", req(return_documents=1), "`return_documents`"),
    Case("max_tokens_per_doc-zero", req(max_tokens_per_doc=0), "at least 1, got 0"),
    Case("max_tokens_per_doc-negative", req(max_tokens_per_doc=-5), "at least 1, got -5"),
    Case("max_tokens_per_doc-float", req(max_tokens_per_doc=2.5), "`max_tokens_per_doc`"),
    Case("truncation-str", req(truncation="no"), "`truncation`"),
    Case("parameters-str", req(parameters="fast"), "`parameters`"),
    Case(
        "parameters-not-json",
        req(model="bge-reranker-v2-m3", parameters={"truncate": {"END"}}),
        "`parameters.truncate`: input was not a valid JSON value",
        "pinecone",
    ),
    Case(
        "parameters-inf",
        req(model="bge-reranker-v2-m3", parameters={"weights": {"a": math.inf}}),
        "`parameters.weights.a`: Input should be a finite number",
        "pinecone",
    ),
    # rank_fields
    Case("rank_fields-empty", req(rank_fields=[]), "at least one non-empty field"),
    Case("rank_fields-empty-name", req(rank_fields=[""]), "at least one non-empty field"),
    Case("rank_fields-str", req(rank_fields="text"), "`rank_fields`"),
    Case(
        "rank_fields-missing-field",
        req(documents=[{"text": "a", "title": "A"}, {"text": "b"}], rank_fields=["title"]),
        "document 1 needs a string `title` field",
    ),
    Case(
        "rank_fields-strings-without-text",
        req(rank_fields=["title"]),
        "does not include 'text'",
    ),
    # priority
    Case("priority-nan", req(priority=math.nan), "`priority` must be a finite number"),
    Case("priority-inf", req(priority=math.inf), "`priority` must be a finite number"),
    Case("priority-minus-inf", req(priority=-math.inf), "`priority` must be a finite number"),
    Case("priority-str", req(priority="high"), "`priority` must be a finite number"),
    Case("priority-bool", req(priority=True), "`priority` must be a finite number"),
    Case("priority-below-cohere-range", req(priority=-1), "from 0 to 999"),
    Case("priority-above-cohere-range", req(priority=1000), "from 0 to 999"),
    Case("priority-not-integer", req(priority=2.5), "from 0 to 999"),
    # providers and their options
    Case("provider-unknown", req(), "unknown provider 'acme'", "acme"),
    Case("option-unknown", req(), "unknown option(s) ['region']", client={"region": "x"}),
    Case(
        "option-unknown-chosen-by-model",
        req(model="cohere/rerank-v3.5"),
        "unknown option(s) ['api_version']",
        None,
        client={"api_version": "2025-10"},
    ),
    Case(
        "key-missing",
        req(),
        "COHERE_API_KEY or CO_API_KEY",
        error=AuthenticationError,
        api_key=None,
    ),
    Case(
        "key-missing-voyage",
        req(model="rerank-2.5"),
        "VOYAGE_API_KEY",
        "voyage",
        error=AuthenticationError,
        api_key=None,
    ),
    # fields a provider cannot take
    Case(
        "voyage-parameters",
        req(model="rerank-2.5", parameters={"a": 1}),
        "only by pinecone",
        "voyage",
    ),
    Case(
        "voyage-max_tokens",
        req(model="rerank-2.5", max_tokens_per_doc=9),
        "voyage has no",
        "voyage",
    ),
    Case("jina-truncation-false", req(model="m", truncation=False), "cannot refuse", "jina"),
    Case("jina-parameters", req(model="m", parameters={"a": 1}), "only by pinecone", "jina"),
    Case(
        "pinecone-max_tokens-bge",
        req(model="bge-reranker-v2-m3", max_tokens_per_doc=9),
        "takes no `max_tokens_per_doc`",
        "pinecone",
    ),
    Case(
        "pinecone-bad-api-version",
        req(model="bge-reranker-v2-m3"),
        "YYYY-MM",
        "pinecone",
        client={"api_version": 2025},
    ),
    Case("azure-parameters", req(parameters={"a": 1}), "only by pinecone", "azure-ai"),
    Case("azure-auth-header", req(), "auth_header", "azure-ai", client={"auth_header": "basic"}),
    Case("azure-priority-range", req(priority=5000), "from 0 to 999", "azure-ai"),
]


async def run(case: Case, url: str, mode: str) -> RerankResponse:
    kw = dict(case.client)
    if case.api_key is not None:
        kw["api_key"] = case.api_key
    with RerankClient(case.provider, base_url=url, max_retries=0, **kw) as c:
        if mode == "sync":
            return c.rerank(**case.fields)
        return await c.arerank(**case.fields)


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("case", BAD, ids=[c.id for c in BAD])
async def test_bad_input_is_refused_before_sending(
    loopback: Loopback, case: Case, mode: str
) -> None:
    with pytest.raises(case.error) as info:
        await run(case, loopback.url, mode)
    assert type(info.value) is case.error
    assert case.match in info.value.message
    assert info.value.status_code is None  # no HTTP exchange happened
    assert loopback.received == []


def test_the_matrix_is_big_enough() -> None:
    assert len(BAD) >= 30 and len({c.id for c in BAD}) == len(BAD)


@pytest.mark.parametrize("one_shot", ["sync", "async"])
async def test_unknown_argument_one_shot(loopback: Loopback, one_shot: str) -> None:
    kw: dict[str, Any] = dict(
        model="cohere/rerank-v3.5",
        query="q",
        documents=DOCS,
        base_url=loopback.url,
        api_key="test-key-not-a-secret",
        top_k=1,  # Voyage's name, not the unified one
    )
    with pytest.raises(InvalidRequestError, match=r"unknown option\(s\) \['top_k'\]"):
        if one_shot == "sync":
            rerank(**kw)
        else:
            await arerank(**kw)
    assert loopback.received == []


def test_unknown_argument_on_the_client_method(loopback: Loopback) -> None:
    c = RerankClient("cohere", api_key="k", base_url=loopback.url)
    with pytest.raises(TypeError, match="top_k"):
        c.rerank(model="m", query="q", documents=DOCS, top_k=1)  # type: ignore[call-arg]
    assert loopback.received == []


def test_lone_surrogate_is_invalid_request(loopback: Loopback) -> None:
    c = RerankClient("cohere", api_key="k", base_url=loopback.url, max_retries=0)
    try:
        with pytest.raises(InvalidRequestError):
            c.rerank(model="m", query="bad \ud800 text", documents=DOCS)
    finally:
        assert loopback.received == []


# -- valid input that must pass validation --------------------------------------------------

UNICODE_QUERY = "Hauptstadt? 首都は？ ما هي العاصمة؟ 🇫🇷 e\u0301 \u200b"  # noqa: RUF001
UNICODE_DOCS = [
    "Paris — la capitale 🗼",
    {"text": "東京は日本の首都です。", "lang": "ja", "score_hint": None, "tags": ["a", 1]},
    "عاصمة فرنسا هي باريس\x00 (with a NUL)",
]


def cohere_answer(*pairs: tuple[int, float]) -> Answer:
    results = [{"index": i, "relevance_score": s} for i, s in pairs]
    return Answer(
        200, {"id": "x", "results": results, "meta": {"billed_units": {"search_units": 1}}}
    )


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_unicode_documents_are_valid_and_sent_intact(loopback: Loopback, mode: str) -> None:
    loopback.script(cohere_answer((1, 0.9), (0, 0.5), (2, 0.1)))
    case = Case(
        "unicode",
        dict(
            model="rerank-v3.5", query=UNICODE_QUERY, documents=UNICODE_DOCS, return_documents=True
        ),
        "",
    )
    resp = await run(case, loopback.url, mode)
    assert [r.index for r in resp.results] == [1, 0, 2]
    assert resp.results[0].document == UNICODE_DOCS[1]  # every field kept, None and lists too
    (sent,) = loopback.received
    body = sent.json()
    assert body["query"] == UNICODE_QUERY
    assert body["documents"] == [UNICODE_DOCS[0], "東京は日本の首都です。", UNICODE_DOCS[2]]
    assert "🗼".encode() in sent.body  # raw UTF-8 on the wire, not \u escapes


async def test_huge_documents_are_valid(loopback: Loopback) -> None:
    huge = "word " * 400_000  # 2 MB: the provider truncates; validation must not refuse it
    loopback.script(cohere_answer((0, 0.7), (1, 0.2)))
    case = Case("huge", dict(model="rerank-v3.5", query="q " * 5000, documents=[huge, "x"]), "")
    resp = await run(case, loopback.url, "async")
    assert [r.index for r in resp.results] == [0, 1]
    assert loopback.received[0].json()["documents"][0] == huge


def test_many_documents_are_valid_and_split_per_provider_limit(loopback: Loopback) -> None:
    docs = [f"document {i}" for i in range(1500)]
    # Two voyage windows of 1,000 and 500; every document scored once, merged globally.
    loopback.script(
        Answer(200, {"data": [{"index": i, "relevance_score": i / 1000} for i in range(1000)]}),
        Answer(200, {"data": [{"index": i, "relevance_score": 0.5} for i in range(500)]}),
    )
    c = RerankClient("voyage", api_key="k", base_url=loopback.url, max_concurrency=1)
    resp = c.rerank(model="rerank-2.5", query="q", documents=docs, top_n=3)
    assert [r.index for r in resp.results] == [999, 998, 997]
    assert [len(r.json()["documents"]) for r in loopback.received] == [1000, 500]


@pytest.mark.parametrize(
    ("provider", "answer", "sent_top"),
    [
        # Cohere sends top_n as given and answers with all documents.
        ("cohere", cohere_answer((2, 0.3), (0, 0.9), (1, 0.5)), ("top_n", 10)),
        # Voyage gets top_k capped at the document count.
        (
            "voyage",
            Answer(
                200,
                {
                    "data": [
                        {"index": i, "relevance_score": s}
                        for i, s in [(0, 0.9), (1, 0.5), (2, 0.3)]
                    ]
                },
            ),
            ("top_k", 3),
        ),
        (
            "pinecone",
            Answer(
                200, {"data": [{"index": i, "score": s} for i, s in [(1, 0.5), (0, 0.9), (2, 0.3)]]}
            ),
            ("top_n", 3),
        ),
    ],
)
@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_top_n_above_document_count_returns_all(
    loopback: Loopback, provider: str, answer: Answer, sent_top: tuple[str, int], mode: str
) -> None:
    loopback.script(answer)
    case = Case(
        "top", dict(model="m", query="q", documents=["a", "b", "c"], top_n=10), "", provider
    )
    resp = await run(case, loopback.url, mode)
    assert [r.index for r in resp.results] == [0, 1, 2]
    (sent,) = loopback.received
    name, value = sent_top
    assert json.loads(sent.body)[name] == value


async def test_a_short_answer_is_a_provider_error_not_a_ranking(loopback: Loopback) -> None:
    from unified_rerank import ProviderError

    loopback.script(Answer(200, {"data": [{"index": 0, "relevance_score": 0.9}]}))
    c = RerankClient("voyage", api_key="k", base_url=loopback.url, max_retries=0)
    with pytest.raises(ProviderError, match="1 results for 3 expected"):
        await c.arerank(model="m", query="q", documents=["a", "b", "c"], top_n=10)


class _Label(str):
    """A ``str`` subclass, as numpy's ``str_`` or an enum's value can be."""


def test_string_subclass_documents_are_strings(loopback: Loopback) -> None:
    loopback.script(cohere_answer((1, 0.9), (0, 0.5)))
    c = RerankClient("cohere", api_key="k", base_url=loopback.url, max_retries=0)
    resp = c.rerank(
        model="rerank-v3.5", query="q", documents=[_Label("a"), "b"], return_documents=True
    )
    assert [(r.index, r.document) for r in resp.results] == [(1, {"text": "b"}), (0, {"text": "a"})]
    assert loopback.received[0].json()["documents"] == ["a", "b"]


@pytest.mark.parametrize("odd", [b"bytes", 3, None, ["a"]])
def test_one_non_string_among_strings_is_refused(loopback: Loopback, odd: object) -> None:
    c = RerankClient("cohere", api_key="k", base_url=loopback.url, max_retries=0)
    docs = ["a"] * 50 + [odd] + ["b"] * 50
    with pytest.raises(InvalidRequestError, match=r"`documents\.50`"):
        c.rerank(model="rerank-v3.5", query="q", documents=docs)  # type: ignore[arg-type]
    assert loopback.received == []


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"top_n": 3},
        {"return_documents": True, "max_tokens_per_doc": 512, "truncation": False},
        {"top_n": 1, "return_documents": False, "truncation": True},
    ],
)
def test_plain_calls_build_the_request_validation_would(options: dict[str, object]) -> None:
    """A plain call (strings, options of their exact types) skips pydantic: the request must
    be exactly the validated one, field for field, fields set included."""
    fields: dict[str, object] = {"model": "m", "query": "q", "documents": ["a", "b"], **options}
    fast = RerankRequest.create(**fields)
    slow = RerankRequest.model_validate(fields)
    assert fast == slow and fast.model_dump() == slow.model_dump()
    assert fast.model_fields_set == slow.model_fields_set
    assert fast.documents is not fields["documents"]  # the caller's list is copied
    assert fast.texts_only and fast.model_dump_json() == slow.model_dump_json()
    with pytest.raises(ValidationError):
        fast.top_n = 5  # type: ignore[misc]  # frozen like a validated one


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"top_n": True}, "top_n"),
        ({"top_n": 2.0}, "top_n"),
        ({"return_documents": 1}, "return_documents"),
        ({"truncation": "yes"}, "truncation"),
        ({"max_tokens_per_doc": "5"}, "max_tokens_per_doc"),
    ],
)
def test_options_of_other_types_still_go_through_validation(
    options: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        RerankRequest.create(model="m", query="q", documents=["a"], **options)
