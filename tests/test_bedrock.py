"""The bedrock provider: cassettes for both APIs, request building, validation, errors.

Signing, credentials and retries against a loopback server are in test_bedrock_signing.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.cassettes import RECORDING, cassette
from unified_rerank import (
    APITimeoutError,
    AuthenticationError,
    InvalidRequestError,
    ProviderError,
    RateLimitError,
    RerankClient,
    arerank,
    rerank,
)
from unified_rerank.providers import _aws, bedrock
from unified_rerank.providers.base import ClientConfig, HttpCall, RawResponse
from unified_rerank.schema import RerankRequest

# --- an isolated AWS environment (shared with test_bedrock_signing.py) ----------------------

#: Variables botocore's credential chain and region lookup read; none may leak into a test.
AWS_VARS = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_BEARER_TOKEN_BEDROCK",
)

#: Dummy credentials, as botocore's own tests use (AKIA-looking strings trip the scanner).
DUMMY: dict[str, Any] = {
    "aws_access_key_id": "testing",
    "aws_secret_access_key": "testing-secret",
    "aws_session_token": "testing-token",
}

ARN_COHERE = "arn:aws:bedrock:us-west-2::foundation-model/cohere.rerank-v3-5:0"
ARN_AMAZON = "arn:aws:bedrock:us-west-2::foundation-model/amazon.rerank-v1:0"


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """No ambient AWS configuration: empty config files, no metadata lookups, no cache."""
    if not RECORDING:
        for name in AWS_VARS:
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
        monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    _aws.clear_cache()
    yield tmp_path
    _aws.clear_cache()


def creds() -> dict[str, Any]:
    """Dummy credentials when replaying; the real credential chain when recording."""
    return {} if RECORDING else dict(DUMMY)


def plan_calls(c: RerankClient, **fields: Any) -> list[HttpCall]:
    return c._plan(fields).calls


def body_of(call: HttpCall) -> Any:
    return json.loads(call.body)


class Capture:
    """httpx clients whose request hook keeps each sent request's headers (the cassette's
    copies have the signature headers filtered out)."""

    def __init__(self) -> None:
        self.headers: list[dict[str, str]] = []

    def _keep(self, request: httpx.Request) -> None:
        self.headers.append({k.lower(): v for k, v in request.headers.items()})

    async def _akeep(self, request: httpx.Request) -> None:
        self._keep(request)

    def client(self) -> httpx.Client:
        return httpx.Client(event_hooks={"request": [self._keep]})

    def async_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(event_hooks={"request": [self._akeep]})


# --- cassettes ---------------------------------------------------------------------------------


def test_agent_runtime_text_and_json_sources() -> None:
    cap = Capture()
    with (
        cassette("bedrock", "rerank_text_and_json"),
        RerankClient("bedrock", max_retries=0, http_client=cap.client(), **creds()) as c,
    ):
        resp = c.rerank(
            model=ARN_COHERE,
            query="capital of France?",
            documents=[
                "Paris is the capital.",
                {"title": "Germany", "text": "Berlin is in Germany."},
            ],
            top_n=2,
            return_documents=True,
            priority=3,  # a scheduling hint: dropped, the body has no place for it
        )
    assert resp.model_dump(exclude_none=True) == {
        "id": "3f1e2d4c-0000-4000-8000-00000000b001",
        "object": "list",
        "results": [
            {"index": 0, "relevance_score": 0.8893, "document": {"text": "Paris is the capital."}},
            {
                "index": 1,
                "relevance_score": 0.0121,
                "document": {"title": "Germany", "text": "Berlin is in Germany."},
            },
        ],
        "model": ARN_COHERE,
        "usage": {"search_units": 1, "estimated": True},
        "provider": "bedrock",
    }
    if not RECORDING:
        (headers,) = cap.headers
        assert (
            headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=testing/")
            and "/us-west-2/bedrock/aws4_request" in headers["authorization"]
        )
        assert headers["x-amz-security-token"] == "testing-token" and "x-amz-date" in headers


async def test_agent_runtime_bare_id_objects_rank_fields_async() -> None:
    docs = [
        {"title": "Airport Inn", "text": "airport hotel with meeting rooms", "id": 7},
        {"title": "Sunny Beach", "text": "beach resort with nightlife", "id": 8},
        {"title": "Old Town", "text": "calm boutique hotel near the business district", "id": 9},
    ]
    with cassette("bedrock", "rerank_objects_bare_id"):
        async with RerankClient("bedrock", region="us-east-1", max_retries=0, **creds()) as c:
            resp = await c.arerank(
                model="amazon.rerank-v1:0",
                query="quiet hotel for business travel",
                documents=docs,
                rank_fields=["title", "text"],
                parameters={"custom_flag": True},
                return_documents=True,
            )
    assert [r.index for r in resp.results] == [2, 0, 1]
    assert [r.relevance_score for r in resp.results] == [0.71, 0.402, 0.0031]
    assert resp.results[1].document == docs[0]  # every field back, `id` included
    assert resp.id.startswith("rerank-") and resp.model == "amazon.rerank-v1:0"


#: Objects are rendered as for Cohere v2 ("field: value" lines with rank_fields).
COHERE_DOCS: list[Any] = [
    "Paris is the capital.",
    "Berlin is in Germany.",
    {"title": "Lyon", "text": "Lyon is in France."},
]


def test_invoke_model_cohere_sigv4() -> None:
    cap = Capture()
    with (
        cassette("bedrock", "invoke_cohere"),
        RerankClient(
            "bedrock", region="us-east-1", max_retries=0, http_client=cap.client(), **creds()
        ) as c,
    ):
        resp = c.rerank(
            model="cohere.rerank-v3-5:0",
            query="capital of France?",
            documents=COHERE_DOCS,
            rank_fields=["title", "text"],
            top_n=2,
            max_tokens_per_doc=512,
        )
    assert [(r.index, r.relevance_score) for r in resp.results] == [(0, 0.9012), (2, 0.2217)]
    assert resp.id == "7b2d9c1e-0000-4000-8000-00000000b002"
    assert resp.usage.search_units == 1 and resp.usage.estimated is True
    if not RECORDING:
        assert cap.headers[0]["authorization"].startswith("AWS4-HMAC-SHA256 ")


async def test_invoke_model_cohere_bearer_key_async(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", "test-key-not-a-secret")
    cap = Capture()
    with cassette("bedrock", "invoke_cohere"):
        # No provider=: "bedrock/" selects it and is stripped from the model id.
        async with RerankClient(
            region="us-east-1", max_retries=0, async_http_client=cap.async_client()
        ) as c:
            resp = await c.arerank(
                model="bedrock/cohere.rerank-v3-5:0",
                query="capital of France?",
                documents=COHERE_DOCS,
                rank_fields=["title", "text"],
                top_n=2,
                max_tokens_per_doc=512,
            )
    assert resp.provider == "bedrock" and resp.model == "cohere.rerank-v3-5:0"
    assert [r.index for r in resp.results] == [0, 2]
    (headers,) = cap.headers
    assert headers["authorization"] == "Bearer test-key-not-a-secret"
    assert "x-amz-date" not in headers


def test_not_found_names_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    with cassette("bedrock", "not_found"), pytest.raises(InvalidRequestError) as info:
        rerank(
            model="bedrock/cohere.rerank-v9:0",
            query="q",
            documents=["a"],
            api_key="test-key-not-a-secret",
            max_retries=0,
        )
    err = info.value
    assert err.status_code == 404 and err.code == "ResourceNotFoundException"
    assert "cohere.rerank-v9:0" in str(err) and "invalid" in str(err)


async def test_not_found_async_one_shot(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", "test-key-not-a-secret")
    with cassette("bedrock", "not_found"), pytest.raises(InvalidRequestError, match="invalid"):
        await arerank(model="bedrock/cohere.rerank-v9:0", query="q", documents=["a"], max_retries=0)


# --- routing, endpoints, bodies ----------------------------------------------------------------


def test_routing() -> None:
    assert bedrock.route(ARN_COHERE) == bedrock.Route("rerank", ARN_COHERE, "us-west-2")
    assert bedrock.route("cohere.rerank-v3-5:0").api == "invoke"
    assert bedrock.route("amazon.rerank-v1:0") == bedrock.Route("rerank", "amazon.rerank-v1:0")
    for bad in ("BAAI/bge-reranker", "cohere.rerank v3", "arn:aws:s3:::bucket/x", "x" * 3000):
        with pytest.raises(InvalidRequestError, match="not a Bedrock rerank model"):
            bedrock.route(bad)


def test_bare_amazon_id_becomes_the_region_arn() -> None:
    c = RerankClient("bedrock", region="eu-central-1", **DUMMY)
    (call,) = plan_calls(c, model="amazon.rerank-v1:0", query="q", documents=["a", "b"])
    assert call.url == "https://bedrock-agent-runtime.eu-central-1.amazonaws.com/rerank"
    config = body_of(call)["rerankingConfiguration"]["bedrockRerankingConfiguration"]
    assert config == {
        "modelConfiguration": {
            "modelArn": "arn:aws:bedrock:eu-central-1::foundation-model/amazon.rerank-v1:0"
        },
        "numberOfResults": 2,  # top_n unset: every document comes back
    }
    china = RerankClient("bedrock", region="cn-north-1", **DUMMY)
    (call,) = plan_calls(china, model="amazon.rerank-v1:0", query="q", documents=["a"])
    assert call.url == "https://bedrock-agent-runtime.cn-north-1.amazonaws.com.cn/rerank"
    assert "arn:aws-cn:bedrock:cn-north-1::" in call.body.decode()


def test_top_n_is_capped_at_the_documents() -> None:
    c = RerankClient("bedrock", **DUMMY)
    (call,) = plan_calls(c, model=ARN_AMAZON, query="q", documents=["a", "b"], top_n=5)
    assert (
        body_of(call)["rerankingConfiguration"]["bedrockRerankingConfiguration"]["numberOfResults"]
        == 2
    )


def test_region_precedence(monkeypatch: pytest.MonkeyPatch, aws_env: Path) -> None:
    def region_of(model: str, **options: Any) -> str:
        c = RerankClient("bedrock", **DUMMY, **options)
        (call,) = plan_calls(c, model=model, query="q", documents=["a"])
        return call.url.split("//")[1].split(".")[1]

    (aws_env / "config").write_text("[default]\nregion = ap-south-1\n")
    assert region_of("cohere.rerank-v3-5:0") == "ap-south-1"  # the profile, last resort
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-3")
    assert region_of("cohere.rerank-v3-5:0") == "eu-west-3"
    monkeypatch.setenv("AWS_REGION", "eu-west-2")
    assert region_of("cohere.rerank-v3-5:0") == "eu-west-2"
    assert region_of(ARN_COHERE) == "us-west-2"  # the ARN names where its model lives
    assert region_of(ARN_COHERE, region="us-east-1") == "us-east-1"  # explicit wins


def test_missing_region_is_an_error_before_any_call() -> None:
    c = RerankClient("bedrock", **DUMMY)
    with pytest.raises(InvalidRequestError, match=r"region=.*AWS_REGION"):
        c.rerank(model="cohere.rerank-v3-5:0", query="q", documents=["a"])
    with pytest.raises(InvalidRequestError, match="region must be"):
        RerankClient("bedrock", region="us-east-1.evil.com/").rerank(
            model="cohere.rerank-v3-5:0", query="q", documents=["a"]
        )


def test_base_url_takes_the_path_for_both_apis() -> None:
    c = RerankClient(
        "bedrock", base_url="https://vpce-1.example.test/", region="us-east-1", **DUMMY
    )
    (call,) = plan_calls(c, model=ARN_COHERE, query="q", documents=["a"])
    assert call.url == "https://vpce-1.example.test/rerank" and call.signer is not None
    (call,) = plan_calls(c, model="cohere.rerank-v3-5:0", query="q", documents=["a"])
    assert call.url == "https://vpce-1.example.test/model/cohere.rerank-v3-5%3A0/invoke"
    # A bearer key with a base_url needs no region at all.
    keyed = RerankClient("bedrock", base_url="http://127.0.0.1:9", api_key="test-key-not-a-secret")
    (call,) = plan_calls(keyed, model="cohere.rerank-v3-5:0", query="q", documents=["a"])
    assert call.url == "http://127.0.0.1:9/model/cohere.rerank-v3-5%3A0/invoke"
    assert call.signer is None and call.headers["Authorization"] == "Bearer test-key-not-a-secret"


def test_invoke_body_drops_priority_and_passes_parameters() -> None:
    c = RerankClient("bedrock", region="us-east-1", **DUMMY)
    (call,) = plan_calls(
        c,
        model="cohere.rerank-v3-5:0",
        query="q",
        documents=["a", {"text": "b", "title": "T"}],
        priority=5,
        parameters={"return_documents": False},
    )
    assert body_of(call) == {
        "query": "q",
        "documents": ["a", "b"],
        "api_version": 2,
        "return_documents": False,
    }
    with pytest.raises(InvalidRequestError, match="conflicts"):
        plan_calls(
            c,
            model="cohere.rerank-v3-5:0",
            query="q",
            documents=["a"],
            top_n=1,
            parameters={"top_n": 3},
        )
    with pytest.raises(InvalidRequestError, match="truncation=False"):
        plan_calls(c, model="cohere.rerank-v3-5:0", query="q", documents=["a"], truncation=False)


def test_additional_model_request_fields() -> None:
    c = RerankClient("bedrock", **DUMMY)
    (call,) = plan_calls(
        c, model=ARN_COHERE, query="q", documents=["a"], max_tokens_per_doc=256, parameters={"x": 1}
    )
    model_config = body_of(call)["rerankingConfiguration"]["bedrockRerankingConfiguration"][
        "modelConfiguration"
    ]
    assert model_config["additionalModelRequestFields"] == {"x": 1, "max_tokens_per_doc": 256}
    # Not known for Amazon's model: refused, never silently dropped.
    with pytest.raises(InvalidRequestError, match="max_tokens_per_doc"):
        plan_calls(c, model=ARN_AMAZON, query="q", documents=["a"], max_tokens_per_doc=256)
    with pytest.raises(InvalidRequestError, match="conflicts"):
        plan_calls(
            c,
            model=ARN_COHERE,
            query="q",
            documents=["a"],
            max_tokens_per_doc=256,
            parameters={"max_tokens_per_doc": 100},
        )


def test_text_limit_names_the_document_unless_truncation() -> None:
    c = RerankClient("bedrock", **DUMMY)
    long = "x" * 32_001
    docs: list[Any] = ["ok", long]
    with pytest.raises(InvalidRequestError, match="document 1 has 32001 characters"):
        plan_calls(c, model=ARN_COHERE, query="q", documents=docs)
    with pytest.raises(InvalidRequestError, match="document 0 has"):
        plan_calls(c, model=ARN_COHERE, query="q", documents=[{"text": long, "t": "x"}])
    with pytest.raises(InvalidRequestError, match="the query has 32001"):
        plan_calls(c, model=ARN_COHERE, query=long, documents=["a"])
    exactly = "y" * 32_000  # the limit itself is fine
    plan_calls(c, model=ARN_COHERE, query=exactly, documents=[exactly])
    (call,) = plan_calls(
        c,
        model=ARN_COHERE,
        query=long,
        documents=[*docs, {"text": long, "t": "k"}],
        truncation=True,
    )
    body = body_of(call)
    assert len(body["queries"][0]["textQuery"]["text"]) == 32_000
    sources = [s["inlineDocumentSource"] for s in body["sources"]]
    assert sources[0]["textDocument"]["text"] == "ok"
    assert sources[1]["textDocument"]["text"] == "x" * 32_000
    assert sources[2]["jsonDocument"] == {"text": "x" * 32_000, "t": "k"}


def test_more_than_1000_documents_are_split_into_windows() -> None:
    c = RerankClient("bedrock", **DUMMY)
    calls = plan_calls(
        c, model=ARN_COHERE, query="q", documents=[f"d{i}" for i in range(1500)], top_n=10
    )
    assert [len(body_of(x)["sources"]) for x in calls] == [1000, 500]
    assert all(
        body_of(x)["rerankingConfiguration"]["bedrockRerankingConfiguration"]["numberOfResults"]
        == 10
        for x in calls
    )


# --- options, keys and secrets -------------------------------------------------------------------


def test_options_are_checked() -> None:
    with pytest.raises(InvalidRequestError, match="unknown option"):
        RerankClient("bedrock", aws_region="us-east-1")
    for options, match in (
        ({"aws_access_key_id": "testing"}, "both"),
        ({"aws_session_token": "testing"}, "needs aws_access_key_id"),
        ({"aws_access_key_id": 12, "aws_secret_access_key": "s"}, "must be a string"),
        ({"profile": ""}, "profile"),
    ):
        c = RerankClient("bedrock", region="us-east-1", **options)
        with pytest.raises(InvalidRequestError, match=match):
            c.rerank(model=ARN_COHERE, query="q", documents=["a"])


def test_api_key_is_bearer_on_invoke_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", "test-key-not-a-secret")
    c = RerankClient("bedrock", region="us-east-1")
    (invoke,) = plan_calls(c, model="cohere.rerank-v3-5:0", query="q", documents=["a"])
    assert invoke.signer is None
    assert invoke.headers["Authorization"] == "Bearer test-key-not-a-secret"
    # Agent runtime: SigV4 only (API keys there are UNCONFIRMED), never the key.
    (agent,) = plan_calls(c, model=ARN_COHERE, query="q", documents=["a"])
    assert agent.signer is not None and "Authorization" not in agent.headers
    # Explicit SigV4 options win over an ambient key.
    explicit = RerankClient("bedrock", region="us-east-1", **DUMMY)
    (call,) = plan_calls(explicit, model="cohere.rerank-v3-5:0", query="q", documents=["a"])
    assert call.signer is not None and "Authorization" not in call.headers


def test_no_secret_in_any_repr_or_message() -> None:
    secret = "sEcReT-value-0123456789"
    c = RerankClient(
        "bedrock",
        region="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key=secret,
        aws_session_token=secret + "-token",
    )
    plan = c._plan(dict(model="cohere.rerank-v3-5:0", query="q", documents=["a"]))
    texts = [repr(c), repr(plan.config), repr(plan.calls[0]), str(plan.calls[0])]
    texts.append(repr(bedrock.static_credentials(plan.config)))
    assert not any(secret in t for t in texts), texts
    with pytest.raises(InvalidRequestError) as info:
        RerankClient(
            "bedrock", region="us-east-1", aws_access_key_id=[secret], aws_secret_access_key="x"
        ).rerank(model=ARN_COHERE, query="q", documents=["a"])
    assert secret not in str(info.value) and secret not in repr(info.value)


# --- parsing and errors -------------------------------------------------------------------------


def request(model: str = ARN_COHERE, n: int = 2, **kw: Any) -> RerankRequest:
    return RerankRequest.create(model=model, query="q", documents=[f"d{i}" for i in range(n)], **kw)


def raw(status: int, body: Any, headers: dict[str, str] | None = None) -> RawResponse:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return RawResponse(status, headers or {}, content)


def test_parse_usage_estimate_and_malformed_answers() -> None:
    req = request(n=250)
    items = [{"index": i, "relevanceScore": 1 - i / 1000} for i in range(250)]
    resp = bedrock.parse(raw(200, {"results": items}), req)
    assert resp.usage.search_units == 3 and resp.usage.estimated is True
    assert resp.results[0].index == 0 and len(resp.results) == 250
    for bad in (
        {"results": [{"index": 0, "relevance_score": 0.5}, {"index": 1, "relevanceScore": 0.1}]},
        {"results": [{"index": 5, "relevanceScore": 0.5}]},
        {"nextToken": "abc"},
        [],
    ):
        with pytest.raises(ProviderError, match="malformed"):
            bedrock.parse(raw(200, bad), request())
    # InvokeModel: Cohere shape; billed units are used when Cohere sends them.
    cohere_req = request("cohere.rerank-v3-5:0", n=1)
    billed = {
        "results": [{"index": 0, "relevance_score": 0.3}],
        "meta": {"billed_units": {"search_units": 1}},
    }
    resp = bedrock.parse(raw(200, billed, {"x-amzn-RequestId": "req-1"}), cohere_req)
    assert resp.usage.search_units == 1 and resp.usage.estimated is None and resp.id == "req-1"
    with pytest.raises(ProviderError):
        bedrock.parse(raw(200, {"results": [{"index": 0, "relevanceScore": 0.3}]}), cohere_req)


@pytest.mark.parametrize(
    ("status", "headers", "body", "kind", "code"),
    [
        (
            429,
            {"x-amzn-ErrorType": "ThrottlingException:http://internal.amazon.com/"},
            {"message": "Rate exceeded"},
            RateLimitError,
            "ThrottlingException",
        ),
        (
            429,
            {},
            {"__type": "com.amazon.bedrock#ModelNotReadyException", "message": "warming"},
            RateLimitError,
            "ModelNotReadyException",
        ),
        (
            400,
            {"x-amzn-ErrorType": "ServiceQuotaExceededException"},
            {"message": "quota"},
            RateLimitError,
            "ServiceQuotaExceededException",
        ),
        (
            400,
            {"x-amzn-ErrorType": "ValidationException"},
            {"message": "bad sources"},
            InvalidRequestError,
            "ValidationException",
        ),
        (
            403,
            {},
            {"code": "AccessDeniedException", "Message": "no access"},
            AuthenticationError,
            "AccessDeniedException",
        ),
        (
            403,
            {"x-amzn-ErrorType": "UnrecognizedClientException"},
            {"message": "bad token"},
            AuthenticationError,
            "UnrecognizedClientException",
        ),
        (
            408,
            {"x-amzn-ErrorType": "ModelTimeoutException"},
            {"message": "slow"},
            APITimeoutError,
            "ModelTimeoutException",
        ),
        (
            500,
            {"x-amzn-ErrorType": "InternalServerException"},
            {"message": "oops", "reason": "BEDROCK_MODEL_INVOCATION_SERVICE_UNAVAILABLE"},
            ProviderError,
            "InternalServerException",
        ),
        (
            503,
            {"x-amzn-ErrorType": "ServiceUnavailableException"},
            {"message": "later"},
            ProviderError,
            "ServiceUnavailableException",
        ),
        (
            424,
            {"x-amzn-ErrorType": "ModelErrorException"},
            {"message": "model failed"},
            ProviderError,
            "ModelErrorException",
        ),
        (502, {}, b"<html>bad gateway</html>", ProviderError, None),
        (
            409,
            {"x-amzn-ErrorType": "ConflictException"},
            {"message": "c"},
            InvalidRequestError,
            "ConflictException",
        ),
    ],
)
def test_error_mapping(
    status: int, headers: dict[str, str], body: Any, kind: type, code: str | None
) -> None:
    err = bedrock.error(raw(status, body, headers), request())
    assert type(err) is kind
    assert err.code == code and err.status_code == status and err.provider == "bedrock"
    # botocore's standard retry mode (docs/bedrock.md "Retries"): a quota (400) and a model
    # timeout (408) are not retried; throttling and 5xx are.
    retryable = status in (429, 500, 502, 503, 504)
    assert err.retryable is retryable
    if isinstance(body, dict):
        assert (body.get("message") or body.get("Message")) in str(err)
    if "reason" in (body if isinstance(body, dict) else {}):
        assert "BEDROCK_MODEL_INVOCATION_SERVICE_UNAVAILABLE" in str(err)


def test_resource_not_found_names_the_model() -> None:
    err = bedrock.error(
        raw(404, {"message": "nope"}, {"x-amzn-ErrorType": "ResourceNotFoundException"}),
        request(ARN_AMAZON),
    )
    assert isinstance(err, InvalidRequestError) and ARN_AMAZON in str(err)


def test_config_error_types_are_rerank_errors() -> None:
    config = ClientConfig(provider="bedrock", options={"region": 5})
    with pytest.raises(InvalidRequestError, match="region must be"):
        bedrock.build(request(), config)


@pytest.mark.parametrize(
    ("model", "retried"),
    [(ARN_COHERE, False), ("cohere.rerank-v3-5:0", True)],
)
def test_model_not_ready_retried_where_the_service_model_marks_it(
    model: str, retried: bool
) -> None:
    # bedrock-runtime InvokeModel marks ModelNotReadyException `retryable`; the agent-runtime
    # Rerank operation does not model it (a 424 there is not retried).
    status = 429 if retried else 424
    headers = {"x-amzn-ErrorType": "ModelNotReadyException"}
    err = bedrock.error(raw(status, {"message": "warming"}, headers), request(model))
    assert isinstance(err, RateLimitError) and err.retryable is retried


@pytest.mark.parametrize("documents", [[""], ["a", ""]])
def test_empty_text_refused_before_io_naming_the_index(documents: list[str]) -> None:
    # RerankTextDocument.text has min length 1 in the service model; boto3 refuses it too.
    client = RerankClient(
        "bedrock", region="us-west-2", aws_access_key_id="A", aws_secret_access_key="B"
    )
    with pytest.raises(InvalidRequestError, match=f"document {len(documents) - 1} is an empty"):
        client._plan(dict(model=ARN_COHERE, query="q", documents=documents))
