"""What ``batch -o OUT`` does with what is already there, file errors as one line with exit
2, and empty inputs (``cli.main`` in-process, local BM25: no network)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from unified_rerank import cli

QUERY = {"id": 1, "query": "password", "documents": ["reset password", "office hours"]}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def queries(tmp_path: Path) -> Path:
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps(QUERY) + "\n")
    return path


def one_line(err: str) -> str:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_a_file_that_is_not_ours_is_refused_untouched(
    capsys: pytest.CaptureFixture[str], queries: Path, tmp_path: Path
) -> None:
    out = tmp_path / "notes.txt"
    text = "".join(f"my note {i}\n" for i in range(12))
    out.write_text(text)
    code, _, err = run(capsys, "batch", str(queries), "-o", str(out))
    assert code == 2
    assert f"{out}:1: not a result line" in one_line(err) and "--force" in err
    assert out.read_text() == text
    # A JSON object that is not a result line (our own input, say) is refused too.
    out.write_text(json.dumps(QUERY) + "\n")
    code, _, err = run(capsys, "batch", str(queries), "-o", str(out))
    assert code == 2 and "not a result line" in err
    # One stray line after real results: refused, nothing dropped.
    good = json.dumps({"id": 7, "results": [], "model": "bm25"}) + "\n"
    out.write_text(good + "stray\n")
    code, _, err = run(capsys, "batch", str(queries), "-o", str(out))
    assert code == 2 and f"{out}:2:" in err and out.read_text() == good + "stray\n"


def test_a_last_line_without_newline_that_is_not_ours_is_refused(
    capsys: pytest.CaptureFixture[str], queries: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text("a single line without a newline")
    code, _, err = run(capsys, "batch", str(queries), "-o", str(out))
    assert code == 2 and "not a result line" in err
    assert out.read_text() == "a single line without a newline"


def test_force_replaces_the_file(
    capsys: pytest.CaptureFixture[str], queries: Path, tmp_path: Path
) -> None:
    out = tmp_path / "notes.txt"
    out.write_text("my note\n" * 12)
    code, _, err = run(capsys, "batch", str(queries), "-o", str(out), "--force")
    assert code == 0, err
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["id"] for line in lines] == [1] and lines[0]["results"]


def test_the_input_file_is_never_the_output(
    capsys: pytest.CaptureFixture[str], queries: Path
) -> None:
    before = queries.read_text()
    code, _, err = run(capsys, "batch", str(queries), "-o", str(queries), "--force")
    assert code == 2 and "names the input file" in one_line(err)
    assert queries.read_text() == before


def test_results_of_this_command_resume(
    capsys: pytest.CaptureFixture[str], queries: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out.jsonl"
    code, _, err = run(capsys, "batch", str(queries), "-o", str(out))
    assert code == 0, err
    first = out.read_text()
    code, _, err = run(capsys, "batch", str(queries), "-o", str(out))
    assert code == 0 and "done 0, skipped 1" in err and out.read_text() == first


@pytest.mark.parametrize("where", ["missing-folder", "directory"])
def test_output_path_errors_are_one_line_exit_2(
    capsys: pytest.CaptureFixture[str], queries: Path, tmp_path: Path, where: str
) -> None:
    out = tmp_path / "no" / "such" / "out.jsonl" if where == "missing-folder" else tmp_path
    for extra in ([], ["--force"]):
        code, _, err = run(capsys, "batch", str(queries), "-o", str(out), *extra)
        assert code == 2
        line = one_line(err)
        assert line.startswith(f"error: {out}: ")
        assert ("no folder" in line) if where == "missing-folder" else ("directory" in line)


def test_empty_document_file_is_named(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n")
    code, _, err = run(capsys, "rerank", "-q", "q", str(empty))
    assert code == 2 and f"no documents: {empty} is empty" in one_line(err)
    assert "standard input" not in err


def test_empty_batch_input_is_exit_2_like_rerank(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    empty, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    empty.write_text("")
    code, _, err = run(capsys, "batch", str(empty), "-o", str(out))
    assert code == 2 and f"{empty}: no queries" in one_line(err)
    assert not out.exists()


def test_missing_optional_package_is_exit_2_in_both_commands(
    capsys: pytest.CaptureFixture[str],
    queries: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "bm25s", None)  # `import bm25s` raises ImportError
    docs = tmp_path / "docs.txt"
    docs.write_text("reset password\noffice hours\n")
    code, _, err = run(capsys, "rerank", "-q", "password", str(docs))
    assert code == 2 and "pip install 'unified-rerank[bm25]'" in one_line(err)
    out = tmp_path / "out.jsonl"
    code, _, err = run(capsys, "batch", str(queries), "-o", str(out))
    assert code == 2 and "pip install 'unified-rerank[bm25]'" in one_line(err)
    assert "error" not in out.read_text()  # no per-line error records
