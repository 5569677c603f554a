#!/usr/bin/env bash
# Services the server tests use, installed idempotently (called by scripts/install-dev.sh):
# - redis-server (Debian package) for the shared Redis cache test;
# - the Portkey JS SDK (npm portkey-ai) into tests/server/js/node_modules (git-ignored),
#   when node and npm are present.
# Anything that cannot be had is reported; the tests that need it then skip with the reason.
set -uo pipefail
cd "$(dirname "$0")/.."

if ! command -v redis-server >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q redis-server >/dev/null 2>&1 \
      || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q redis-server >/dev/null 2>&1; } \
      || echo "install-services: could not install redis-server (the Redis tests will skip)"
  else
    echo "install-services: no redis-server and no root apt-get (the Redis tests will skip)"
  fi
fi
# The Debian package starts a system-wide server; the tests start their own on a free port.

if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  if [ ! -d tests/server/js/node_modules/portkey-ai ]; then
    (cd tests/server/js && npm install --no-audit --no-fund --silent >/dev/null 2>&1) \
      || echo "install-services: npm install failed (the JS SDK test will skip)"
  fi
else
  echo "install-services: no node/npm (the JS SDK test will skip)"
fi
exit 0
