"""watsonx against IBM's own client: the ibm-watsonx-ai SDK (1.8.1, in .venv-watsonx: it pins
httpx<0.29) and RerankClient make the same call, to the service's real URLs routed to a loopback
recorder; the IAM exchange and the rerank request are compared field by field (method, host,
path, query, auth, headers, form or JSON body), and both read the same answer alike.

Intended differences (what the SDK does and we do not, and why):

- ``GET /v2/projects/{id}`` or ``/v2/spaces/{id}`` on api.dataplatform.cloud.ibm.com: the
  SDK's ``APIClient`` checks the project or space when it is set; a rerank call does not need
  it (a wrong id fails the rerank call itself).
- ``user-agent``, ``accept``, ``accept-encoding``: each library's own defaults (we ask for JSON).
- the IAM form: the SDK does not URL-encode the key, we do (a key holding ``&`` or ``+``
  survives); with a plain key, as here, the two bodies are the same bytes.
- ``content-length`` of the rerank body: JSON spacing (the parsed bodies are compared).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conformance._token_sdk_wire import (
    AsyncToLoopback,
    Recorder,
    Seen,
    ToLoopback,
    header_differences,
)
from tests.support.tokens import fresh_tokens  # noqa: F401  (autouse)
from unified_rerank import RerankClient

ROOT = Path(__file__).resolve().parents[2]
SDK_PYTHON = Path(os.environ.get("UNIFIED_RERANK_WATSONX_VENV", ROOT / ".venv-watsonx"))
SDK_PYTHON = SDK_PYTHON / "bin" / "python"
DRIVER = Path(__file__).with_name("watsonx_sdk_driver.py")

pytestmark = pytest.mark.skipif(
    not SDK_PYTHON.exists(),
    reason="no .venv-watsonx (scripts/watsonx-sdk-venv.sh; skipped with "
    "UNIFIED_RERANK_SKIP_WATSONX_SDK=1)",
)

URL = "https://us-south.ml.cloud.ibm.com"
API_KEY = "conformance-api-key"
MODEL = "cross-encoder/ms-marco-minilm-l-12-v2"
LIBRARY_DEFAULTS = {"user-agent", "accept", "accept-encoding", "connection"}


def iam_token() -> str:
    """A JWT-shaped IAM token: the SDK reads its ``exp``; we read ``expires_in``."""
    now = int(time.time())

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256'})}.{part({'iat': now, 'exp': now + 3600})}.c2ln"


TOKEN = iam_token()
ANSWER = {
    "model_id": MODEL,
    "results": [
        {"index": 1, "score": 7.25},
        {"index": 0, "score": -2.5},
        {"index": 2, "score": 1.0},
    ],
    "created_at": "2026-12-03T09:00:00.000Z",
    "input_token_count": 42,
}


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    routes = {
        "/identity/token": {"access_token": TOKEN, "expires_in": 3600, "token_type": "Bearer"},
        "/ml/v1/text/rerank": ANSWER,
        "/v2/projects/": {"entity": {"storage": {"type": "assetfiles"}}},
        "/v2/spaces/": {"entity": {}},
    }
    with Recorder(routes) as rec:
        yield rec


def sdk_call(recorder: Recorder, scenario: dict[str, Any]) -> Any:
    # Any request the SDK made outside the recorder would hit a closed local port.
    env = {**os.environ, "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}
    done = subprocess.run(
        [str(SDK_PYTHON), str(DRIVER), str(recorder.port), json.dumps(scenario)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


async def our_call(recorder: Recorder, mode: str, scenario: dict[str, Any], **fields: Any) -> Any:
    scope = {k: scenario[k] for k in ("project_id", "space_id") if k in scenario}
    client = RerankClient(
        "watsonx",
        api_key=API_KEY,
        url=URL,
        http_client=httpx.Client(transport=ToLoopback(recorder.port), trust_env=False),
        async_http_client=httpx.AsyncClient(
            transport=AsyncToLoopback(recorder.port), trust_env=False
        ),
        **scope,
    )
    request = dict(model=MODEL, query=scenario["query"], **fields)
    if mode == "sync":
        return client.rerank(**request)
    return await client.arerank(**request)


def by_path(seen: list[Seen], path: str) -> Seen:
    (found,) = [s for s in seen if s.path == path]
    return found


def assert_same_iam_exchange(sdk: Seen, ours: Seen) -> None:
    for side in (sdk, ours):
        assert (side.method, side.host, side.path) == (
            "POST",
            "iam.cloud.ibm.com",
            "/identity/token",
        )
    assert (
        ours.form()
        == sdk.form()
        == {
            "apikey": [API_KEY],
            "grant_type": ["urn:ibm:params:oauth:grant-type:apikey"],
        }
    )
    assert ours.body == sdk.body  # a plain key: the same bytes (see the docstring)
    differences = header_differences(sdk, ours)
    unexplained = set(differences) - LIBRARY_DEFAULTS
    assert not unexplained, {k: differences[k] for k in unexplained}


def assert_same_rerank(sdk: Seen, ours: Seen) -> None:
    for side in (sdk, ours):
        assert (side.method, side.host) == ("POST", "us-south.ml.cloud.ibm.com")
    assert ours.path == sdk.path == "/ml/v1/text/rerank"
    assert ours.query == sdk.query == {"version": ["2026-10-14"]}
    assert ours.headers["authorization"] == sdk.headers["authorization"] == f"Bearer {TOKEN}"
    assert API_KEY not in json.dumps(ours.headers) and API_KEY.encode() not in ours.body
    differences = header_differences(sdk, ours)
    unexplained = set(differences) - LIBRARY_DEFAULTS - {"content-length"}  # JSON spacing
    assert not unexplained, {k: differences[k] for k in unexplained}
    sdk_body, our_body = sdk.json(), ours.json()
    for name in sorted(set(sdk_body) | set(our_body)):
        assert our_body.get(name) == sdk_body.get(name), name


DOCS = ["Berlin is in Germany.", "Paris is the capital.", "The Eiffel Tower is in Paris."]
CASES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    # name: (the SDK scenario, the same call's unified fields)
    "project_top_n": (
        {"project_id": "proj-1", "query": "capital?", "params": {"return_options": {"top_n": 2}}},
        {"documents": DOCS, "top_n": 2},
    ),
    "space_truncation_objects": (
        {
            "space_id": "space-9",
            "query": "capital?",
            "params": {"truncate_input_tokens": 128},
        },
        {
            "documents": [{"text": d, "id": i} for i, d in enumerate(DOCS)],
            "max_tokens_per_doc": 128,
            "truncation": True,
            "return_documents": True,
        },
    ),
}


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("case", sorted(CASES))
async def test_same_exchange_and_request_as_the_sdk(
    recorder: Recorder, case: str, mode: str
) -> None:
    scenario, fields = CASES[case]
    scenario = {**scenario, "url": URL, "api_key": API_KEY, "model_id": MODEL, "inputs": DOCS}
    sdk_answer = sdk_call(recorder, scenario)
    sdk_seen = recorder.take()
    ours = await our_call(recorder, mode, scenario, **fields)
    our_seen = recorder.take()

    # The SDK's only extra request is its project/space check (see the docstring).
    extra = {(s.method, s.host, s.path.rsplit("/", 1)[0]) for s in sdk_seen} - {
        (s.method, s.host, s.path.rsplit("/", 1)[0]) for s in our_seen
    }
    scope = "/v2/projects" if "project_id" in scenario else "/v2/spaces"
    assert extra == {("GET", "api.dataplatform.cloud.ibm.com", scope)}
    assert [s.path for s in our_seen] == ["/identity/token", "/ml/v1/text/rerank"]

    assert_same_iam_exchange(by_path(sdk_seen, "/identity/token"), our_seen[0])
    assert_same_rerank(by_path(sdk_seen, "/ml/v1/text/rerank"), our_seen[1])

    # The same answer read alike (the SDK sorts by score too); ours is cut to top_n.
    expected = sorted(
        ((r["index"], r["score"]) for r in sdk_answer["results"]), key=lambda p: -p[1]
    )
    assert [(r.index, r.relevance_score) for r in ours.results] == expected[: fields.get("top_n")]
    assert ours.usage.total_tokens == sdk_answer["input_token_count"]
