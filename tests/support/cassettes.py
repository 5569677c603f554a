"""Cassette replay for provider tests.

Cassettes live in ``cassettes/<provider>/<name>.yaml``. They replay with ``record_mode="none"``
and match on method, URL and the JSON body, so a cassette pins the exact wire request.

Re-recording against the live services (real keys, network): set ``UNIFIED_RERANK_RECORD=all``
and the provider's key variable, and run the tests of that provider; secret headers are
filtered before anything is written (see cassettes/README.md).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import vcr
from vcr.cassette import Cassette

ROOT = Path(__file__).resolve().parents[2]
CASSETTES = ROOT / "cassettes"

#: Headers that carry credentials; removed from every recorded request and response.
SECRET_HEADERS = (
    "authorization",
    "api-key",
    "x-api-key",
    "x-portkey-api-key",
    "x-amz-security-token",
    "x-amz-date",
    "x-amz-content-sha256",
    "cookie",
    "set-cookie",
    "ocp-apim-subscription-key",
)

RECORD_MODE = os.environ.get("UNIFIED_RERANK_RECORD", "none")
RECORDING = RECORD_MODE != "none"


def _json_body(r1: Any, r2: Any) -> None:
    def load(body: Any) -> Any:
        if body in (None, b"", ""):
            return None
        if isinstance(body, bytes):
            body = body.decode()
        return json.loads(body)

    a, b = load(r1.body), load(r2.body)
    assert a == b, f"JSON bodies differ:\n{a}\n!=\n{b}"


VCR = vcr.VCR(
    cassette_library_dir=str(CASSETTES),
    record_mode=RECORD_MODE,
    match_on=("method", "uri", "json_body"),
    filter_headers=list(SECRET_HEADERS),
    decode_compressed_response=True,
)
VCR.register_matcher("json_body", _json_body)


@contextmanager
def cassette(provider: str, name: str, **kwargs: Any) -> Iterator[Cassette]:
    """Replay ``cassettes/<provider>/<name>.yaml``; every interaction must be played."""
    with VCR.use_cassette(f"{provider}/{name}.yaml", **kwargs) as cass:
        yield cass
    if not RECORDING:
        assert cass.all_played, f"{provider}/{name}: not every recorded request was sent"


def key(env: str) -> str:
    """The real key when recording, a placeholder when replaying."""
    return os.environ[env] if RECORDING else "test-key-not-a-secret"
