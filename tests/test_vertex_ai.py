"""Google Vertex AI ranking (providers-more.md section 1): cassette round trips with an access
token, sync and async; Application Default Credentials refreshed by google-auth over the
loopback; the token's expiry on a fixed clock; records, refusals and errors."""

from __future__ import annotations

import datetime
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from tests.support.cassettes import cassette
from tests.support.loopback import Answer, Loopback
from tests.support.provider_cases import CAPITALS_ANSWER_SECOND as CAPITALS
from tests.support.provider_cases import call
from tests.support.tokens import fresh_tokens  # noqa: F401  (autouse)
from unified_rerank import (
    AuthenticationError,
    InvalidRequestError,
    ProviderError,
    RateLimitError,
    RerankClient,
    RerankResponse,
)
from unified_rerank.providers import _tokens, vertex_ai
from unified_rerank.providers.base import RawResponse
from unified_rerank.schema import RerankRequest

MODEL = "semantic-ranker-default@latest"
HOTELS: list[Any] = [
    {"title": "Airport Inn", "text": "airport hotel with meeting rooms", "id": 7},
    {"text": "beach resort with nightlife"},  # no title: none is invented
    {"title": "Old Town", "text": "calm boutique hotel near the business district"},
]
RANK_PATH = "/v1/projects/my-project/locations/global/rankingConfigs/default_ranking_config:rank"


def client(**kw: Any) -> RerankClient:
    # An access token as api_key (cassettes filter the Authorization header).
    options = {"project": "my-project", "api_key": "test-access-token", "max_retries": 0, **kw}
    return RerankClient("vertex-ai", **options)


# -- cassettes ---------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_basic_round_trip(mode: str) -> None:
    with cassette("vertex-ai", "rank_basic"):
        resp = await call(
            client(),
            mode,
            model=MODEL,
            query="capital of France?",
            documents=CAPITALS,
            top_n=2,
            return_documents=True,
            truncation=True,  # what the service does anyway: dropped
            priority=1,
        )
    dumped = resp.model_dump(exclude_none=True)
    del dumped["id"]
    assert dumped == {
        "object": "list",
        "results": [
            {"index": 1, "relevance_score": 0.93, "document": {"text": CAPITALS[1]}},
            {"index": 2, "relevance_score": 0.41, "document": {"text": CAPITALS[2]}},
        ],
        "model": MODEL,
        "usage": {},  # the service reports none, and none is invented
        "provider": "vertex-ai",
    }


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_titles_only_from_the_callers_documents_and_ties_by_index(mode: str) -> None:
    with cassette("vertex-ai", "rank_titles"):
        resp = await call(
            client(),
            mode,
            model=MODEL,
            query="quiet hotel for business travel",
            documents=HOTELS,
            parameters={"userLabels": {"team": "search"}},
            return_documents=True,
        )
    assert [(r.index, r.relevance_score) for r in resp.results] == [(2, 0.87), (0, 0.12), (1, 0.12)]
    assert resp.results[1].document == HOTELS[0]


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_past_the_window_calls_are_split_and_merged(mode: str) -> None:
    with cassette("vertex-ai", "rank_windows"):
        resp = await call(
            client(window_size=2),
            mode,
            model=MODEL,
            query="capital of France?",
            documents=CAPITALS,
            top_n=2,
        )
    assert [(r.index, r.relevance_score) for r in resp.results] == [(1, 0.93), (2, 0.41)]


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_permission_denied_is_an_authentication_error(mode: str) -> None:
    with cassette("vertex-ai", "error_403"), pytest.raises(AuthenticationError) as info:
        await call(client(), mode, model=MODEL, query="q", documents=["a"])
    err = info.value
    assert err.status_code == 403 and err.code == "PERMISSION_DENIED" and not err.retryable
    assert "discoveryengine.rankingConfigs.rank" in err.message


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_resource_exhausted_is_a_retryable_rate_limit(mode: str) -> None:
    with cassette("vertex-ai", "error_429"), pytest.raises(RateLimitError) as info:
        await call(client(), mode, model=MODEL, query="q", documents=["a"])
    assert info.value.code == "RESOURCE_EXHAUSTED" and info.value.retryable


# -- Application Default Credentials through google-auth, over the loopback --------------------


@pytest.fixture
def server() -> Iterator[Loopback]:
    lb = Loopback().start()
    yield lb
    lb.stop()


TOKEN_ANSWER = Answer(200, {"access_token": "ya29.loopback", "expires_in": 3600})
RANK_ANSWER = Answer(200, {"records": [{"id": "0", "score": 0.5}]})


def service_account_file(tmp_path: Path, token_uri: str) -> Path:
    """A service-account key file (a fresh RSA key) whose token endpoint is ``token_uri``."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    info = {
        "type": "service_account",
        "project_id": "my-project",
        "private_key_id": "key-1",
        "private_key": pem,
        "client_email": "ranker@my-project.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": token_uri,
    }
    path = tmp_path / "service-account.json"
    path.write_text(json.dumps(info))
    return path


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_adc_service_account_exchanged_by_google_auth(
    server: Loopback, mode: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = service_account_file(tmp_path, server.url + "/token")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "my-project")
    monkeypatch.setenv("GOOGLE_CLOUD_QUOTA_PROJECT", "billing-project")
    server.script(TOKEN_ANSWER, RANK_ANSWER)
    c = RerankClient("vertex-ai", base_url=server.url, max_retries=0)
    for _ in range(2):  # the second call reuses the token
        resp = await call(c, mode, model=MODEL, query="q", documents=["a"])
        assert resp.results[0].relevance_score == 0.5
    token, *ranks = server.received
    assert token.path == "/token"
    form = parse_qs(token.body.decode())
    # google-auth signed the JWT assertion itself (nothing hand-rolled here).
    assert form["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    assert form["assertion"][0].count(".") == 2
    assert len(ranks) == 2
    for sent in ranks:
        assert sent.path == RANK_PATH
        assert sent.headers["authorization"] == "Bearer ya29.loopback"
        assert sent.headers["x-goog-user-project"] == "billing-project"


async def test_async_refresh_runs_off_the_event_loop(server: Loopback) -> None:
    from google.oauth2.credentials import Credentials

    threads: list[int] = []

    class Recording(Credentials):
        def refresh(self, request: Any) -> None:
            threads.append(threading.get_ident())
            super().refresh(request)  # type: ignore[no-untyped-call]  # google-auth is untyped

    creds = Recording(  # type: ignore[no-untyped-call]  # google-auth is untyped
        token=None,
        refresh_token="r",
        token_uri=server.url + "/token",
        client_id="c",
        client_secret="s",
    )
    server.script(TOKEN_ANSWER, RANK_ANSWER)
    c = RerankClient("vertex-ai", base_url=server.url, project="my-project", credentials=creds)
    await c.arerank(model=MODEL, query="q", documents=["a"])
    assert threads and threads[0] != threading.get_ident()
    assert server.received[1].headers["authorization"] == "Bearer ya29.loopback"


class FakeCredentials:
    """google-auth's credentials interface on a fixed clock (``valid`` as google-auth computes
    it: the token 3 min 45 s before expiry is no longer valid)."""

    def __init__(self, now: list[float]) -> None:
        self.now = now
        self.token: str | None = None
        self.expiry: datetime.datetime | None = None
        self.expires_at = 0.0
        self.refreshes = 0

    @property
    def valid(self) -> bool:
        return self.token is not None and self.now[0] < self.expires_at - 225

    def refresh(self, request: Any) -> None:
        self.refreshes += 1
        self.token = f"token-{self.refreshes}"
        self.expires_at = self.now[0] + 3600
        real_now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
        self.expiry = real_now + datetime.timedelta(seconds=3600)

    def apply(self, headers: dict[str, str]) -> None:
        headers["authorization"] = f"Bearer {self.token}"


async def test_token_refreshed_before_expiry_on_a_fixed_clock(
    server: Loopback, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1_800_000_000.0]
    monkeypatch.setattr(_tokens, "wall_clock", lambda: now[0])
    creds = FakeCredentials(now)
    server.script(RANK_ANSWER)
    c = RerankClient("vertex-ai", base_url=server.url, project="my-project", credentials=creds)
    fields: dict[str, Any] = dict(model=MODEL, query="q", documents=["a"])
    c.rerank(**fields)
    now[0] += 3600 - 225 - 5  # google-auth's threshold, less a margin for the real clock
    await c.arerank(**fields)
    assert creds.refreshes == 1
    now[0] += 10
    c.rerank(**fields)
    assert creds.refreshes == 2
    sent = [r.headers["authorization"] for r in server.received]
    assert sent == ["Bearer token-1", "Bearer token-1", "Bearer token-2"]


async def test_a_401_makes_google_auth_refresh_even_a_token_it_deems_valid(
    server: Loopback,
) -> None:
    creds = FakeCredentials([1_800_000_000.0])
    server.script(
        Answer(401, {"error": {"code": 401, "message": "expired", "status": "UNAUTHENTICATED"}}),
        RANK_ANSWER,
    )
    c = RerankClient(
        "vertex-ai", base_url=server.url, project="my-project", credentials=creds, max_retries=0
    )
    with pytest.raises(AuthenticationError) as info:
        await c.arerank(model=MODEL, query="q", documents=["a"])
    assert info.value.code == "UNAUTHENTICATED"
    c.rerank(model=MODEL, query="q", documents=["a"])
    assert creds.refreshes == 2
    sent = [r.headers["authorization"] for r in server.received]
    assert sent == ["Bearer token-1", "Bearer token-2"]


def test_failed_adc_is_an_authentication_error_naming_the_fixes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    c = RerankClient("vertex-ai", project="my-project", max_retries=0)
    with pytest.raises(AuthenticationError, match="GOOGLE_APPLICATION_CREDENTIALS") as info:
        c.rerank(model=MODEL, query="q", documents=["a"])
    assert "DefaultCredentialsError" in info.value.message


def test_without_google_auth_the_extra_is_named_before_any_io(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(vertex_ai, "has_google_auth", lambda: False)
    with pytest.raises(AuthenticationError, match=r"unified-rerank\[vertex\]"):
        RerankClient("vertex-ai", project="p")._plan(dict(model=MODEL, query="q", documents=["a"]))
    # An access token needs no google-auth.
    plan = RerankClient("vertex-ai", project="p", api_key="tok")._plan(
        dict(model=MODEL, query="q", documents=["a"])
    )
    assert plan.calls[0].headers["Authorization"] == "Bearer tok"


# -- the request, before any I/O ---------------------------------------------------------------


def plan_body(documents: list[Any], **fields: Any) -> dict[str, Any]:
    c = RerankClient("vertex-ai", project="p", api_key="tok")
    sent = c._plan(dict(model=MODEL, query="q", documents=documents, **fields)).calls[0]
    body: dict[str, Any] = json.loads(sent.body)
    return body


def test_records_carry_titles_only_when_the_caller_has_them() -> None:
    doc = {"title": "T", "text": "body", "summary": "S"}

    def records(**fields: Any) -> Any:
        return plan_body([doc, "plain"], **fields)["records"]

    assert records() == [
        {"id": "0", "content": "body", "title": "T"},
        {"id": "1", "content": "plain"},
    ]
    assert records(rank_fields=["text"])[0] == {"id": "0", "content": "body"}
    assert plan_body([doc], rank_fields=["title"])["records"] == [{"id": "0", "title": "T"}]
    assert plan_body([doc], rank_fields=["summary", "text"])["records"] == [
        {"id": "0", "content": "summary: S\ntext: body"}
    ]
    assert plan_body([{"text": "x", "title": 5}])["records"] == [{"id": "0", "content": "x"}]


def test_url_options_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GCLOUD_PROJECT", "legacy-project")
    c = RerankClient("vertex-ai", api_key="tok", location="us", quota_project="qp")
    sent = c._plan(dict(model=MODEL, query="q", documents=["a"], top_n=9)).calls[0]
    assert sent.url == (
        "https://discoveryengine.googleapis.com/v1/projects/legacy-project/locations/us"
        "/rankingConfigs/default_ranking_config:rank"
    )
    assert sent.headers["x-goog-user-project"] == "qp" and sent.credentials is None
    assert json.loads(sent.body)["topN"] == 1  # capped at the document count
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "new-project")  # the current name wins
    sent = c._plan(dict(model=MODEL, query="q", documents=["a"])).calls[0]
    assert "/projects/new-project/" in sent.url


def test_windows_of_200_records() -> None:
    c = RerankClient("vertex-ai", project="p", api_key="tok")
    plan = c._plan(dict(model=MODEL, query="q", documents=[f"d{i}" for i in range(450)]))
    assert [len(json.loads(call.body)["records"]) for call in plan.calls] == [200, 200, 50]


@pytest.mark.parametrize(
    ("options", "fields", "match"),
    [
        ({}, {}, "needs a Google Cloud project"),
        ({"project": "a/b"}, {}, "not a valid name"),
        ({"project": "p", "location": "Europe West"}, {}, "not a valid name"),
        ({"project": "p"}, {"max_tokens_per_doc": 10}, "no `max_tokens_per_doc`"),
        ({"project": "p"}, {"truncation": False}, "truncation=False"),
        ({"project": "p"}, {"parameters": {"ignoreRecordDetailsInResponse": False}}, "only"),
        ({"project": "p"}, {"parameters": {"userLabels": {"a": 1}}}, "strings to strings"),
        ({"project": "p"}, {"documents": ["a", ""]}, "document 1 is empty"),
    ],
)
def test_refused_before_any_io(options: dict[str, Any], fields: dict[str, Any], match: str) -> None:
    request = {"model": MODEL, "query": "q", "documents": ["a"], **fields}
    with pytest.raises(InvalidRequestError, match=match):
        RerankClient("vertex-ai", api_key="tok", **options)._plan(request)


# -- answers and errors ------------------------------------------------------------------------


def parse(body: Any, n: int = 2) -> RerankResponse:
    request = RerankRequest.create(model=MODEL, query="q", documents=["a", "b", "c"][:n])
    return vertex_ai.parse(RawResponse(200, {}, json.dumps(body).encode()), request)


def test_malformed_answers_are_errors_never_rankings() -> None:
    good = parse({"records": [{"id": "1", "score": 0.2}, {"id": "0", "score": 0.1}]})
    assert [r.index for r in good.results] == [1, 0]
    for body, match in [
        ({"records": [{"id": "7", "score": 0.2}, {"id": "0", "score": 0.1}]}, "not one we sent"),
        ({"records": [{"id": "a", "score": 0.2}, {"id": "0", "score": 0.1}]}, "not one we sent"),
        ({"records": [{"id": "0", "score": 0.2}, {"id": "0", "score": 0.1}]}, "ranked twice"),
        ({"records": [{"id": "0", "score": "high"}, {"id": "1", "score": 0.1}]}, "not a number"),
        ({"records": [{"score": 0.2}]}, "`id`"),
        ({}, "0 results for 2 expected"),
        ({"records": {"id": "0"}}, "not a list"),
    ]:
        with pytest.raises(ProviderError, match=match):
            parse(body)


def test_error_mapping_uses_the_transient_set_of_google_api_core() -> None:
    req = RerankRequest.create(model=MODEL, query="q", documents=["a"])

    def err(status: int, body: bytes = b"") -> Any:
        return vertex_ai.error(RawResponse(status, {}, body), req)

    for status in (500, 503):
        assert isinstance(err(status), ProviderError) and err(status).retryable
    for status in (502, 504):
        assert not err(status).retryable
    bad = err(400, b'{"error":{"code":400,"message":"bad topN","status":"INVALID_ARGUMENT"}}')
    assert isinstance(bad, InvalidRequestError) and bad.code == "INVALID_ARGUMENT"
    assert bad.message == "bad topN"
    assert isinstance(err(401), AuthenticationError)
    assert "gateway" in err(502, b"<html>gateway</html>").message
