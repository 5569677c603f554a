#!/usr/bin/env bash
# Install the three packages and every test dependency into .venv, then run all the tests.
# The Infinity end-to-end test gets its own interpreter (.venv-infinity, scripts/infinity-venv.sh);
# set UNIFIED_RERANK_SKIP_INFINITY=1 to skip building it (that test then skips).
# Usage: scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -r requirements/test.txt \
  -e ".[bedrock,bm25,cli]" \
  -e integrations/langchain \
  -e integrations/llama-index
if [ "${UNIFIED_RERANK_SKIP_INFINITY:-0}" != 1 ]; then
  scripts/infinity-venv.sh
fi
.venv/bin/python -m pytest "$@"
