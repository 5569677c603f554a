#!/usr/bin/env bash
# Install everything the tests need (scripts/install-dev.sh), then run all the tests offline.
# Usage: scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-dev.sh
.venv/bin/python -m pytest "$@"
