"""Each provider's official Python SDK and RerankClient make the same call to one loopback
recorder: the requests are compared field by field (method, path, query, auth scheme, provider
headers, JSON body), the same canned answer is read by both (indices, scores, order, documents,
usage), and 400/401/429 (with Retry-After)/500 answers give the same error category and retry
count. Every difference is listed in its case with the reason (``intended``, ``retry_differences``);
a listed difference that no longer occurs fails too.

The SDKs are test dependencies only, pinned in requirements/test.txt. NVIDIA's client and
boto3 (both Bedrock APIs) are in test_nvidia_bedrock_sdk.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
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

cohere = pytest.importorskip("cohere", reason="cohere SDK (requirements/test.txt)")
voyageai = pytest.importorskip("voyageai", reason="voyageai SDK (requirements/test.txt)")
pinecone = pytest.importorskip("pinecone", reason="pinecone SDK (requirements/test.txt)")
together = pytest.importorskip("together", reason="together SDK (requirements/test.txt)")
mixedbread = pytest.importorskip("mixedbread", reason="mixedbread SDK (requirements/test.txt)")

KEY = "sk-conformance-0001"
QUERY = "capital of France?"
DOCS = ["Berlin is in Germany.", "Paris is the capital.", "The Eiffel Tower is in Paris."]

#: (index, score, document text or None) in the order given, and usage in unified keys.
Ranked = list[tuple[int, float, str | None]]
Read = tuple[Ranked, dict[str, Any]]


@dataclass
class Case:
    provider: str
    #: RerankClient options besides base_url and api_key.
    options: dict[str, Any]
    #: The rerank() fields for RerankClient.
    ours: dict[str, Any]
    #: The same call through the SDK, given the recorder's URL.
    sdk: Callable[[str], Any]
    #: The SDK's answer object read as (ranked, usage).
    read: Callable[[Any], Read]
    answer: dict[str, Any]
    #: "header:<name>" / "body:<field>" / "query:<name>" -> why the difference is intended.
    intended: dict[str, str] = field(default_factory=dict)
    auth: Callable[[Mapping[str, str]], Any] = bearer
    #: An error body in the provider's own shape, given a message.
    error_body: Callable[[str], Any] = lambda message: {"message": message}
    #: The SDK's retries (its defaults) for 400/401/429/500, when they differ from ours.
    retry_differences: dict[int, tuple[int, str]] = field(default_factory=dict)
    #: Extra statuses to compare (e.g. Cohere's 498).
    extra_statuses: tuple[int, ...] = ()
    #: Appended to the recorder's URL for RerankClient's base_url.
    base_path: str = ""


def ours_read(response: Any) -> Read:
    ranked = [
        (
            r.index,
            round(r.relevance_score, 6),
            None if r.document is None else r.document.get("text"),
        )
        for r in response.results
    ]
    return ranked, response.usage.model_dump(exclude_none=True, exclude={"estimated"})


# --- the SDK calls ------------------------------------------------------------------------------

COHERE_ANSWER = {
    "id": "c0ffee00-0000-4000-8000-000000000001",
    "results": [{"index": 1, "relevance_score": 0.93}, {"index": 2, "relevance_score": 0.41}],
    "meta": {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}},
}


def cohere_call(url: str) -> Any:
    client = cohere.ClientV2(api_key=KEY, base_url=url)
    return client.rerank(
        model="rerank-v3.5", query=QUERY, documents=DOCS, top_n=2, max_tokens_per_doc=512
    )


def azure_call(url: str) -> Any:
    # A serverless Cohere deployment on Azure, as Cohere's docs show it with ClientV2.
    client = cohere.ClientV2(api_key=KEY, base_url=url)
    return client.rerank(model="rerank-v3.5", query=QUERY, documents=DOCS, top_n=2)


HOTELS = [
    {"title": "Airport Inn", "text": DOCS[0]},
    {"title": "Old Town", "text": DOCS[1]},
    {"title": "Quay", "text": DOCS[2]},
]


def azure_v1_call(url: str) -> Any:
    # A deployment's v1 URL, through Cohere's v1 client (object documents, rank_fields).
    client = cohere.Client(api_key=KEY, base_url=url)
    return client.rerank(
        model="rerank-v3.5",
        query=QUERY,
        documents=HOTELS,
        rank_fields=["title", "text"],
        return_documents=True,
        top_n=2,
    )


COHERE_V1_ANSWER = {
    "id": "c0ffee00-0000-4000-8000-000000000002",
    "results": [
        {"index": 1, "relevance_score": 0.93, "document": HOTELS[1]},
        {"index": 2, "relevance_score": 0.41, "document": HOTELS[2]},
    ],
    "meta": {"api_version": {"version": "1"}, "billed_units": {"search_units": 1}},
}


def cohere_read(answer: Any) -> Read:
    """v1 and v2 answers alike (only v1 results can carry a document)."""
    ranked: Ranked = []
    for r in answer.results:
        document = getattr(r, "document", None)
        ranked.append((r.index, round(r.relevance_score, 6), document.text if document else None))
    units = answer.meta.billed_units.search_units if answer.meta else None
    return ranked, {} if units is None else {"search_units": int(units)}


VOYAGE_ANSWER = {
    "object": "list",
    "data": [
        {"index": 1, "relevance_score": 0.91, "document": DOCS[1]},
        {"index": 2, "relevance_score": 0.53, "document": DOCS[2]},
    ],
    "model": "rerank-2.5",
    "usage": {"total_tokens": 27},
}


def voyage_call(url: str) -> Any:
    client = voyageai.Client(api_key=KEY, base_url=url + "/v1")
    return client.rerank(query=QUERY, documents=DOCS, model="rerank-2.5", top_k=2)


def voyage_read(answer: Any) -> Read:
    ranked: Ranked = [(r.index, round(r.relevance_score, 6), r.document) for r in answer.results]
    return ranked, {"total_tokens": answer.total_tokens}


PINECONE_DOCS = [
    {"id": "a", "text": DOCS[0]},
    {"id": "b", "text": DOCS[1]},
    {"id": "c", "text": DOCS[2]},
]
PINECONE_ANSWER = {
    "model": "bge-reranker-v2-m3",
    "data": [
        {"index": 1, "score": 0.97, "document": PINECONE_DOCS[1]},
        {"index": 2, "score": 0.22, "document": PINECONE_DOCS[2]},
    ],
    "usage": {"rerank_units": 1},
}


def pinecone_call(url: str) -> Any:
    client = pinecone.Pinecone(api_key=KEY, host=url)
    return client.inference.rerank(
        model="bge-reranker-v2-m3",
        query=QUERY,
        documents=PINECONE_DOCS,
        return_documents=True,
        top_n=2,
        parameters={"truncate": "END"},
    )


def pinecone_read(answer: Any) -> Read:
    ranked: Ranked = [
        (r.index, round(r.score, 6), r.document["text"] if r.document else None)
        for r in answer.data
    ]
    return ranked, {"rerank_units": answer.usage.rerank_units}


def pinecone_error(message: str) -> Any:
    return {"error": {"code": "INVALID_ARGUMENT", "message": message}, "status": 400}


TOGETHER_ANSWER = {
    "id": "tg-1",
    "object": "rerank",
    "model": "Salesforce/Llama-Rank-V1",
    "results": [
        {"index": 1, "relevance_score": 0.88, "document": {"text": None}},
        {"index": 2, "relevance_score": 0.31, "document": {"text": None}},
    ],
    "usage": {"prompt_tokens": 40, "completion_tokens": 0, "total_tokens": 40},
}


def together_call(url: str) -> Any:
    client = together.Together(api_key=KEY, base_url=url)
    return client.rerank.create(
        model="Salesforce/Llama-Rank-V1", query=QUERY, documents=DOCS, top_n=2
    )


def openai_style_error(message: str) -> Any:
    return {"error": {"message": message, "type": "invalid_request_error", "code": None}}


def together_read(answer: Any) -> Read:
    ranked: Ranked = [(r.index, round(r.relevance_score, 6), None) for r in answer.results]
    return ranked, {"total_tokens": answer.usage.total_tokens}


MIXEDBREAD_ANSWER = {
    "usage": {"prompt_tokens": 31, "total_tokens": 31, "completion_tokens": 0},
    "model": "mixedbread-ai/mxbai-rerank-large-v2",
    "data": [
        {"index": 1, "score": 0.95, "object": "rank_result"},
        {"index": 2, "score": 0.44, "object": "rank_result"},
    ],
    "object": "list",
    "top_k": 2,
    "return_input": False,
}


def mixedbread_call(url: str) -> Any:
    client = mixedbread.Mixedbread(api_key=KEY, base_url=url)
    return client.rerank(
        model="mixedbread-ai/mxbai-rerank-large-v2",
        query=QUERY,
        input=DOCS,
        top_k=2,
        return_input=False,
    )


def mixedbread_read(answer: Any) -> Read:
    ranked: Ranked = [(r.index, round(r.score, 6), None) for r in answer.data]
    return ranked, {"total_tokens": answer.usage.total_tokens}


FERN_TELEMETRY = "Cohere's SDK telemetry (Fern generator: SDK name, language, version)"
FERN_HEADERS = (
    "x-fern-language",
    "x-fern-sdk-name",
    "x-fern-sdk-version",
    "x-fern-runtime",
    "x-fern-platform",
)
STAINLESS_TELEMETRY = "Stainless SDK telemetry (OS, architecture, runtime, retry count)"
COHERE_INTENDED = {
    **{f"header:{name}": FERN_TELEMETRY for name in FERN_HEADERS},
    "header:accept": "the SDK sends Accept: */*; we ask for JSON",
}
NO_DEFAULT_RETRIES = "the SDK retries nothing unless max_retries is set; we retry 429/5xx twice"


def stainless_intended(sdk: str) -> dict[str, str]:
    return {
        f"header:{name}": STAINLESS_TELEMETRY
        for name in (
            "x-stainless-arch",
            "x-stainless-async",
            "x-stainless-lang",
            "x-stainless-os",
            "x-stainless-package-version",
            "x-stainless-read-timeout",
            "x-stainless-retry-count",
            "x-stainless-runtime",
            "x-stainless-runtime-version",
        )
    }


CASES: dict[str, Case] = {
    "cohere": Case(
        provider="cohere",
        options={},
        ours=dict(model="rerank-v3.5", top_n=2, max_tokens_per_doc=512),
        sdk=cohere_call,
        read=cohere_read,
        answer=COHERE_ANSWER,
        intended=COHERE_INTENDED,
        extra_statuses=(498,),
    ),
    "azure-ai": Case(
        provider="azure-ai",
        options={},
        ours=dict(model="cohere.rerank-v3.5", top_n=2),
        sdk=azure_call,
        read=cohere_read,
        answer=COHERE_ANSWER,
        intended=COHERE_INTENDED,
    ),
    "azure-ai-v1": Case(
        provider="azure-ai",
        options={},
        ours=dict(
            model="cohere.rerank-v3.5",
            documents=HOTELS,
            rank_fields=["title", "text"],
            return_documents=True,
            top_n=2,
        ),
        sdk=azure_v1_call,
        read=cohere_read,
        answer=COHERE_V1_ANSWER,
        intended=COHERE_INTENDED,
        base_path="/v1/rerank",
    ),
    "voyage": Case(
        provider="voyage",
        options={},
        ours=dict(model="rerank-2.5", top_n=2, return_documents=True),
        sdk=voyage_call,
        read=voyage_read,
        answer=VOYAGE_ANSWER,
        intended={"header:accept": "the SDK sends Accept: */*; we ask for JSON"},
        error_body=lambda message: {"detail": message},
        retry_differences={429: (0, NO_DEFAULT_RETRIES), 500: (0, NO_DEFAULT_RETRIES)},
    ),
    "pinecone": Case(
        provider="pinecone",
        options={},
        ours=dict(
            model="bge-reranker-v2-m3",
            documents=PINECONE_DOCS,
            top_n=2,
            return_documents=True,
            parameters={"truncate": "END"},
        ),
        sdk=pinecone_call,
        read=pinecone_read,
        answer=PINECONE_ANSWER,
        intended={"header:accept": "the SDK sends no Accept; we ask for JSON"},
        auth=lambda headers: headers.get("api-key"),
        error_body=pinecone_error,
        retry_differences={
            429: (3, "pinecone's SDK retries 3 times by default; our max_retries=2 is one default"),
            500: (3, "pinecone's SDK retries 3 times by default; our max_retries=2 is one default"),
        },
    ),
    "together": Case(
        provider="together",
        options={},
        ours=dict(model="Salesforce/Llama-Rank-V1", top_n=2),
        sdk=together_call,
        read=together_read,
        answer=TOGETHER_ANSWER,
        intended=stainless_intended("together"),
        error_body=openai_style_error,
    ),
    "mixedbread": Case(
        provider="mixedbread",
        options={},
        ours=dict(model="mixedbread-ai/mxbai-rerank-large-v2", top_n=2),
        sdk=mixedbread_call,
        read=mixedbread_read,
        answer=MIXEDBREAD_ANSWER,
        intended=stainless_intended("mixedbread"),
        error_body=lambda message: {"detail": message},
    ),
}


@pytest.fixture
def recorder() -> Iterator[Loopback]:
    server = Loopback().start()
    try:
        yield server
    finally:
        server.stop()


def our_client(case: Case, url: str, **extra: Any) -> RerankClient:
    base_url = url + case.base_path
    return RerankClient(case.provider, base_url=base_url, api_key=KEY, **case.options, **extra)


def our_call(case: Case, client: RerankClient) -> Any:
    fields = {"query": QUERY, "documents": DOCS, **case.ours}
    return client.rerank(**fields)


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_request_and_same_reading(recorder: Loopback, name: str) -> None:
    case = CASES[name]
    recorder.script(Answer(200, case.answer))
    sdk_answer = case.sdk(recorder.url)
    with our_client(case, recorder.url) as client:
        ours = our_call(case, client)
    sdk_seen, our_seen = (Wire.of(r) for r in recorder.received)
    assert_same_wire(sdk_seen, our_seen, case.intended, case.auth)
    sdk_ranked, sdk_usage = case.read(sdk_answer)
    our_ranked, our_usage = ours_read(ours)
    assert [(i, s) for i, s, _ in our_ranked] == [(i, s) for i, s, _ in sdk_ranked]
    for (_, _, ours_doc), (_, _, sdk_doc) in zip(our_ranked, sdk_ranked, strict=True):
        if sdk_doc is not None:  # the SDK returned one: ours (from the request) is the same
            assert ours_doc == sdk_doc
    assert our_usage == sdk_usage


def _error_cases() -> list[tuple[str, int]]:
    return [
        (name, status)
        for name, case in sorted(CASES.items())
        for status in (400, 401, 429, 500, *case.extra_statuses)
    ]


@pytest.mark.parametrize(("name", "status"), _error_cases())
def test_same_error_category_and_retries(
    recorder: Loopback, monkeypatch: pytest.MonkeyPatch, name: str, status: int
) -> None:
    case = CASES[name]
    headers = {"Retry-After": "0"} if status == 429 else {}
    recorder.script(Answer(status, case.error_body(f"scripted {status}"), headers))
    with no_backoff_sleeps(monkeypatch):
        with pytest.raises(Exception) as sdk_raised:
            case.sdk(recorder.url)
        sdk_retries = retries(recorder.received)
        recorder.received.clear()
        with our_client(case, recorder.url) as client, pytest.raises(RerankError) as ours:
            our_call(case, client)
        our_retries = retries(recorder.received)
    assert our_category(ours.value) == sdk_category(sdk_raised.value, status)
    expected, reason = case.retry_differences.get(status, (our_retries, ""))
    assert sdk_retries == expected, reason or "the SDK retries differently from us"
    if reason:
        assert sdk_retries != our_retries, f"listed but equal now: {reason}"
    if status == 429:
        assert ours.value.retry_after == 0  # Retry-After read


def sdk_default_roots(key: str) -> dict[str, str]:
    """Each SDK's own default API root, for a key like ``key``."""
    import cohere.environment
    import mixedbread._client
    import pinecone._internal.constants
    import voyageai.util

    return {
        "cohere": cohere.environment.ClientEnvironment.PRODUCTION.value,
        "voyage": voyageai.util.get_default_base_url(key).removesuffix("/v1"),
        "pinecone": pinecone._internal.constants.DEFAULT_BASE_URL,
        "together": str(together.Together(api_key=key).base_url).rstrip("/"),
        "mixedbread": mixedbread._client.ENVIRONMENTS["production"],
    }


#: Each provider's path under the root (the SDK calls above show the same paths).
PATHS = {
    "cohere": "/v2/rerank",
    "voyage": "/v1/rerank",
    "pinecone": "/rerank",
    "together": "/v1/rerank",
    "mixedbread": "/v1/reranking",
}


@pytest.mark.parametrize("key", ["pa-standard-key", "al-atlas-key"])
@pytest.mark.parametrize("provider", sorted(PATHS))
def test_default_host_is_the_sdks(provider: str, key: str) -> None:
    # How the wrong Together host (api.together.xyz) was found: no base_url on either side.
    model = CASES[provider].ours["model"]
    call = (
        RerankClient(provider, api_key=key)
        ._plan(dict(model=model, query=QUERY, documents=DOCS))
        .calls[0]
    )
    assert call.url == sdk_default_roots(key)[provider] + PATHS[provider]
