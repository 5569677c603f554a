"""``top_n`` must be a real integer, assignments are validated (a refusal changes nothing),
an unknown provider or option fails at construction with no I/O, and a field set later
reaches the wire."""

from __future__ import annotations

import pytest
from langchain_core.documents import Document
from langchain_unified_rerank import UnifiedRerank
from pydantic import ValidationError

from tests.support.loopback import Answer, Loopback, closed_port
from unified_rerank import InvalidRequestError

OK = {"results": [{"index": 1, "relevance_score": 0.9}, {"index": 0, "relevance_score": 0.2}]}


@pytest.mark.parametrize("top_n", [True, "2", 2.0, 0])
def test_top_n_must_be_a_real_integer(top_n: object) -> None:
    with pytest.raises(ValidationError):
        UnifiedRerank(model="cohere/rerank-v3.5", top_n=top_n)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("model", "provider"), [("foo/bar", None), ("rerank-v3.5", "nope"), ("bare-model", None)]
)
def test_unknown_provider_refused_at_construction(
    model: str, provider: str | None, loopback: Loopback
) -> None:
    with pytest.raises(InvalidRequestError, match="known providers: cohere"):
        UnifiedRerank(model=model, provider=provider, base_url=loopback.url)
    assert loopback.received == []


def test_assignment_is_validated_and_a_refusal_changes_nothing() -> None:
    r = UnifiedRerank(model="cohere/rerank-v3.5", top_n=3)
    with pytest.raises(ValidationError):
        r.top_n = 0
    with pytest.raises(ValidationError):
        r.top_n = True
    with pytest.raises(InvalidRequestError, match="unknown provider 'nope'"):
        r.provider = "nope"
    with pytest.raises(InvalidRequestError, match="unknown option"):
        r.provider_options = {"region": "us-east-1"}
    assert (r.top_n, r.provider, r.provider_options) == (3, None, {})
    assert r.model_fields_set == {"model", "top_n"}
    r.top_n = None
    assert r.top_n is None


def test_a_field_set_later_reaches_the_wire(loopback: Loopback) -> None:
    loopback.script(Answer(200, OK))
    r = UnifiedRerank(
        model="cohere/rerank-v3.5", api_key="k", base_url=f"http://127.0.0.1:{closed_port()}"
    )
    first = r._rerank_client()
    r.base_url = loopback.url
    out = r.compress_documents([Document("a"), Document("b")], "q")
    assert [d.page_content for d in out] == ["b", "a"] and len(loopback.received) == 1
    assert r._rerank_client() is not first
