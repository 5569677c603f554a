#!/usr/bin/env bash
# Creates .venv-bench (repo root): a separate interpreter with the LiteLLM proxy
# (`litellm[proxy]`), the baseline bench/server.py compares `unified-rerank serve` with.
# Never part of the project's own environment. Idempotent: a venv that already imports the
# pinned version is left as it is. Not run by install-dev.sh (the benchmark's --quick mode
# skips LiteLLM when this venv is absent, and says so).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${UNIFIED_RERANK_BENCH_VENV:-$ROOT/.venv-bench}"
PY="$VENV/bin/python"
LITELLM_VERSION="${LITELLM_VERSION:-1.80.0}"

if [ -x "$PY" ] && "$PY" -c "import importlib.metadata as m, sys; sys.exit(m.version('litellm') != '$LITELLM_VERSION')" 2>/dev/null \
   && [ -x "$VENV/bin/litellm" ]; then
  echo "litellm venv ready: $VENV"
  exit 0
fi

[ -x "$PY" ] || python3 -m venv "$VENV"
"$PY" -m pip install -q --upgrade pip
"$PY" -m pip install -q "litellm[proxy]==$LITELLM_VERSION"
"$PY" -c "import importlib.metadata as m; print('litellm', m.version('litellm'))"
echo "litellm venv ready: $VENV"
