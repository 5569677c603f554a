"""The embedded ``local`` provider with BM25 (bm25s), sync and async, and its errors."""

from __future__ import annotations

import math
import sys
import threading

import pytest

from unified_rerank import InvalidRequestError, RerankClient, arerank, rerank
from unified_rerank.local import MissingDependencyError, bm25

FAQ = [
    "To reset your password, open the login page and click Forgot password.",
    "Our support team answers emails within one business day.",
    "You can change the email address on your account settings page.",
    "Password rules: at least twelve characters, one digit and one symbol.",
]


def lucene_bm25(query: list[str], docs: list[list[str]], k1: float = 1.5, b: float = 0.75):
    """BM25 (Lucene variant) written out from its formula, to check bm25s's numbers."""
    n = len(docs)
    avgdl = sum(len(d) for d in docs) / n
    scores = []
    for d in docs:
        s = 0.0
        for term in set(query):
            df = sum(term in x for x in docs)
            if df == 0:
                continue
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            tf = d.count(term)
            s += idf * tf / (tf + k1 * (1 - b + b * len(d) / avgdl))
        scores.append(s)
    return scores


def test_scores_match_the_bm25_formula() -> None:
    docs = ["apple banana apple", "banana cherry", "cherry cherry date elderberry", "fig"]
    got = bm25.score("apple cherry", docs, stopwords="none")
    want = lucene_bm25(["apple", "cherry"], [d.split() for d in docs])
    assert got == pytest.approx(want, rel=1e-5)
    assert got[3] == 0.0 and got[0] > 0 and got[2] > 0


def test_parameters_k1_and_b_reach_the_scorer() -> None:
    docs = ["apple banana apple", "banana cherry", "cherry cherry date elderberry"]
    resp = rerank(
        model="local/bm25",
        query="apple cherry",
        documents=docs,
        parameters={"k1": 0.9, "b": 0.4},
        stopwords="none",
    )
    want = lucene_bm25(["apple", "cherry"], [d.split() for d in docs], k1=0.9, b=0.4)
    got = {r.index: r.relevance_score for r in resp.results}
    assert [got[i] for i in range(3)] == pytest.approx(want, rel=1e-5)


def test_ranking_response_shape() -> None:
    resp = rerank(model="local/bm25", query="how do I reset my password", documents=FAQ)
    assert resp.provider == "local" and resp.model == "bm25" and resp.object == "list"
    assert [r.index for r in resp.results][:2] == [0, 3]
    scores = [r.relevance_score for r in resp.results]
    assert scores == sorted(scores, reverse=True) and len(scores) == 4
    assert resp.model_dump(exclude_none=True)["usage"] == {}
    assert all(r.document is None for r in resp.results)


def test_no_shared_word_gives_zero_scores() -> None:
    for query in ("zebra xylophone", "the and of", "?!"):
        resp = rerank(model="local/bm25", query=query, documents=FAQ)
        assert [r.relevance_score for r in resp.results] == [0.0] * 4
        assert [r.index for r in resp.results] == [0, 1, 2, 3]  # ties keep input order
    resp = rerank(model="local/bm25", query="password", documents=["the", "a an", "of"])
    assert [r.relevance_score for r in resp.results] == [0.0] * 3


def test_stopwords_are_english_by_default() -> None:
    # "how", "do", "my" are stopwords: a document made of them does not match.
    scores = bm25.score("how do I reset my password", ["how do my", "reset"])
    assert scores[0] == 0.0 and scores[1] > 0.0
    kept = bm25.score("how do my", ["how do my", "reset"], stopwords="none")
    assert kept[0] > 0.0


def test_top_n_and_documents_back_filled_with_fields() -> None:
    docs = [{"text": FAQ[0], "id": "a", "lang": "en"}, FAQ[1], {"text": FAQ[3], "id": "d"}]
    resp = rerank(
        model="local/bm25", query="password", documents=docs, top_n=2, return_documents=True
    )
    assert [r.index for r in resp.results] == [0, 2] or [r.index for r in resp.results] == [2, 0]
    by_index = {r.index: r.document for r in resp.results}
    assert by_index[0] == {"text": FAQ[0], "id": "a", "lang": "en"}
    assert by_index[2] == {"text": FAQ[3], "id": "d"}


def test_rank_fields_are_scored() -> None:
    docs = [{"text": "nothing here", "title": "password reset"}, {"text": "x", "title": "hours"}]
    resp = rerank(model="local/bm25", query="password", documents=docs, rank_fields=["title"])
    assert resp.results[0].index == 0 and resp.results[0].relevance_score > 0


def test_max_tokens_per_doc_truncates_and_truncation_false_refuses() -> None:
    docs = ["alpha beta gamma password", "password alpha"]
    full = rerank(model="local/bm25", query="password", documents=docs, stopwords="none")
    assert all(r.relevance_score > 0 for r in full.results)
    cut = rerank(
        model="local/bm25",
        query="password",
        documents=docs,
        max_tokens_per_doc=2,
        stopwords="none",
    )
    scores = {r.index: r.relevance_score for r in cut.results}
    assert scores[0] == 0.0 and scores[1] > 0  # "password" was past doc 0's first 2 tokens
    with pytest.raises(InvalidRequestError, match="document 0 has 4 BM25 tokens"):
        rerank(
            model="local/bm25",
            query="password",
            documents=docs,
            max_tokens_per_doc=2,
            truncation=False,
            stopwords="none",
        )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"model": "local/bm26"}, "'local/bm25', 'local/cross-encoder:<name-or-path>'"),
        ({"model": "local/cross-encoder:"}, "needs a model name or path"),
        ({"documents": []}, "at least one document"),
        ({"query": " "}, "must not be empty"),
        ({"top_n": 0}, "top_n"),
        ({"parameters": {"k3": 1}}, "unknown parameters"),
        ({"parameters": {"k1": "x"}}, "parameters.k1"),
        ({"batch_size": 0}, "batch_size"),
        ({"device": ""}, "device"),
        ({"trust_remote_code": "yes"}, "trust_remote_code"),
        ({"region": "x"}, "unknown option"),
    ],
)
def test_bad_input_fails_before_any_work(
    monkeypatch: pytest.MonkeyPatch, kwargs: dict[str, object], match: str
) -> None:
    def boom(*a: object, **k: object) -> list[float]:
        raise AssertionError("scored despite bad input")

    monkeypatch.setattr(bm25, "score", boom)
    args: dict[str, object] = {"model": "local/bm25", "query": "q", "documents": ["a"]}
    args.update(kwargs)
    with pytest.raises(InvalidRequestError, match=match) as info:
        rerank(**args)  # type: ignore[arg-type]
    assert info.value.status_code is None


def test_cross_encoder_parameters_are_refused() -> None:
    with pytest.raises(InvalidRequestError, match="it accepts: none"):
        rerank(
            model="local/cross-encoder:some/model",
            query="q",
            documents=["a"],
            parameters={"k1": 1},
        )


def test_missing_bm25s_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "bm25s", None)
    with pytest.raises(MissingDependencyError, match=r"unified-rerank\[bm25\]") as info:
        rerank(model="local/bm25", query="q", documents=["a"])
    assert isinstance(info.value, InvalidRequestError) and isinstance(info.value, ImportError)


def test_missing_sentence_transformers_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    with pytest.raises(MissingDependencyError, match=r"unified-rerank\[local\]"):
        rerank(model="local/cross-encoder:any/model", query="q", documents=["a"])


def test_client_with_provider_and_bare_model() -> None:
    with RerankClient("local") as client:
        resp = client.rerank(model="bm25", query="password", documents=FAQ, top_n=1)
    assert resp.results[0].index in (0, 3) and len(resp.results) == 1


async def test_async_matches_sync_and_runs_off_the_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[int] = []
    real = bm25.score

    def spy(*a: object, **k: object) -> list[float]:
        threads.append(threading.get_ident())
        return real(*a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(bm25, "score", spy)
    sync = rerank(model="local/bm25", query="reset password", documents=FAQ)
    resp = await arerank(model="local/bm25", query="reset password", documents=FAQ)
    assert [(r.index, r.relevance_score) for r in resp.results] == [
        (r.index, r.relevance_score) for r in sync.results
    ]
    assert threads[0] == threading.get_ident() and threads[1] != threading.get_ident()


async def test_async_bad_model() -> None:
    with pytest.raises(InvalidRequestError, match="unknown local model"):
        await arerank(model="local/nope", query="q", documents=["a"])
