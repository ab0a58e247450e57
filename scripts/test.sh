#!/usr/bin/env bash
# The README's test command: system tools (root), dependencies, build, the mutation-score check, then every test.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -eq 0 ]; then bash scripts/install-system-deps.sh; fi
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run build
# Mutation scores of the modules that decide (docs/CONVENTIONS.md): modules unchanged since their
# recorded run are scored from mutation/incremental/ at no cost; a changed one re-runs only its
# changed mutants. Fails when a module is below its threshold.
node scripts/mutate.mjs --check
# The crash walks kill the controller at journal-write boundaries: every 4th boundary here (CI's
# budget), every one of them in `npm run test:crash-walks`.
export XSCTL_E2E_KILL_STRIDE="${XSCTL_E2E_KILL_STRIDE:-4}"
export XSCTL_E2E_CRASH_STRIDE="${XSCTL_E2E_CRASH_STRIDE:-2}"
# The pinned Node 22/24 runtimes and their better-sqlite3 builds, cached in ~/.cache/xsctl (a cold
# cache costs two ~50 MB npm downloads and two compiles; the controller packaging test needs them).
node packaging/node-runtimes.mjs >/dev/null
npx vitest run
