"""The CLI's input handling, errors and exit codes, called in-process through ``cli.main``
(fast; the end-to-end paths through ``python -m unified_rerank`` are in test_cli.py)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from unified_rerank import cli


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_missing_file_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "rerank", "-q", "q", str(tmp_path / "nope.txt"))
    assert code == 2 and "nope.txt: no such file" in err


def test_unknown_model_and_provider_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    faq = str(Path(__file__).resolve().parents[1] / "examples" / "faq.txt")
    code, _, err = run(capsys, "rerank", "-q", "q", "-m", "local/bm99", faq)
    assert code == 2 and "'local/bm25'" in err and "cross-encoder" in err
    code, _, err = run(capsys, "rerank", "-q", "q", "-m", "BAAI/bge-reranker", faq)
    assert code == 2 and "unknown provider 'BAAI'" in err and "cohere" in err


def test_missing_key_exit_3_before_anything_is_written(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    queries, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    queries.write_text('{"id": 1, "query": "q", "documents": ["a"]}\n')
    code, _, err = run(capsys, "batch", str(queries), "-o", str(out), "-m", "cohere/rerank-v3.5")
    assert code == 3 and "COHERE_API_KEY" in err and not out.exists()


def test_bad_jsonl_documents_name_the_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    docs = tmp_path / "docs.jsonl"
    docs.write_text('{"text": "a"}\n\n{"text": 3}\n')
    code, _, err = run(capsys, "rerank", "-q", "q", str(docs))
    assert code == 2 and f"{docs}:3: expected a JSON object with a string `text`" in err
    docs.write_text('{"text": "a"}\n{"text": \n')
    code, _, err = run(capsys, "rerank", "-q", "q", str(docs))
    assert code == 2 and f"{docs}:2: not valid JSON" in err


def test_jsonl_flag_on_stdin_and_empty_input(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO('{"text": "reset password", "id": 9}\n'))
    code, out, _ = run(capsys, "rerank", "-q", "password", "--jsonl", "--json")
    assert code == 0
    assert json.loads(out)["results"][0]["document"] == {"text": "reset password", "id": 9}
    monkeypatch.setattr("sys.stdin", io.StringIO("\n  \n"))
    code, _, err = run(capsys, "rerank", "-q", "password")
    assert code == 2 and "no documents" in err


def test_bad_batch_lines_are_all_reported(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    queries, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    queries.write_text(
        '{"id": 1, "query": "q", "documents": ["a"]}\n'
        "{oops\n"
        "\n"
        "[1]\n"
        '{"id": 2, "query": "q"}\n'
        '{"id": 1, "query": "q", "documents": ["b"]}\n'
        '{"id": true, "query": "q", "documents": ["b"]}\n'
    )
    code, _, err = run(capsys, "batch", str(queries), "-o", str(out))
    assert code == 2 and "5 bad input line(s), nothing was run" in err
    for expected in (
        ":2: not valid JSON",
        ":4: expected a JSON object",
        ":5: missing documents",
        ":6: id 1 repeats line 1",
        ":7: `id` must be a string or an integer",
    ):
        assert f"{queries}{expected}" in err
    assert not out.exists()


def test_batch_line_with_bad_request_is_recorded_exit_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    queries, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    queries.write_text(
        '{"id": "ok", "query": "password", "documents": ["reset password", "hours"]}\n'
        '{"id": "empty", "query": "password", "documents": []}\n'
    )
    code, _, err = run(capsys, "batch", str(queries), "-o", str(out), "--top-n", "1")
    assert code == 1 and "done 1" in err and "failed 1" in err
    lines = {d["id"]: d for d in map(json.loads, out.read_text().splitlines())}
    assert lines["ok"]["results"][0]["index"] == 0 and len(lines["ok"]["results"]) == 1
    assert lines["ok"]["provider"] == "local" and lines["ok"]["response_id"].startswith("rerank-")
    assert lines["empty"]["error"]["type"] == "InvalidRequestError"
    assert lines["empty"]["error"]["status_code"] is None
    assert "at least one document" in lines["empty"]["error"]["message"]


def test_argparse_rejects_bad_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["rerank", "-q", "q", "--top-n", "0"])
    assert info.value.code == 2 and ">= 1" in capsys.readouterr().err
    assert cli.main([]) == 2


def test_providers_lists_keys_without_values(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from unified_rerank import providers

    secret = "sk-providers-SECRET-never-printed"
    monkeypatch.setenv("COHERE_API_KEY", secret)
    real = providers.get_provider

    def fake(slug: str) -> object:
        if slug == "jina":
            raise ModuleNotFoundError("No module named 'unified_rerank.providers.jina'")
        return real(slug)

    monkeypatch.setattr(providers, "get_provider", fake)
    code, out, _ = run(capsys, "providers")
    assert code == 0 and secret not in out
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    assert set(rows) == set(providers.PROVIDERS)
    assert rows["cohere"][1:] == ["COHERE_API_KEY", "or", "CO_API_KEY", "yes", "-", "10000"]
    assert rows["jina"][1:] == ["?", "not", "installed", "?", "?"]
    assert rows["local"][1:] == ["(none", "needed)", "-", "-", "-"]


def test_table_cuts_text_to_the_width(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    resp = {
        "provider": "local",
        "model": "bm25",
        "results": [
            {"index": 3, "relevance_score": 1.5, "document": {"text": "word " * 30}},
            {"index": 0, "relevance_score": 0.0, "document": {"text": "short\nline"}},
        ],
    }
    buf = io.StringIO()
    cli.print_table(resp, buf)
    lines = buf.getvalue().splitlines()
    assert all(len(line) <= 40 for line in lines)
    assert lines[1].endswith("\u2026") and lines[1].split()[:3] == ["1", "1.5000", "3"]
    assert lines[2].endswith("short line")
