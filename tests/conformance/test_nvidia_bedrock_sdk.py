"""NVIDIA's own client (langchain-nvidia-ai-endpoints: its model table and ``NVIDIARerank``) and
boto3 (Bedrock's agent-runtime ``Rerank`` and bedrock-runtime ``InvokeModel``) against
RerankClient on one loopback recorder, as in test_sdk_wire.py: the request field by field, the
same answer read alike, and error categories and retry counts (every modeled Bedrock error,
under botocore's default standard retry mode). Differences are listed with their reasons.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conformance._sdk_wire import (
    Wire,
    assert_same_wire,
    bearer,
    no_backoff_sleeps,
    our_category,
    retries,
    sdk_category,
    sigv4,
)
from tests.conformance._token_sdk_wire import ToLoopback
from tests.support.loopback import Answer, Loopback
from unified_rerank import RerankClient, RerankError
from unified_rerank.providers import bedrock, nvidia

nv = pytest.importorskip("langchain_nvidia_ai_endpoints", reason="langchain-nvidia-ai-endpoints")
statics = pytest.importorskip("langchain_nvidia_ai_endpoints._statics")
boto3 = pytest.importorskip("boto3", reason="boto3 (requirements/test.txt)")
botocore_exceptions = pytest.importorskip("botocore.exceptions")
requests_adapters = pytest.importorskip("requests.adapters")
from langchain_core.documents import Document  # noqa: E402

KEY = "nvapi-conformance-0001"
QUERY = "capital of France?"
DOCS = ["Berlin is in Germany.", "Paris is the capital.", "The Eiffel Tower is in Paris."]


@pytest.fixture
def recorder() -> Iterator[Loopback]:
    server = Loopback().start()
    try:
        yield server
    finally:
        server.stop()


# --- NVIDIA ---------------------------------------------------------------------------------------


def nvidia_tables() -> dict[str, Any]:
    return {**statics.RANKING_MODEL_TABLE, **statics.RANKING_VLM_MODEL_TABLE}


def test_hosted_models_match_nvidias_table() -> None:
    table = nvidia_tables()
    assert set(nvidia.HOSTED_MODELS) == set(table)
    for model_id, model in table.items():
        assert nvidia.model_id(model_id) == model.id
        assert nvidia.hosted_url(nvidia.model_id(model_id)) == model.endpoint
        for alias in model.aliases or ():
            assert nvidia.model_id(alias) == model.id
        if model.id.startswith("nvidia/"):  # as written with provider="nvidia"
            assert nvidia.model_id(model.id.removeprefix("nvidia/")) == model.id


@pytest.fixture
def requests_to(recorder: Loopback, monkeypatch: pytest.MonkeyPatch) -> Loopback:
    """NVIDIA's client (``requests``) sends its real hosted URLs to the recorder."""
    send = requests_adapters.HTTPAdapter.send
    port = recorder.httpd.server_address[1]

    def to_loopback(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        request.url = re.sub(r"^https?://[^/]+", f"http://127.0.0.1:{port}", request.url)
        return send(self, request, *args, **kwargs)

    monkeypatch.setattr(requests_adapters.HTTPAdapter, "send", to_loopback)
    return recorder


NV_ANSWER = {"rankings": [{"index": 1, "logit": 6.5}, {"index": 2, "logit": 1.25}]}
NV_INTENDED = {
    "header:x-billing-source": "NVIDIA's client tells NVIDIA's billing which library called",
}


def nvidia_sdk_call(model: str, base_url: str | None = None, key: str | None = KEY) -> Any:
    kwargs: dict[str, Any] = {"model": model, "top_n": 2, "truncate": "END"}
    if base_url:
        kwargs["base_url"] = base_url
    if key:
        kwargs["api_key"] = key
    client = nv.NVIDIARerank(**kwargs)
    return client.compress_documents(
        documents=[Document(page_content=d) for d in DOCS], query=QUERY
    )


def nvidia_ours(recorder: Loopback, model: str, hosted: bool, key: str | None = KEY) -> Any:
    options: dict[str, Any] = {"api_key": key} if key else {}
    if hosted:  # the real hosted URL, sent to the recorder
        options["http_client"] = httpx.Client(
            transport=ToLoopback(recorder.httpd.server_address[1])
        )
    else:
        options["base_url"] = recorder.url
    with RerankClient("nvidia", **options) as client:
        return client.rerank(model=model, query=QUERY, documents=DOCS, top_n=2, truncation=True)


@pytest.mark.parametrize("model_id", sorted(nvidia_tables()))
def test_nvidia_hosted_same_request_and_reading(requests_to: Loopback, model_id: str) -> None:
    requests_to.script(Answer(200, NV_ANSWER))
    sdk_docs = nvidia_sdk_call(model_id)
    # With provider="nvidia" a leading "nvidia/" is the slug: a user writes the table's id.
    ours = nvidia_ours(requests_to, model_id.removeprefix("nvidia/"), hosted=True)
    sdk_seen, our_seen = (Wire.of(r) for r in requests_to.received)
    assert sdk_seen.body["model"] == nvidia_tables()[model_id].id
    assert_same_wire(sdk_seen, our_seen, NV_INTENDED, bearer)
    expected = [(DOCS.index(d.page_content), d.metadata["relevance_score"]) for d in sdk_docs]
    assert [(r.index, r.relevance_score) for r in ours.results] == expected
    assert ours.usage.model_dump(exclude_none=True) == {}  # no usage in either


@pytest.mark.parametrize("key", [KEY, None])
def test_nvidia_self_hosted_nim_same_request(recorder: Loopback, key: str | None) -> None:
    model = "nvidia/llama-3.2-nv-rerankqa-1b-v2"  # the id the NIM serves
    recorder.script(Answer(200, NV_ANSWER))
    nvidia_sdk_call(model, base_url=recorder.url + "/v1", key=key)
    nvidia_ours(recorder, model, hosted=False, key=key)  # one "nvidia/" is enough
    sdk_seen, our_seen = (Wire.of(r) for r in recorder.received)
    if key is None:
        # Intended: with no key NVIDIA's client still sends its masked placeholder; we send no
        # Authorization to a keyless NIM.
        assert sdk_seen.headers["authorization"] == "Bearer **********"
        assert "authorization" not in our_seen.headers
    assert_same_wire(sdk_seen, our_seen, NV_INTENDED, lambda h: h.get("authorization") and key)
    assert our_seen.path == "/v1/ranking" and our_seen.body["model"] == model


NV_NO_RETRIES = "NVIDIA's client never retries; we retry 429/5xx twice by default"


@pytest.mark.parametrize("status", [400, 401, 429, 500])
def test_nvidia_errors(recorder: Loopback, monkeypatch: pytest.MonkeyPatch, status: int) -> None:
    model = "nvidia/llama-3.2-nv-rerankqa-1b-v2"
    headers = {"Retry-After": "0"} if status == 429 else {}
    body = {"type": "about:blank", "title": f"status {status}", "status": status, "detail": "x"}
    recorder.script(Answer(status, body, headers))
    with no_backoff_sleeps(monkeypatch):
        with pytest.raises(Exception) as sdk_raised:
            nvidia_sdk_call(model, base_url=recorder.url + "/v1")
        sdk_retries = retries(recorder.received)
        recorder.received.clear()
        with pytest.raises(RerankError) as ours:
            nvidia_ours(recorder, model, hosted=False)
        our_retries = retries(recorder.received)
    # NVIDIA's client raises a bare Exception whose message starts "[<status>] <title>".
    assert str(sdk_raised.value).startswith(f"[{status}] status {status}")
    assert our_category(ours.value) == sdk_category(sdk_raised.value, status)
    assert sdk_retries == 0
    assert our_retries == (2 if status in (429, 500) else 0), NV_NO_RETRIES


# --- Bedrock (boto3) ----------------------------------------------------------------------------

REGION = "us-west-2"
AKID, SECRET = "AKIDEXAMPLECONFORM01", "conformance/secret/key/0000000000000000"
ARN = f"arn:aws:bedrock:{REGION}::foundation-model/amazon.rerank-v1:0"
INVOKE_MODEL = "cohere.rerank-v3-5:0"
#: Headers only boto3 sends: its per-call id and attempt counter (random / per attempt).
BOTO_INTENDED = {
    "header:amz-sdk-invocation-id": "boto3's random id for each call (its retry bookkeeping)",
    "header:amz-sdk-request": "boto3's attempt counter ('attempt=1; max=3')",
}


def boto_client(service: str, url: str) -> Any:
    return boto3.client(
        service,
        region_name=REGION,
        endpoint_url=url,
        aws_access_key_id=AKID,
        aws_secret_access_key=SECRET,
    )


def ours_bedrock(url: str, **options: Any) -> RerankClient:
    credentials = {"aws_access_key_id": AKID, "aws_secret_access_key": SECRET}
    return RerankClient("bedrock", base_url=url, region=REGION, **{**credentials, **options})


def timeless(wire: Wire) -> Wire:
    """``x-amz-date`` is the signing time (checked for form, then set aside)."""
    stamp = wire.headers.pop("x-amz-date", "")
    assert re.fullmatch(r"\d{8}T\d{6}Z", stamp), stamp
    return wire


def boto_rerank(url: str) -> Any:
    return boto_client("bedrock-agent-runtime", url).rerank(
        queries=[{"type": "TEXT", "textQuery": {"text": QUERY}}],
        sources=[
            {
                "type": "INLINE",
                "inlineDocumentSource": {"type": "TEXT", "textDocument": {"text": d}},
            }
            for d in DOCS[:2]
        ]
        + [
            {
                "type": "INLINE",
                "inlineDocumentSource": {"type": "JSON", "jsonDocument": {"text": DOCS[2], "n": 1}},
            }
        ],
        rerankingConfiguration={
            "type": "BEDROCK_RERANKING_MODEL",
            "bedrockRerankingConfiguration": {
                "modelConfiguration": {"modelArn": ARN},
                "numberOfResults": 2,
            },
        },
    )


RERANK_ANSWER = {
    "results": [{"index": 1, "relevanceScore": 0.9}, {"index": 2, "relevanceScore": 0.3}]
}
OUR_DOCS: list[Any] = [DOCS[0], DOCS[1], {"text": DOCS[2], "n": 1}]


def test_bedrock_rerank_same_request_and_reading(recorder: Loopback) -> None:
    recorder.script(Answer(200, RERANK_ANSWER))
    sdk_answer = boto_rerank(recorder.url)
    with ours_bedrock(recorder.url) as client:
        ours = client.rerank(model=ARN, query=QUERY, documents=OUR_DOCS, top_n=2)
    sdk_seen, our_seen = (timeless(Wire.of(r)) for r in recorder.received)
    intended = {
        **BOTO_INTENDED,
        "header:accept": "boto3 sends no Accept; we ask for JSON",
    }
    assert_same_wire(sdk_seen, our_seen, intended, sigv4)
    assert sigv4(our_seen.headers)[1] == f"{REGION}/bedrock/aws4_request"
    expected = [(r["index"], r["relevanceScore"]) for r in sdk_answer["results"]]
    assert [(r.index, r.relevance_score) for r in ours.results] == expected
    # The answer has no usage (RerankResponse in the service model): ours is an estimate.
    assert "usage" not in {k for k in sdk_answer if k != "ResponseMetadata"}
    assert ours.usage.estimated is True


INVOKE_ANSWER = {
    "id": "inv-1",
    "results": [{"index": 1, "relevance_score": 0.8}, {"index": 2, "relevance_score": 0.2}],
}


def boto_invoke(url: str) -> Any:
    body = {"query": QUERY, "documents": DOCS, "top_n": 2, "api_version": 2}
    answer = boto_client("bedrock-runtime", url).invoke_model(
        modelId=INVOKE_MODEL,
        body=json.dumps(body),
        contentType="application/json",
        accept="application/json",
    )
    return json.loads(answer["body"].read())


def test_bedrock_invoke_model_same_request_and_reading(recorder: Loopback) -> None:
    # SigV4 only: boto3 sends a Bedrock API key (bearer) only to an HTTPS endpoint, and the
    # recorder is plain HTTP, so the bearer form is checked in tests/test_bedrock.py instead.
    recorder.script(Answer(200, INVOKE_ANSWER))
    sdk_answer = boto_invoke(recorder.url)
    with ours_bedrock(recorder.url) as client:
        ours = client.rerank(model=INVOKE_MODEL, query=QUERY, documents=DOCS, top_n=2)
    sdk_seen, our_seen = (timeless(Wire.of(r)) for r in recorder.received)
    assert our_seen.path == sdk_seen.path == "/model/cohere.rerank-v3-5%3A0/invoke"
    assert_same_wire(sdk_seen, our_seen, BOTO_INTENDED, sigv4)
    expected = [(r["index"], r["relevance_score"]) for r in sdk_answer["results"]]
    assert [(r.index, r.relevance_score) for r in ours.results] == expected


def modeled_errors(service: str, operation: str) -> list[tuple[str, int]]:
    model = boto3.session.Session().client(service, region_name=REGION).meta.service_model
    shapes = model.operation_model(operation).error_shapes
    return [(s.name, s.metadata["error"]["httpStatusCode"]) for s in shapes]


#: Every modeled error of each operation, plus a 429 and a 500 with no modeled code.
ERRORS = [
    (api, code, status)
    for api, service, operation in (
        ("rerank", "bedrock-agent-runtime", "Rerank"),
        ("invoke", "bedrock-runtime", "InvokeModel"),
    )
    for code, status in [*modeled_errors(service, operation), ("", 429), ("", 500), ("", 401)]
]


@pytest.mark.parametrize(("api", "code", "status"), ERRORS)
def test_bedrock_errors_as_botocore_standard_mode(
    recorder: Loopback, monkeypatch: pytest.MonkeyPatch, api: str, code: str, status: int
) -> None:
    headers = {"x-amzn-ErrorType": f"{code}:http://internal.amazon.com/"} if code else {}
    if status == 429:
        headers["Retry-After"] = "0"
    recorder.script(Answer(status, {"message": f"scripted {code or status}"}, headers))
    with no_backoff_sleeps(monkeypatch):
        with pytest.raises(botocore_exceptions.ClientError) as sdk_raised:
            boto_rerank(recorder.url) if api == "rerank" else boto_invoke(recorder.url)
        sdk_retries = retries(recorder.received)
        recorder.received.clear()
        model = ARN if api == "rerank" else INVOKE_MODEL
        with ours_bedrock(recorder.url) as client, pytest.raises(RerankError) as ours:
            client.rerank(model=model, query=QUERY, documents=DOCS, top_n=2)
        our_retries = retries(recorder.received)
    assert our_category(ours.value) == sdk_category(sdk_raised.value, status)
    assert our_retries == sdk_retries, (
        f"{api} {code or status}: boto3 {sdk_retries}, ours {our_retries}"
    )
    assert ours.value.retryable is (sdk_retries > 0)
    assert ours.value.retryable is bedrock.retryable(api, status, code or None)


def test_bedrock_empty_text_refused_like_boto3(recorder: Loopback) -> None:
    client = boto_client("bedrock-agent-runtime", recorder.url)
    with pytest.raises(botocore_exceptions.ParamValidationError, match="sources\\[1\\]"):
        client.rerank(
            queries=[{"type": "TEXT", "textQuery": {"text": QUERY}}],
            sources=[
                {
                    "type": "INLINE",
                    "inlineDocumentSource": {"type": "TEXT", "textDocument": {"text": t}},
                }
                for t in ("a", "")
            ],
            rerankingConfiguration={
                "type": "BEDROCK_RERANKING_MODEL",
                "bedrockRerankingConfiguration": {"modelConfiguration": {"modelArn": ARN}},
            },
        )
    with ours_bedrock(recorder.url) as ours, pytest.raises(RerankError, match="document 1"):
        ours.rerank(model=ARN, query=QUERY, documents=["a", ""])
    assert recorder.received == []  # neither sent anything
