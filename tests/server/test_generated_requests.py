"""Property-based: requests generated from the vendored ``CreateRerankRequest`` schema (and
arbitrary JSON beside it) never get a 500; every 200 is a valid ``CreateRerankResponse``
ranking exactly the documents sent, and every error has the documented shape."""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.server.conftest import vk
from tests.server.serving import RESPONSE, SCHEMAS, InThread
from tests.support.faults import FaultServer


def _inline(schema: Any) -> Any:
    """The schema with its ``#/components/schemas/...`` references replaced by their targets."""
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str):
            return _inline(SCHEMAS["components"]["schemas"][ref.rsplit("/", 1)[1]])
        return {k: _inline(v) for k, v in schema.items() if k != "example"}
    if isinstance(schema, list):
        return [_inline(v) for v in schema]
    return schema


REQUEST_SCHEMA = _inline(copy.deepcopy(SCHEMAS["components"]["schemas"]["CreateRerankRequest"]))
# Small documents lists keep the run quick; the shapes are what is under test.
REQUEST_SCHEMA["properties"]["documents"]["maxItems"] = 5


def from_schema(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values valid for ``schema``, for the keywords the rerank schemas use (``type``,
    ``oneOf``, ``properties``/``required``/``additionalProperties``, ``items``/``minItems``/
    ``maxItems``, ``minimum``). hypothesis-jsonschema would do this, but its last release no
    longer runs on current Hypothesis."""
    if "oneOf" in schema:
        return st.one_of([from_schema(s) for s in schema["oneOf"]])
    kind = schema.get("type")
    if kind == "string":
        return st.text(max_size=40)
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return st.integers(min_value=schema.get("minimum"), max_value=2**40)
    if kind == "number":
        return st.floats(allow_nan=False, allow_infinity=False, width=64)
    if kind == "array":
        items = from_schema(schema.get("items", {}))
        return st.lists(
            items, min_size=schema.get("minItems", 0), max_size=schema.get("maxItems", 5)
        )
    if kind == "object":
        props = {k: from_schema(v) for k, v in schema.get("properties", {}).items()}
        required = set(schema.get("required", []))
        fixed = st.fixed_dictionaries(
            {k: v for k, v in props.items() if k in required},
            optional={k: v for k, v in props.items() if k not in required},
        )
        if not schema.get("additionalProperties"):
            return fixed
        extra = st.dictionaries(
            st.text(max_size=8).filter(lambda k: k not in props), JSON_VALUES, max_size=2
        )
        return st.builds(lambda a, b: {**b, **a}, fixed, extra)
    return JSON_VALUES


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
# Bodies that break the schema: wrong types in known fields, missing fields, other JSON.
BROKEN = st.one_of(
    st.dictionaries(
        st.sampled_from(
            [
                "model",
                "query",
                "documents",
                "top_n",
                "return_documents",
                "rank_fields",
                "max_tokens_per_doc",
                "priority",
                "truncation",
                "parameters",
                "other",
            ]
        ),
        JSON_VALUES,
        max_size=6,
    ),
    JSON_VALUES,
)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[InThread, FaultServer]]:
    upstream = FaultServer().start()
    with InThread({"virtual_keys": {"co": vk(upstream.url, max_retries=0)}}) as server:
        yield server, upstream
    upstream.stop()


#: Statuses seen by the schema-valid run (the last test checks it reached real rankings).
SEEN: Counter[int] = Counter()


def _check(
    served: tuple[InThread, FaultServer], payload: Any, seen: Counter[int] | None = None
) -> None:
    server, _ = served
    resp = httpx.post(
        server.url + "/rerank",
        content=json.dumps(payload).encode(),
        headers={"x-portkey-virtual-key": "co", "content-type": "application/json"},
        timeout=30,
    )
    assert resp.status_code != 500, resp.text
    if seen is not None:
        seen[resp.status_code] += 1
    data = resp.json()
    if resp.status_code == 200:
        RESPONSE.validate(data)
        indices = [r["index"] for r in data["results"]]
        assert len(set(indices)) == len(indices)
        assert all(0 <= i < len(payload["documents"]) for i in indices)
        scores = [r["relevance_score"] for r in data["results"]]
        assert scores == sorted(scores, reverse=True)
    else:
        assert resp.status_code in (400, 413, 422), resp.text
        assert set(data) == {"error", "provider"} and data["error"]["message"]


SETTINGS = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@SETTINGS
@given(payload=from_schema(REQUEST_SCHEMA))
def test_schema_valid_requests_never_500(
    served: tuple[InThread, FaultServer], payload: dict[str, Any]
) -> None:
    _check(served, payload, SEEN)


@SETTINGS
@given(payload=BROKEN)
def test_broken_requests_are_400_never_500(
    served: tuple[InThread, FaultServer], payload: Any
) -> None:
    _check(served, payload)


def test_the_schema_valid_run_reached_rankings() -> None:
    if not SEEN:
        pytest.skip("runs after test_schema_valid_requests_never_500 only")
    # Most generated requests are valid end to end: a run of only 400s would prove nothing.
    assert SEEN[200] >= 20, SEEN
