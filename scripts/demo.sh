#!/usr/bin/env bash
# The README's first command: set up (deps, build) and run the demo on a simulated pool. No root needed.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run build >/dev/null
exec node test/dist/bin/xsctl-demo.js "$@"
