#!/usr/bin/env bash
# The README's test command: system tools (root), dependencies, build, then every test.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -eq 0 ]; then bash scripts/install-system-deps.sh; fi
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run build
npx vitest run
