"""``local/cross-encoder:<hub id>`` without the hub: a model missing from the local cache fails
at once, before any Hugging Face call, as a connection error saying how to get it; a cached
one loads from the cache only. The hub is never reached (HF_HUB_OFFLINE, or HF_ENDPOINT on a
loopback port); no timing is asserted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("sentence_transformers")

from tests.conftest import PROVIDER_KEY_VARS
from tests.support.loopback import Answer, Loopback, closed_port
from unified_rerank import APIConnectionError, rerank
from unified_rerank.local import cross_encoder

ROOT = Path(__file__).resolve().parents[1]
MISSING = "unified-rerank-tests/never-published-model"


class Recorder:
    """Stands in for ``CrossEncoder``: records how it was asked to load, scores nothing."""

    calls: list[tuple[str, dict[str, Any]]] = []

    def __init__(self, name: str, **kwargs: Any) -> None:
        Recorder.calls.append((name, kwargs))
        raise OSError("recorder: not a real load")


@pytest.fixture(autouse=True)
def recorder(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    Recorder.calls = []
    monkeypatch.setattr(cross_encoder, "_cross_encoder_class", lambda name: Recorder)
    monkeypatch.setattr(cross_encoder, "pick_device", lambda requested=None: "cpu")
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    cross_encoder.clear_cache()
    return Recorder.calls


def call(name: str, cache: Path, **options: Any) -> None:
    rerank(
        model=f"local/cross-encoder:{name}",
        query="q",
        documents=["a"],
        cache_folder=str(cache),
        **options,
    )


def cache_with(cache: Path, repo: str) -> None:
    """The layout huggingface_hub's cache keeps for a downloaded ``config.json``."""
    folder = cache / f"models--{repo.replace('/', '--')}"
    commit = "0123456789abcdef0123456789abcdef01234567"
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text(commit)
    snapshot = folder / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}")


def test_offline_and_not_cached_fails_before_any_hub_call(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, recorder: list[Any]
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(APIConnectionError) as info:
        call(MISSING, tmp_path)
    message = str(info.value)
    assert f"hf download {MISSING}" in message and "HF_HUB_OFFLINE" in message
    assert "\n" not in message
    assert recorder == []  # sentence-transformers (and so the hub) was never asked


def test_unreachable_hub_and_not_cached_fails_after_one_probe(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, recorder: list[Any]
) -> None:
    endpoint = f"http://127.0.0.1:{closed_port()}"
    monkeypatch.setenv("HF_ENDPOINT", endpoint)
    with pytest.raises(APIConnectionError, match="cannot be reached") as info:
        call(MISSING, tmp_path)
    assert endpoint in str(info.value) and recorder == []


def test_cached_model_loads_from_the_cache_only_when_the_hub_is_off(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, recorder: list[Any]
) -> None:
    cache_with(tmp_path, "acme/cached-model")
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(Exception, match="recorder"):
        call("acme/cached-model", tmp_path)
    assert recorder[0][0] == "acme/cached-model"
    assert recorder[0][1]["local_files_only"] is True


def test_reachable_hub_is_left_to_download(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, recorder: list[Any], loopback: Loopback
) -> None:
    loopback.script(Answer(404, {"error": "not found"}))
    monkeypatch.setenv("HF_ENDPOINT", loopback.url)
    with pytest.raises(Exception, match="recorder"):
        call(MISSING, tmp_path)
    assert "local_files_only" not in recorder[0][1]


def test_folders_are_not_hub_ids(tmp_path: Path, recorder: list[Any]) -> None:
    with pytest.raises(Exception, match="recorder"):
        call(str(tmp_path), tmp_path)
    assert "local_files_only" not in recorder[0][1]


def test_cli_exit_3_one_line() -> None:
    env = {k: v for k, v in os.environ.items() if k not in PROVIDER_KEY_VARS}
    env.update(HF_HUB_OFFLINE="1", HF_ENDPOINT=f"http://127.0.0.1:{closed_port()}")
    res = subprocess.run(
        [sys.executable, "-m", "unified_rerank", "rerank", "-q", "q",
         "-m", f"local/cross-encoder:{MISSING}", "-"],
        input="a\nb\n", capture_output=True, text=True, env=env, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert res.returncode == 3, res.stderr
    assert res.stderr.count("\n") == 1 and "hf download" in res.stderr, res.stderr
