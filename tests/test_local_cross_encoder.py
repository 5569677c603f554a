"""The ``local`` provider with a real (tiny, randomly initialised) cross-encoder.

The model is built in a temporary folder (a 1-layer BERT with a 30-word vocabulary), so the
sentence-transformers loading and scoring code really runs, with no download.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

st = pytest.importorskip("sentence_transformers")

from unified_rerank import InvalidRequestError, arerank, rerank  # noqa: E402
from unified_rerank.local import cross_encoder  # noqa: E402

WORDS = [
    "password",
    "reset",
    "login",
    "page",
    "office",
    "hours",
    "open",
    "close",
    "the",
    "how",
    "do",
    "i",
    "my",
    "your",
    "from",
    "is",
    "at",
    "email",
    "account",
    "change",
    "support",
    "team",
    "answers",
    "day",
    "rules",
    "digit",
    "symbol",
]
DOCS = [
    "reset your password from the login page",
    "office hours open at the day",
    "change your email account",
    "password rules digit symbol",
]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-cross-encoder")
    vocab = folder / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]) + "\n")
    torch.manual_seed(1234)
    config = BertConfig(
        vocab_size=5 + len(WORDS),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
        num_labels=1,
    )
    BertForSequenceClassification(config).save_pretrained(folder)
    BertTokenizerFast(vocab_file=str(vocab), model_max_length=32).save_pretrained(folder)
    return str(folder)


def direct(model_dir: str, query: str, docs: list[str]) -> list[float]:
    """Scores straight from sentence-transformers, bypassing unified-rerank."""
    model = st.CrossEncoder(model_dir, device="cpu")
    return [float(s) for s in model.predict([(query, d) for d in docs], show_progress_bar=False)]


def test_scores_are_the_models_sorted(model_dir: str) -> None:
    resp = rerank(
        model=f"local/cross-encoder:{model_dir}",
        query="how do i reset my password",
        documents=[*DOCS[:3], {"text": DOCS[3], "id": 7}],
        return_documents=True,
        top_n=3,
    )
    want = direct(model_dir, "how do i reset my password", DOCS)
    order = sorted(range(4), key=lambda i: (-want[i], i))[:3]
    assert [r.index for r in resp.results] == order
    assert [r.relevance_score for r in resp.results] == pytest.approx([want[i] for i in order])
    assert all(0.0 <= r.relevance_score <= 1.0 for r in resp.results)  # sigmoid
    assert resp.model == f"cross-encoder:{model_dir}" and resp.provider == "local"
    assert resp.model_dump(exclude_none=True)["usage"] == {}
    docs = {r.index: r.document for r in resp.results}
    assert docs.get(3, {"text": DOCS[3], "id": 7}) == {"text": DOCS[3], "id": 7}


def test_batch_size_does_not_change_scores(model_dir: str) -> None:
    one = rerank(
        model=f"local/cross-encoder:{model_dir}", query="password", documents=DOCS, batch_size=1
    )
    big = rerank(
        model=f"local/cross-encoder:{model_dir}", query="password", documents=DOCS, batch_size=64
    )
    assert [r.index for r in one.results] == [r.index for r in big.results]
    assert [r.relevance_score for r in one.results] == pytest.approx(
        [r.relevance_score for r in big.results], abs=1e-5
    )


def test_model_loads_once_per_process_even_from_many_threads(
    model_dir: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    cross_encoder.clear_cache()
    loads: list[str] = []
    real = st.CrossEncoder

    def counting(name: str, **kwargs: object) -> object:
        loads.append(name)
        return real(name, **kwargs)

    monkeypatch.setattr(st, "CrossEncoder", counting)
    got: list[object] = []
    threads = [
        threading.Thread(target=lambda: got.append(cross_encoder.load(model_dir))) for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert loads == [model_dir] and len({id(m) for m in got}) == 1
    assert cross_encoder.load(model_dir, device="auto") is got[0]  # auto is cpu here
    assert loads == [model_dir]


def test_device_auto_and_explicit(model_dir: str) -> None:
    import torch

    mps = torch.backends.mps.is_available()
    expected = "cuda" if torch.cuda.is_available() else "mps" if mps else "cpu"
    assert cross_encoder.pick_device(None) == expected
    assert cross_encoder.pick_device("cpu") == "cpu"
    model = cross_encoder.load(model_dir, device="cpu")
    assert str(model.device) == "cpu"


def test_max_tokens_per_doc_cuts_each_document(model_dir: str) -> None:
    long_doc = "office hours open at the day password reset login"
    cut = rerank(
        model=f"local/cross-encoder:{model_dir}",
        query="password",
        documents=[long_doc, DOCS[0]],
        max_tokens_per_doc=3,
    )
    want = direct(
        model_dir, "password", ["office hours open", DOCS[0][: len("reset your password")]]
    )
    got = {r.index: r.relevance_score for r in cut.results}
    assert [got[0], got[1]] == pytest.approx(want, abs=1e-6)
    with pytest.raises(InvalidRequestError, match="document 0 is 9 tokens"):
        rerank(
            model=f"local/cross-encoder:{model_dir}",
            query="password",
            documents=[long_doc],
            max_tokens_per_doc=3,
            truncation=False,
        )


def test_truncation_false_refuses_pairs_over_the_model_length(model_dir: str) -> None:
    long_doc = " ".join(["password"] * 40)
    resp = rerank(model=f"local/cross-encoder:{model_dir}", query="q", documents=[long_doc, "x"])
    assert len(resp.results) == 2  # cut to the model's 32 tokens by default
    with pytest.raises(InvalidRequestError, match="max length 32"):
        rerank(
            model=f"local/cross-encoder:{model_dir}",
            query="q",
            documents=[long_doc],
            truncation=False,
        )


def test_a_bad_path_is_an_invalid_request(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequestError, match="cannot load cross-encoder"):
        rerank(
            model=f"local/cross-encoder:{tmp_path / 'missing'}",
            query="q",
            documents=["a"],
            local_files_only=True,
        )


async def test_async_matches_sync(model_dir: str) -> None:
    sync = rerank(model=f"local/cross-encoder:{model_dir}", query="email", documents=DOCS)
    resp = await arerank(model=f"local/cross-encoder:{model_dir}", query="email", documents=DOCS)
    assert [(r.index, r.relevance_score) for r in resp.results] == [
        (r.index, r.relevance_score) for r in sync.results
    ]
