"""vertex-ai against Google's own client: google-cloud-discoveryengine's RankServiceClient (REST
transport) and RerankClient make the same call to a loopback recorder, compared field by field
(method, path, query, auth, headers, JSON body), and both read the same answer alike.

Intended differences (what the SDK sends and we do not, and why):

- query ``$alt=json;enum-encoding=int``: the REST transport's response-format flags; the rank
  messages hold no enums and JSON is the default.
- ``x-goog-api-client``: the SDK's telemetry (library versions).
- ``x-goog-request-params``: the routing header the GAPIC layer adds for gRPC; on REST the
  resource is already in the path.
- ``user-agent`` and ``accept``/``accept-encoding``: each HTTP library's own defaults.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conformance._token_sdk_wire import Recorder, Seen, header_differences
from tests.support.tokens import fresh_tokens  # noqa: F401  (autouse)
from unified_rerank import RerankClient

de = pytest.importorskip("google.cloud.discoveryengine_v1", reason="google-cloud-discoveryengine")
rest = pytest.importorskip(
    "google.cloud.discoveryengine_v1.services.rank_service.transports.rest",
    reason="google-cloud-discoveryengine",
)
oauth2 = pytest.importorskip("google.oauth2.credentials", reason="google-auth")

PROJECT = "my-project"
CONFIG = f"projects/{PROJECT}/locations/global/rankingConfigs/default_ranking_config"
MODEL = "semantic-ranker-default@latest"
ANSWER = {
    "records": [{"id": "2", "score": 0.71}, {"id": "0", "score": 0.7}, {"id": "1", "score": 0.05}]
}

#: Headers only the SDK sends (see the module docstring), and how the libraries differ.
SDK_ONLY = {"x-goog-api-client", "x-goog-request-params"}
LIBRARY_DEFAULTS = {
    "user-agent",
    "accept",
    "accept-encoding",
    "connection",
    "host",
    "content-length",
}


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    with Recorder({f"/v1/{CONFIG}:rank": ANSWER}) as rec:
        yield rec


def credentials() -> Any:
    # A ready token with a quota project: google-auth's apply() sets both headers, for the
    # SDK and (through the `credentials` option) for us.
    return oauth2.Credentials(token="ya29.same-token", quota_project_id="billing-project")


def sdk_call(recorder: Recorder, **request: Any) -> Any:
    transport = rest.RankServiceRestTransport(
        host=f"127.0.0.1:{recorder.port}", url_scheme="http", credentials=credentials()
    )
    client = de.RankServiceClient(transport=transport)
    return client.rank(request=de.RankRequest(ranking_config=CONFIG, **request))


def our_call(recorder: Recorder, mode: str, **fields: Any) -> Any:
    client = RerankClient(
        "vertex-ai", base_url=recorder.url, project=PROJECT, credentials=credentials()
    )
    if mode == "api_key":  # the other way in: the same token as api_key, the quota as option
        client = RerankClient(
            "vertex-ai",
            base_url=recorder.url,
            project=PROJECT,
            api_key="ya29.same-token",
            quota_project="billing-project",
        )
    return client.rerank(model=MODEL, **fields)


def assert_same_wire(sdk: Seen, ours: Seen) -> None:
    assert (ours.method, ours.path) == (sdk.method, sdk.path) == ("POST", f"/v1/{CONFIG}:rank")
    assert sdk.query == {"$alt": ["json;enum-encoding=int"]} and ours.query == {}
    assert ours.headers["authorization"] == sdk.headers["authorization"] == "Bearer ya29.same-token"
    differences = header_differences(sdk, ours)
    unexplained = set(differences) - SDK_ONLY - LIBRARY_DEFAULTS
    assert not unexplained, {k: differences[k] for k in unexplained}
    assert ours.headers["x-goog-user-project"] == "billing-project"
    assert ours.headers["content-type"] == sdk.headers["content-type"] == "application/json"
    sdk_body, our_body = sdk.json(), ours.json()
    for name in sorted(set(sdk_body) | set(our_body)):
        assert our_body.get(name) == sdk_body.get(name), name


CASES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    # name: (the SDK request, the same call through RerankClient)
    "strings_top_n": (
        dict(
            model=MODEL,
            query="capital of France?",
            records=[
                de.RankingRecord(id="0", content="Paris is the capital."),
                de.RankingRecord(id="1", content="Berlin is in Germany."),
                de.RankingRecord(id="2", content="The Eiffel Tower is in Paris."),
            ],
            top_n=2,
            ignore_record_details_in_response=True,
        ),
        dict(
            query="capital of France?",
            documents=[
                "Paris is the capital.",
                "Berlin is in Germany.",
                "The Eiffel Tower is in Paris.",
            ],
            top_n=2,
        ),
    ),
    "titles_and_labels": (
        dict(
            model=MODEL,
            query="quiet hotel",
            records=[
                de.RankingRecord(id="0", title="Airport Inn", content="meeting rooms"),
                de.RankingRecord(id="1", content="beach resort"),
                de.RankingRecord(id="2", title="Old Town", content="calm boutique hotel"),
            ],
            ignore_record_details_in_response=True,
            user_labels={"team": "search"},
        ),
        dict(
            query="quiet hotel",
            documents=[
                {"title": "Airport Inn", "text": "meeting rooms", "id": 7},
                {"text": "beach resort"},
                {"title": "Old Town", "text": "calm boutique hotel"},
            ],
            parameters={"userLabels": {"team": "search"}},
        ),
    ),
    "rank_on_text_only": (
        dict(
            model=MODEL,
            query="quiet hotel",
            records=[
                de.RankingRecord(id="0", content="meeting rooms"),
                de.RankingRecord(id="1", content="beach resort"),
                de.RankingRecord(id="2", content="calm boutique hotel"),
            ],
            ignore_record_details_in_response=True,
        ),
        dict(
            query="quiet hotel",
            documents=[
                {"title": "Airport Inn", "text": "meeting rooms"},
                {"title": "Sunny Beach", "text": "beach resort"},
                {"title": "Old Town", "text": "calm boutique hotel"},
            ],
            rank_fields=["text"],
        ),
    ),
}


@pytest.mark.parametrize("mode", ["credentials", "api_key"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_same_request_as_the_sdk(recorder: Recorder, case: str, mode: str) -> None:
    sdk_request, ours_fields = CASES[case]
    sdk_answer = sdk_call(recorder, **sdk_request)
    (sdk_seen,) = recorder.take()
    ours = our_call(recorder, mode, **ours_fields)
    (our_seen,) = recorder.take()
    assert_same_wire(sdk_seen, our_seen)
    # Both read the same answer the same way (the SDK keeps the server's order).
    expected = [(int(r.id), round(r.score, 6)) for r in sdk_answer.records]
    assert [(r.index, round(r.relevance_score, 6)) for r in ours.results] == (
        expected[: ours_fields.get("top_n")] if "top_n" in ours_fields else expected
    )
