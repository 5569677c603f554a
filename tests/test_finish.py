"""``providers.base.finish``: every provider's answer goes through it, on its fast path
(C-speed checks, the answer's own dicts reused) or its slow path (one result at a time, to
name what is wrong). Both must give exactly what validated pydantic objects would."""

from __future__ import annotations

import copy
import pickle
import random
from dataclasses import asdict, replace
from typing import Any

import pytest

from unified_rerank.errors import ProviderError
from unified_rerank.providers.base import RawResponse, finish
from unified_rerank.schema import RerankRequest, RerankResponse, RerankResult

RAW = RawResponse(200, {}, b"")


def request(n: int, **fields: Any) -> RerankRequest:
    return RerankRequest.create(
        model="m", query="q", documents=[f"d{i}" for i in range(n)], **fields
    )


def run(req: RerankRequest, items: Any, **kwargs: Any) -> RerankResponse:
    return finish(req, RAW, items, provider="test", **kwargs)


def expected(req: RerankRequest, pairs: list[tuple[int, float]]) -> list[RerankResult]:
    """The reference: validated results, sorted by (-score, index), cut to top_n."""
    ranked = sorted(pairs, key=lambda p: (-p[1], p[0]))[: req.expected_results]
    return [
        RerankResult(
            index=i,
            relevance_score=float(s),
            document={"text": req.documents[i]} if req.return_documents else None,
        )
        for i, s in ranked
    ]


def check(resp: RerankResponse, want: list[RerankResult]) -> None:
    assert resp.results == want
    assert [asdict(r) for r in resp.results] == [asdict(w) for w in want]
    for r in resp.results:
        assert type(r.index) is int and type(r.relevance_score) is float
    # The whole response survives a round trip through validation, JSON, pickle and copies,
    # results with the document left at its default included.
    assert RerankResponse.model_validate(resp.model_dump()) == resp
    assert RerankResponse.model_validate_json(resp.model_dump_json()) == resp
    assert pickle.loads(pickle.dumps(resp)) == resp
    assert copy.deepcopy(resp) == resp
    for r in resp.results:
        assert replace(r) == r and repr(r).endswith(f"document={r.document!r})")


@pytest.mark.parametrize("n", [1, 7, 1000])
@pytest.mark.parametrize("top_n", [None, 1, 5])
@pytest.mark.parametrize("return_documents", [False, True])
def test_shuffled_answers_come_back_best_first(
    n: int, top_n: int | None, return_documents: bool
) -> None:
    rng = random.Random(n * 31 + (top_n or 0))
    pairs = [(i, rng.random()) for i in range(n)]
    rng.shuffle(pairs)
    req = request(n, top_n=top_n, return_documents=return_documents)
    items = [{"index": i, "relevance_score": s} for i, s in pairs]
    check(run(req, items), expected(req, pairs))


def test_ties_are_broken_by_index_whatever_the_answer_order() -> None:
    pairs = [(5, 0.5), (2, 0.9), (4, 0.5), (0, 0.5), (3, 0.9), (1, 0.1)]
    req = request(6)
    resp = run(req, [{"index": i, "relevance_score": s} for i, s in pairs])
    assert [r.index for r in resp.results] == [2, 3, 0, 4, 5, 1]
    check(resp, expected(req, pairs))


@pytest.mark.parametrize("n", [1, 2, 1000])
@pytest.mark.parametrize("top_n", [None, 1, 5])
def test_answers_already_best_first_are_kept_in_order(n: int, top_n: int | None) -> None:
    # The usual answer (strictly falling scores) is proven in order without a sort.
    rng = random.Random(n)
    pairs = sorted(((i, rng.random()) for i in range(n)), key=lambda p: -p[1])
    req = request(n, top_n=top_n)
    check(run(req, [{"index": i, "relevance_score": s} for i, s in pairs]), expected(req, pairs))


@pytest.mark.parametrize(
    "pairs",
    [
        # best first, but tied scores out of index order: not proven, so sorted
        [(3, 0.9), (2, 0.9), (5, 0.5), (0, 0.5), (1, 0.1)],
        # worst first
        [(1, 0.1), (0, 0.5), (2, 0.9)],
        # best first except the last two
        [(2, 0.9), (0, 0.5), (1, 0.1), (3, 0.2)],
    ],
)
def test_answers_not_proven_in_order_are_sorted(pairs: list[tuple[int, float]]) -> None:
    req = request(len(pairs) + 1, top_n=len(pairs))
    check(run(req, [{"index": i, "relevance_score": s} for i, s in pairs]), expected(req, pairs))


@pytest.mark.parametrize(
    "items",
    [
        # integer scores become floats
        [{"index": 0, "relevance_score": 1}, {"index": 1, "relevance_score": 0.5}],
        # other keys in the answer (an echoed document, provider extras) are not results' fields
        [
            {"index": 0, "relevance_score": 1.0, "document": {"text": "x"}},
            {"index": 1, "relevance_score": 0.5, "extra": 1},
        ],
    ],
)
def test_odd_but_valid_items_give_clean_results(items: list[dict[str, Any]]) -> None:
    req = request(2)
    check(run(req, items), expected(req, [(0, 1.0), (1, 0.5)]))


def test_provider_key_names_are_mapped() -> None:
    req = request(3)
    items = [{"idx": 2, "logit": -1.5}, {"idx": 0, "logit": 3.0}, {"idx": 1, "logit": 0.0}]
    resp = run(req, items, score_key="logit", index_key="idx")
    check(resp, expected(req, [(2, -1.5), (0, 3.0), (1, 0.0)]))


def test_extra_results_beyond_top_n_are_cut() -> None:
    req = request(4, top_n=2)
    items = [{"index": i, "relevance_score": s} for i, s in [(0, 0.1), (1, 0.4), (2, 0.3)]]
    assert [r.index for r in run(req, items).results] == [1, 2]


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ([{"index": 0, "relevance_score": 0.5}], "1 results for 2 expected"),
        ([{"index": 0, "relevance_score": 0.5}, {"index": 0, "relevance_score": 0.4}], "twice"),
        ([{"index": 0, "relevance_score": 0.5}, {"index": 2, "relevance_score": 0.4}], "0..1"),
        ([{"index": 0, "relevance_score": 0.5}, {"index": -1, "relevance_score": 0.4}], "0..1"),
        ([{"index": 0, "relevance_score": 0.5}, {"index": 1.0, "relevance_score": 0.4}], "0..1"),
        ([{"index": 0, "relevance_score": 0.5}, {"index": True, "relevance_score": 0.4}], "0..1"),
        ([{"index": 0, "relevance_score": 0.5}, {"index": 1}], "not a number"),
        ([{"index": 0, "relevance_score": 0.5}, {"index": 1, "relevance_score": "0.4"}], "number"),
        ([{"index": 0, "relevance_score": 0.5}, {"index": 1, "relevance_score": True}], "number"),
        ([{"index": 0, "relevance_score": 0.5}, {"index": 1, "relevance_score": 1e999}], "inf"),
        ([{"index": 0, "relevance_score": 0.5}, [1, 0.4]], "not an object"),
        ({"index": 0}, "not a list"),
    ],
)
def test_malformed_answers_are_errors_never_rankings(items: Any, message: str) -> None:
    with pytest.raises(ProviderError, match=message):
        run(request(2), items)


def test_the_answer_dicts_are_not_shared_between_calls() -> None:
    """Each answer's dicts belong to its own results: a second answer changes nothing."""
    req = request(2)
    first = run(req, [{"index": 0, "relevance_score": 0.9}, {"index": 1, "relevance_score": 0.1}])
    run(req, [{"index": 0, "relevance_score": 0.2}, {"index": 1, "relevance_score": 0.8}])
    assert [(r.index, r.relevance_score) for r in first.results] == [(0, 0.9), (1, 0.1)]


# -- decode_ranked: one pydantic-core pass decodes and type-checks the answer ------------------


def ranked(body: bytes, **keys: Any) -> RerankResponse:
    from unified_rerank.providers.base import decode_ranked

    raw = RawResponse(200, {}, body)
    _, items = decode_ranked(raw, "test", **keys)
    return finish(request(3), raw, items, provider="test")


def test_checked_answers_are_renamed_converted_and_stripped() -> None:
    from unified_rerank.providers.base import CheckedItems, decode_ranked

    body = (
        b'{"data": [{"i": 2, "s": 1, "document": {"text": "x"}, "extra": [1]}, {"i": 0, "s": 0.5}]}'
    )
    answer, items = decode_ranked(
        RawResponse(200, {}, body), "t", list_key="data", index_key="i", score_key="s"
    )
    assert type(items) is CheckedItems
    assert items == [{"index": 2, "relevance_score": 1.0}, {"index": 0, "relevance_score": 0.5}]
    assert answer["data"] is not None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"results": [{"index": 0, "relevance_score": "0.5"}]}', "score '0.5' of document 0"),
        (b'{"results": [{"index": 0.0, "relevance_score": 0.5}]}', "index 0.0 is not in 0..2"),
        (b'{"results": [{"index": 3, "relevance_score": 0.5}]}', "index 3 is not in 0..2"),
        (
            b'{"results": [{"index": 1, "relevance_score": 0.5},'
            b' {"index": 1, "relevance_score": 0.4}]}',
            "document 1 is ranked twice",
        ),
        (b'{"results": [{"index": 1, "relevance_score": NaN}]}', "score of document 1 is nan"),
        (b'{"results": [{"index": 1, "relevance_score": 0.5}]}', "1 results for 3 expected"),
        (b'{"answers": []}', "results"),
        (b"not json", "not valid JSON"),
    ],
)
def test_answers_that_fail_the_check_get_the_exact_reason(body: bytes, message: str) -> None:
    with pytest.raises(ProviderError, match=message):
        ranked(body)


def test_bare_list_answers() -> None:
    body = (
        b'[{"index": 1, "score": 0.2, "text": "d1"},'
        b' {"index": 0, "score": 0.9}, {"index": 2, "score": 0.5}]'
    )
    resp = ranked(body, list_key=None, score_key="score")
    assert [(r.index, r.relevance_score) for r in resp.results] == [(0, 0.9), (2, 0.5), (1, 0.2)]


@pytest.mark.parametrize(
    "counts",
    [
        {},
        {"search_units": 1},
        {"search_units": 2.5, "estimated": True},
        {"total_tokens": 120},
        {"rerank_units": 3},
        {"search_units": None, "total_tokens": 7},
    ],
)
def test_checked_usage_is_the_validated_usage(counts: dict[str, Any]) -> None:
    from unified_rerank.schema import Usage, checked_usage

    fast = checked_usage(**counts)
    given = {k: v for k, v in counts.items() if v is not None}
    slow = Usage(**given)
    assert fast == slow and fast.model_dump() == slow.model_dump()
    assert fast.model_dump_json() == slow.model_dump_json()
    assert fast.model_fields_set == slow.model_fields_set
    assert fast.model_extra == slow.model_extra == {}
    assert pickle.loads(pickle.dumps(fast)) == slow
