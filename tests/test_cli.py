"""The ``unified-rerank`` command through its real entry point (``python -m unified_rerank``),
on the local BM25 provider and on a loopback server standing in for Cohere."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.conftest import PROVIDER_KEY_VARS
from tests.support.loopback import Answer, Loopback

ROOT = Path(__file__).resolve().parents[1]
FAQ = ROOT / "examples" / "faq.txt"
SECRET = "sk-live-CLI-MUST-NEVER-PRINT-THIS-0123"
OK = {
    "id": "c-1",
    "results": [{"index": 1, "relevance_score": 0.9}, {"index": 0, "relevance_score": 0.1}],
    "meta": {"billed_units": {"search_units": 1}},
}


def env() -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if k not in PROVIDER_KEY_VARS}
    e["COLUMNS"] = "100"
    return e


def cli(*args: str, stdin: str | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "unified_rerank", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env(),
        cwd=cwd,
        timeout=60,
    )


def cohere_args(lb: Loopback) -> list[str]:
    return ["-m", "rerank-v3.5", "--provider", "cohere", "--base-url", lb.url,
            "--api-key", SECRET, "--max-retries", "0"]  # fmt: skip


def test_help_is_fast_and_imports_no_client() -> None:
    code = (
        "import sys; from unified_rerank import cli; cli.build_parser().format_help(); "
        "heavy = {'httpx', 'pydantic', 'bm25s', 'tqdm', 'unified_rerank.client'};"
        "heavy &= set(sys.modules);"
        "print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env())
    assert out.stdout.strip() == "[]", out.stderr
    res = cli("--help")
    assert res.returncode == 0 and "rerank" in res.stdout and "exit codes" in res.stdout


def test_rerank_faq_table() -> None:
    res = cli("rerank", "-q", "how do I reset my password", str(FAQ), "--top-n", "3")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].split() == ["rank", "score", "index", "text"]
    first = lines[1].split()
    assert first[:3] == ["1", first[1], "0"] and float(first[1]) > 0
    assert "reset your password" in lines[1]
    assert len(lines) == 5 and "local/bm25, 3 results" in lines[4]
    assert all(len(line) <= 100 for line in lines)
    assert any(line.endswith("\u2026") for line in lines[1:4])  # long answers cut to the width


def test_rerank_stdin_json() -> None:
    res = cli(
        "rerank", "-q", "password", "--json", "-",
        stdin="office hours\n\n   \nreset your password\nchange password rules\n",
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    body = json.loads(res.stdout)
    assert body["provider"] == "local" and body["model"] == "bm25" and body["object"] == "list"
    assert len(body["results"]) == 3  # blank lines skipped
    assert {r["index"] for r in body["results"][:2]} == {1, 2}
    assert body["results"][2] == {
        "index": 0, "relevance_score": 0.0, "document": {"text": "office hours"}
    }  # fmt: skip


def test_rerank_jsonl_keeps_fields(tmp_path: Path) -> None:
    docs = tmp_path / "docs.jsonl"
    docs.write_text(
        '{"text": "reset your password", "url": "https://x/reset", "n": 1}\n\n'
        '{"text": "office hours", "url": "https://x/hours", "n": 2}\n'
    )
    res = cli("rerank", "-q", "password", "--json", str(docs))
    assert res.returncode == 0, res.stderr
    first = json.loads(res.stdout)["results"][0]
    assert first["index"] == 0
    assert first["document"] == {"text": "reset your password", "url": "https://x/reset", "n": 1}


def test_rerank_against_a_provider_and_auth_failure(loopback: Loopback) -> None:
    loopback.script(Answer(200, OK), Answer(401, {"message": "invalid api token"}))
    res = cli("rerank", "-q", "q", "--json", *cohere_args(loopback), "-", stdin="a\nb\n")
    assert res.returncode == 0, res.stderr
    body = json.loads(res.stdout)
    assert body["provider"] == "cohere" and [r["index"] for r in body["results"]] == [1, 0]
    assert body["usage"] == {"search_units": 1}
    sent = loopback.received[0]
    assert sent.path == "/v2/rerank" and sent.json()["documents"] == ["a", "b"]
    assert sent.headers["Authorization"] == f"Bearer {SECRET}"

    res = cli("rerank", "-q", "q", *cohere_args(loopback), "-", stdin="a\nb\n")
    assert res.returncode == 3
    assert "invalid api token" in res.stderr and SECRET not in res.stderr + res.stdout


def read_out(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def write_queries(path: Path, ids: list[str]) -> None:
    path.write_text(
        "".join(json.dumps({"id": i, "query": f"q {i}", "documents": ["a", "b"]}) + "\n"
                for i in ids)
    )  # fmt: skip


def test_batch_resume_processes_only_missing_ids(loopback: Loopback, tmp_path: Path) -> None:
    ids = ["a", "b", "c", "d", "e"]
    queries, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_queries(queries, ids)
    # An interrupted earlier run: a, c done; b failed; a torn last line for d.
    out.write_text(
        json.dumps({"id": "a", "results": [], "model": "m"}) + "\n"
        + json.dumps({"id": "b", "error": {"type": "ProviderError", "message": "x",
                                           "status_code": 500}}) + "\n"
        + json.dumps({"id": "c", "results": [], "model": "m"}) + "\n"
        + '{"id": "d", "resu'
    )  # fmt: skip
    loopback.script(Answer(200, OK))
    res = cli("batch", str(queries), "-o", str(out), "--concurrency", "2", *cohere_args(loopback))
    assert res.returncode == 0, res.stderr
    sent = sorted(r.json()["query"] for r in loopback.received)
    assert sent == ["q b", "q d", "q e"]  # only the missing and the failed ids
    lines = read_out(out)
    assert sorted(line["id"] for line in lines) == ids  # each id once
    assert "done 3, skipped 2" in res.stderr and "failed 0" in res.stderr
    new = [line for line in lines if line["id"] in ("b", "d", "e")]
    assert all(line["provider"] == "cohere" and line["usage"] == {"search_units": 1}
               for line in new)  # fmt: skip
    assert all([r["index"] for r in line["results"]] == [1, 0] for line in new)


def test_batch_failed_lines_are_recorded_and_retried(loopback: Loopback, tmp_path: Path) -> None:
    queries, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_queries(queries, ["x", "y", "z"])
    loopback.script(Answer(200, OK), Answer(422, {"message": "too many tokens"}), Answer(200, OK))
    res = cli("batch", str(queries), "-o", str(out), "--concurrency", "1", *cohere_args(loopback))
    assert res.returncode == 1
    assert "failed 1" in res.stderr and "retry" in res.stderr
    errors = [line for line in read_out(out) if "error" in line]
    error = {"type": "InvalidRequestError", "message": "too many tokens", "status_code": 422}
    assert errors == [{"id": "y", "error": error}]
    res = cli("batch", str(queries), "-o", str(out), *cohere_args(loopback))
    assert res.returncode == 0 and "done 1, skipped 2" in res.stderr
    lines = read_out(out)
    assert sorted(line["id"] for line in lines) == ["x", "y", "z"]
    assert all("error" not in line for line in lines)


def test_batch_ctrl_c_loses_nothing_and_resumes(loopback: Loopback, tmp_path: Path) -> None:
    ids = [f"id{i}" for i in range(6)]
    queries, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_queries(queries, ids)
    loopback.script(Answer(200, OK, delay=0.3))
    args = ["batch", str(queries), "-o", str(out), "--concurrency", "1", *cohere_args(loopback)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "unified_rerank", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(), cwd=ROOT,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (not out.exists() or out.read_text().count("\n") < 2):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "run the same command again to resume" in err
    text = out.read_text()
    assert text.endswith("\n")
    partial = read_out(out)  # every line complete JSON
    assert 2 <= len(partial) < len(ids)

    loopback.script(Answer(200, OK))
    before = len(loopback.received)
    res = cli(*args)
    assert res.returncode == 0, res.stderr
    assert len(loopback.received) - before == len(ids) - len(partial)
    assert sorted(line["id"] for line in read_out(out)) == ids
