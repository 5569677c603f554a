#!/usr/bin/env bash
# Creates .venv-watsonx (repo root): a separate interpreter with IBM's ibm-watsonx-ai SDK, used
# by tests/conformance/test_watsonx_sdk.py to make the same call as our client. A separate
# venv because the SDK pins httpx<0.29 (and pulls pandas), which must not change .venv.
# Idempotent: a venv that already imports the pinned version is left as it is.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${UNIFIED_RERANK_WATSONX_VENV:-$ROOT/.venv-watsonx}"
PY="$VENV/bin/python"
SDK="ibm-watsonx-ai==1.8.1"

if [ -x "$PY" ] && "$PY" -c 'import importlib.metadata as m; assert m.version("ibm-watsonx-ai") == "1.8.1"' >/dev/null 2>&1; then
  echo "watsonx SDK venv ready: $VENV"
  exit 0
fi

[ -x "$PY" ] || python3 -m venv "$VENV"
"$PY" -m pip install -q --upgrade pip
"$PY" -m pip install -q "$SDK"
"$PY" -c "import ibm_watsonx_ai; print('ibm-watsonx-ai', ibm_watsonx_ai.__version__)"
echo "watsonx SDK venv ready: $VENV"
