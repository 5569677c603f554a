#!/usr/bin/env bash
# Creates .venv-infinity (repo root): a separate interpreter with a CPU-only torch and the
# Infinity server (`infinity_emb`), used by tests/test_infinity_server.py (pytest -m infinity).
# Idempotent: a venv that already imports the pinned versions is left as it is.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${UNIFIED_RERANK_INFINITY_VENV:-$ROOT/.venv-infinity}"
PY="$VENV/bin/python"

# torch 2.13.0 (CPU build) lies on this machine's disk; the pip constraint file caps torch, so
# pin it exactly: a plain `torch` or a range could pull a CUDA build.
TORCH="torch==2.13.0"
INFINITY="infinity_emb[server,torch]==0.0.78"
# Versions known to work together with infinity_emb 0.0.78 and torch 2.13.0 (CPU); pinned so
# that a later release of any of them cannot break the server.
PINS=(
  "sentence-transformers==3.4.1"
  "transformers==4.49.0"
  "fastapi==0.165.0"
  "numpy<2"
)

if [ -x "$PY" ] && "$PY" - <<'PY' >/dev/null 2>&1
import importlib.metadata as m
assert m.version("torch").startswith("2.13.0")
assert m.version("infinity_emb") == "0.0.78"
assert m.version("transformers") == "4.49.0"
assert m.version("sentence-transformers") == "3.4.1"
assert m.version("fastapi") == "0.165.0"
PY
then
  echo "infinity venv ready: $VENV"
  exit 0
fi

[ -x "$PY" ] || python3 -m venv "$VENV"
"$PY" -m pip install -q --upgrade pip
"$PY" -m pip install -q "$TORCH"
"$PY" -m pip install -q "$TORCH" "$INFINITY" "${PINS[@]}"
"$PY" -c "import infinity_emb, torch; print('infinity_emb', infinity_emb.__version__, 'torch', torch.__version__)"
echo "infinity venv ready: $VENV"
