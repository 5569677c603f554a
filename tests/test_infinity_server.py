"""End to end: the ``infinity`` provider against a real Infinity server on 127.0.0.1.

Nothing is installed at test time. The server runs in a separate interpreter that has
``infinity_emb`` (``UNIFIED_RERANK_INFINITY_PYTHON``, default ``.venv-infinity/bin/python``, made
by ``scripts/infinity-venv.sh``), so the main venv needs no torch. That interpreter first builds
a tiny randomly initialised BERT cross-encoder (``num_labels=1``, a 50-word vocabulary, saved
with its tokenizer) in a temporary folder, then serves it; no weights are downloaded.
"""

from __future__ import annotations

import math
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from unified_rerank import RerankClient, RerankResponse

pytestmark = pytest.mark.infinity

ROOT = Path(__file__).resolve().parents[1]
MODEL = "tiny-reranker"
START_TIMEOUT = 120.0

DOCS: list[str | dict[str, object]] = [
    "paris is the capital of france.",
    "berlin is in germany.",
    {"text": "the capital of germany is berlin.", "source": "atlas", "page": 3},
    "france, germany, paris, berlin.",
    "is the capital in france?",
]
QUERY = "capital of france?"

FIND_SPECS = (
    "import importlib.util as u, sys; "
    "sys.exit(any(u.find_spec(m) is None for m in ('infinity_emb', 'transformers', 'torch')))"
)

#: Runs in the Infinity interpreter: build the tiny model into argv[1], then serve it.
SERVE = r"""
import os, sys
out, port = sys.argv[1], sys.argv[2]
import torch
from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast
torch.manual_seed(0)
words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
words += [chr(c) for c in range(ord("a"), ord("z") + 1)]
words += ["paris", "capital", "france", "berlin", "germany", "is", "the", "of", "in", "?", ".", ","]
vocab = os.path.join(out, "vocab.txt")
with open(vocab, "w") as f:
    f.write("\n".join(words) + "\n")
tokenizer = BertTokenizerFast(vocab_file=vocab, do_lower_case=True, model_max_length=128)
config = BertConfig(
    vocab_size=len(words), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
    intermediate_size=64, max_position_embeddings=128, num_labels=1,
)
BertForSequenceClassification(config).save_pretrained(out)
tokenizer.save_pretrained(out)
from infinity_emb.cli import cli
sys.argv = [
    "infinity_emb", "v2", "--model-id", out, "--served-model-name", "tiny-reranker",
    "--host", "127.0.0.1", "--port", port, "--engine", "torch", "--device", "cpu",
    "--no-model-warmup", "--batch-size", "8",
]
cli()
"""


@pytest.fixture(autouse=True)
def _no_ambient_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's own INFINITY_API_KEY must not change what these tests send."""
    monkeypatch.delenv("INFINITY_API_KEY", raising=False)


def infinity_python() -> str:
    python = os.environ.get("UNIFIED_RERANK_INFINITY_PYTHON") or str(
        ROOT / ".venv-infinity" / "bin" / "python"
    )
    if not Path(python).exists():
        pytest.skip(
            f"no Infinity interpreter at {python}: run scripts/infinity-venv.sh "
            "or set UNIFIED_RERANK_INFINITY_PYTHON"
        )
    probe = subprocess.run(  # find_spec only: importing torch here would cost ~15 s
        [python, "-c", FIND_SPECS],
        capture_output=True,
        timeout=60,
    )
    if probe.returncode != 0:
        pytest.skip(f"{python} cannot import infinity_emb: run scripts/infinity-venv.sh")
    return python


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    python = infinity_python()
    folder = tmp_path_factory.mktemp("tiny-reranker")
    port = free_port()
    log = (folder / "server.log").open("wb")
    # No INFINITY_* variable of the developer's (API key, URL prefix, ...) reaches the server.
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("INFINITY_")},
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_HOME": str(folder / "hf"),
        "INFINITY_ANONYMOUS_USAGE_STATS": "0",
        "DO_NOT_TRACK": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    proc = subprocess.Popen(
        [python, "-c", SERVE, str(folder), str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(f"Infinity exited with {proc.returncode}:\n{tail(folder)}")
            try:
                if httpx.get(url + "/health", timeout=2.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"Infinity not healthy after {START_TIMEOUT:.0f}s:\n{tail(folder)}")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
        log.close()


def tail(folder: Path) -> str:
    return (folder / "server.log").read_bytes()[-3000:].decode("utf-8", "replace")


def assert_complete_ranking(resp: RerankResponse, expected: int) -> None:
    assert resp.provider == "infinity" and resp.model == MODEL
    indices = [r.index for r in resp.results]
    assert len(indices) == expected == len(set(indices))
    assert all(0 <= i < len(DOCS) for i in indices)
    scores = [r.relevance_score for r in resp.results]
    assert scores == sorted(scores, reverse=True)
    assert resp.usage.total_tokens is not None and resp.usage.total_tokens > 0


def test_sync_complete_ranking_with_documents(server: str) -> None:
    with RerankClient("infinity", base_url=server, max_retries=0) as c:
        resp = c.rerank(model=MODEL, query=QUERY, documents=DOCS, return_documents=True)
    assert_complete_ranking(resp, len(DOCS))
    assert sorted(r.index for r in resp.results) == list(range(len(DOCS)))
    assert all(0.0 <= r.relevance_score <= 1.0 for r in resp.results)  # sigmoid activations
    for r in resp.results:
        doc = DOCS[r.index]
        assert r.document == ({"text": doc} if isinstance(doc, str) else doc)


async def test_async_top_n_and_raw_scores_match_probabilities(server: str) -> None:
    async with RerankClient("infinity", base_url=server, max_retries=0) as c:
        probs = await c.arerank(model=MODEL, query=QUERY, documents=DOCS)
        raw = await c.arerank(
            model=f"infinity/{MODEL}",
            query=QUERY,
            documents=DOCS,
            top_n=2,
            parameters={"raw_scores": True},
        )
    assert_complete_ranking(raw, 2)
    by_index = {r.index: r.relevance_score for r in probs.results}
    assert [r.index for r in raw.results] == [r.index for r in probs.results[:2]]
    for r in raw.results:  # raw scores are the logits behind the probabilities
        assert 1 / (1 + math.exp(-r.relevance_score)) == pytest.approx(by_index[r.index], abs=1e-4)


def test_windows_merge_to_the_same_ranking(server: str) -> None:
    with RerankClient("infinity", base_url=server, max_retries=0) as c:
        whole = c.rerank(model=MODEL, query=QUERY, documents=DOCS)
    with RerankClient("infinity", base_url=server, max_retries=0, max_batch_size=2) as c:
        split = c.rerank(model=MODEL, query=QUERY, documents=DOCS, top_n=4)
    assert_complete_ranking(split, 4)
    assert [r.index for r in split.results] == [r.index for r in whole.results[:4]]
    for a, b in zip(split.results, whole.results, strict=False):
        assert a.relevance_score == pytest.approx(b.relevance_score, abs=1e-5)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-v"]))
