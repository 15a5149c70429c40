#!/usr/bin/env bash
# Runs the e2e suite: installs the pinned openai SDK with `npm ci` when
# node_modules is missing or older than package-lock.json, then runs every
# *.test.js with node's built-in test runner, one file at a time.
# Env: MODELD_BIN (default bin/modeld), MODELD_MODELS_DIR (default models/).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
command -v node >/dev/null || { echo "e2e: node >= 20 is required (scripts/setup.sh installs it)" >&2; exit 1; }
command -v npm >/dev/null || { echo "e2e: npm is required (scripts/setup.sh installs it)" >&2; exit 1; }
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
exec node --test --test-concurrency=1 --test-reporter=spec "$@"
