"""IBM watsonx.ai (providers-more.md section 2): cassette round trips with the IAM exchange, sync
and async; the token over the loopback; options, refusals and errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs

import pytest
from vcr.cassette import Cassette

from tests.support import cassettes
from tests.support.cassettes import cassette, key
from tests.support.loopback import Answer, Loopback
from tests.support.provider_cases import CAPITALS_ANSWER_SECOND as CAPITALS
from tests.support.provider_cases import HOTELS, call
from tests.support.tokens import fresh_tokens  # noqa: F401  (autouse)
from unified_rerank import (
    AuthenticationError,
    InvalidRequestError,
    ProviderError,
    RateLimitError,
    RerankClient,
)
from unified_rerank.providers import _tokens
from unified_rerank.providers.base import RawResponse
from unified_rerank.providers.watsonx import error as watsonx_error
from unified_rerank.schema import RerankRequest
from unified_rerank.transport import RetryPolicy

MODEL = "cross-encoder/ms-marco-minilm-l-12-v2"
URL = "https://us-south.ml.cloud.ibm.com"


# -- cassettes holding a form-encoded IAM exchange ---------------------------------------------


def _form_or_json_body(r1: Any, r2: Any) -> None:
    """The IAM exchange is a form body (compared field by field); everything else JSON."""

    def form(request: Any) -> dict[str, list[str]] | None:
        body = request.body or b""
        text = body.decode() if isinstance(body, bytes) else body
        return None if text.startswith(("{", "[")) or not text else parse_qs(text)

    a, b = form(r1), form(r2)
    if a is None and b is None:
        cassettes._json_body(r1, r2)
    else:
        assert a == b, f"form bodies differ: {a} != {b}"


def _scrub_tokens(response: dict[str, Any]) -> dict[str, Any]:
    """When re-recording: no real IAM access token is written to a cassette."""
    body = response.get("body", {}).get("string")
    try:
        answer = json.loads(body) if body else None
    except ValueError:
        return response
    if isinstance(answer, dict) and "access_token" in answer:
        answer.update({k: "REDACTED" for k in ("access_token", "refresh_token") if k in answer})
        response["body"]["string"] = json.dumps(answer).encode()
    return response


cassettes.VCR.register_matcher("form_or_json_body", _form_or_json_body)


@contextmanager
def wx_cassette(name: str) -> Iterator[Cassette]:
    with cassette(
        "watsonx",
        name,
        match_on=("method", "uri", "form_or_json_body"),
        filter_post_data_parameters=[("apikey", "REDACTED")],
        before_record_response=_scrub_tokens,
    ) as cass:
        yield cass


def client(**kw: Any) -> RerankClient:
    options = {"url": URL, "project_id": "proj-1", **kw}
    return RerankClient("watsonx", api_key=key("WATSONX_APIKEY"), max_retries=0, **options)


# -- round trips -------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_basic_round_trip(mode: str) -> None:
    with wx_cassette("rerank_basic"):
        resp = await call(
            client(),
            mode,
            model=MODEL,
            query="capital of France?",
            documents=CAPITALS,
            top_n=2,
            return_documents=True,
        )
    dumped = resp.model_dump(exclude_none=True)
    assert dumped["id"].startswith("rerank-")
    del dumped["id"]
    assert dumped == {
        "object": "list",
        # Sorted here: the server's order is not relied on (the SDK sorts too).
        "results": [
            {"index": 1, "relevance_score": 9.3671, "document": {"text": CAPITALS[1]}},
            {"index": 2, "relevance_score": 2.1855, "document": {"text": CAPITALS[2]}},
        ],
        "model": MODEL,
        "usage": {"total_tokens": 31},
        "provider": "watsonx",
    }


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_space_objects_truncation_raw_negative_scores(mode: str) -> None:
    with wx_cassette("rerank_space_objects"):
        resp = await call(
            client(project_id=None, space_id="space-9"),
            mode,
            model=MODEL,
            query="quiet hotel for business travel",
            documents=HOTELS,
            rank_fields=["title", "text"],
            max_tokens_per_doc=256,
            truncation=True,
            priority=3,  # dropped: no such field
            return_documents=True,
        )
    assert [(r.index, r.relevance_score) for r in resp.results] == [
        (2, 2.9258),
        (0, -0.9204),  # raw scores: negative ones are kept as they are
        (1, -3.1875),
    ]
    assert resp.results[1].document == HOTELS[0]  # back-filled: every field kept
    assert resp.usage.total_tokens == 64


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_400_errors_body_becomes_invalid_request(mode: str) -> None:
    with wx_cassette("error_400"), pytest.raises(InvalidRequestError) as info:
        await call(client(), mode, model="nope", query="q", documents=["a"])
    err = info.value
    assert err.status_code == 400 and err.code == "model_not_supported"
    assert err.message == "Model 'nope' is not supported for this environment."


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_iam_refusing_the_key_is_an_authentication_error_before_any_rerank(
    mode: str,
) -> None:
    with wx_cassette("iam_refused"), pytest.raises(AuthenticationError) as info:
        await call(client(), mode, model=MODEL, query="q", documents=["a"])
    assert "Provided API key could not be found" in str(info.value)
    assert info.value.code == "BXNIM0415E" and not info.value.retryable


async def test_one_token_for_sync_and_async_calls_then_refreshed_near_expiry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [1_800_000_000.0]
    monkeypatch.setattr(_tokens, "wall_clock", lambda: now[0])
    fields: dict[str, Any] = dict(model=MODEL, query="capital of France?", documents=CAPITALS[:2])
    c = client()
    with wx_cassette("token_lifecycle"):  # IAM, rerank, rerank, IAM, rerank: in this order
        first = c.rerank(**fields)
        now[0] += 3600 - 900 - 1
        second = await c.arerank(**fields)
        now[0] += 1  # 15 minutes before expiry: exchanged again
        third = await c.arerank(**fields)
    assert [r.index for r in first.results] == [1, 0]
    assert first.results == second.results == third.results


async def test_a_401_makes_the_next_call_exchange_again() -> None:
    fields: dict[str, Any] = dict(model=MODEL, query="capital of France?", documents=CAPITALS[:2])
    c = client()
    with wx_cassette("token_rejected"):
        with pytest.raises(AuthenticationError) as info:
            c.rerank(**fields)
        assert info.value.status_code == 401 and not info.value.retryable
        resp = await c.arerank(**fields)
    assert resp.results[0].index == 1


# -- the wire, over the loopback ---------------------------------------------------------------


@pytest.fixture
def server() -> Iterator[Loopback]:
    lb = Loopback().start()
    yield lb
    lb.stop()


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_the_key_goes_to_iam_only_and_the_token_to_the_service(
    server: Loopback, mode: str
) -> None:
    server.script(
        Answer(200, {"access_token": "tok.en.1", "expires_in": 3600}),
        Answer(503, {"errors": [{"code": "busy", "message": "try later"}]}),
        Answer(200, {"model_id": MODEL, "results": [{"index": 0, "score": 0.5}]}),
    )
    c = RerankClient(
        "watsonx",
        api_key="secret-api-key",
        url=server.url,
        iam_url=server.url + "/identity/token",
        project_id="p",
        retry_policy=RetryPolicy(max_retries=1, base_delay=0.0),
    )
    resp = await call(c, mode, model=MODEL, query="q", documents=["a"])
    assert resp.results[0].relevance_score == 0.5
    iam, busy, ok = server.received
    assert iam.path == "/identity/token"
    assert parse_qs(iam.body.decode()) == {
        "apikey": ["secret-api-key"],
        "grant_type": ["urn:ibm:params:oauth:grant-type:apikey"],
    }
    for sent in (busy, ok):  # the retry after a 503 reuses the token
        assert sent.path == "/ml/v1/text/rerank?version=2026-10-14"
        assert sent.headers["Authorization"] == "Bearer tok.en.1"
        assert b"secret-api-key" not in sent.body
        assert "secret-api-key" not in json.dumps(sent.headers)


def test_plan_refusals_before_any_io() -> None:
    def plan(options: dict[str, Any], **fields: Any) -> Any:
        c = RerankClient("watsonx", api_key="k", **options)
        return c._plan(dict(model=MODEL, query="q", documents=["a"], **fields))

    ok: dict[str, Any] = {"url": URL, "project_id": "p"}
    cases: list[tuple[dict[str, Any], dict[str, Any], str]] = [
        ({"project_id": "p"}, {}, "needs the endpoint of your region"),
        ({"url": URL}, {}, "needs a project or a deployment space"),
        ({**ok, "space_id": "s"}, {}, "not both"),
        ({**ok, "version": "latest"}, {}, "must be a date"),
        (ok, {"truncation": True}, "max_tokens_per_doc=N"),
        (ok, {"parameters": {"return_options": {}}}, "accepts only"),
        (ok, {"max_tokens_per_doc": 5, "parameters": {"truncate_input_tokens": 6}}, "differ"),
        (ok, {"max_tokens_per_doc": 5, "truncation": False}, "contradicts"),
    ]
    for options, fields, match in cases:
        with pytest.raises(InvalidRequestError, match=match):
            plan(options, **fields)
    with pytest.raises(InvalidRequestError, match="deployments"):
        RerankClient("watsonx", api_key="k", **ok)._plan(
            dict(model="deployment/abc", query="q", documents=["a"])
        )
    with pytest.raises(AuthenticationError, match="WATSONX_APIKEY or WATSONX_API_KEY"):
        RerankClient("watsonx", **ok)._plan(dict(model=MODEL, query="q", documents=["a"]))


def test_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATSONX_API_KEY", "from-env")
    monkeypatch.setenv("WATSONX_URL", "https://eu-de.ml.cloud.ibm.com/")
    monkeypatch.setenv("WATSONX_SPACE_ID", "space-env")
    monkeypatch.setenv("WATSONX_IAM_URL", "https://iam.example.test/identity/token")
    plan = RerankClient("watsonx")._plan(dict(model=MODEL, query="q", documents=["a"], top_n=5))
    (sent,) = plan.calls
    assert sent.url == "https://eu-de.ml.cloud.ibm.com/ml/v1/text/rerank?version=2026-10-14"
    assert json.loads(sent.body) == {
        "model_id": MODEL,
        "query": "q",
        "inputs": [{"text": "a"}],
        "parameters": {"return_options": {"top_n": 1}},  # capped at the document count
        "space_id": "space-env",
    }
    assert "Authorization" not in sent.headers  # the token comes per attempt
    monkeypatch.setenv("WATSONX_PROJECT_ID", "proj-env")  # a project wins, as in the SDK
    body = RerankClient("watsonx")._plan(dict(model=MODEL, query="q", documents=["a"])).calls[0]
    assert json.loads(body.body)["project_id"] == "proj-env"


def test_the_url_option_wins_over_base_url_and_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WATSONX_URL", "https://eu-de.ml.cloud.ibm.com")
    fields = dict(model=MODEL, query="q", documents=["a"])
    c = RerankClient("watsonx", api_key="k", project_id="p", url=URL)
    assert c._plan(dict(fields)).calls[0].url.startswith(URL + "/ml/v1/")
    c = RerankClient("watsonx", api_key="k", project_id="p")
    assert c._plan(dict(fields)).calls[0].url.startswith("https://eu-de.ml.cloud.ibm.com/")


def test_no_window_limit_is_invented() -> None:
    c = RerankClient("watsonx", api_key="k", url=URL, project_id="p")
    assert len(c._plan(dict(model=MODEL, query="q", documents=["d"] * 5000)).calls) == 1


def test_error_mapping_uses_the_sdk_retry_set() -> None:
    req = RerankRequest.create(model=MODEL, query="q", documents=["a"])

    def err(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> Any:
        return watsonx_error(RawResponse(status, headers or {}, body), req)

    limited = err(
        429, b'{"errors":[{"code":"rate_limit","message":"slow down"}]}', {"retry-after": "2"}
    )
    assert isinstance(limited, RateLimitError) and limited.retryable and limited.retry_after == 2
    for status in (503, 504, 520):
        assert isinstance(err(status), ProviderError) and err(status).retryable
    for status in (500, 502):  # not retried by the SDK either
        assert isinstance(err(status), ProviderError) and not err(status).retryable
    assert isinstance(err(403), AuthenticationError)
    html = err(502, b"<html>bad gateway</html>")
    assert "bad gateway" in html.message
