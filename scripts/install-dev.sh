#!/usr/bin/env bash
# Install the four packages (editable) and every test and lint dependency into .venv, the
# separate interpreter of the Infinity end-to-end test (.venv-infinity) unless
# UNIFIED_RERANK_SKIP_INFINITY=1, and that of the watsonx SDK conformance test (.venv-watsonx)
# unless UNIFIED_RERANK_SKIP_WATSONX_SDK=1.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -r requirements/test.txt \
  -e ".[bedrock,bm25,cli,otel,vertex,server]" \
  -e integrations/langchain \
  -e integrations/llama-index \
  -e integrations/haystack
# redis-server and the Portkey JS SDK for the server tests (each skips cleanly without).
scripts/install-services.sh
if [ "${UNIFIED_RERANK_SKIP_INFINITY:-0}" != 1 ]; then
  scripts/infinity-venv.sh
fi
# IBM's watsonx SDK pins httpx<0.29: it gets its own venv for the conformance test.
if [ "${UNIFIED_RERANK_SKIP_WATSONX_SDK:-0}" != 1 ]; then
  scripts/watsonx-sdk-venv.sh
fi
