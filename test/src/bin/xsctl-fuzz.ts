#!/usr/bin/env node
import { fileURLToPath } from 'node:url';
import { failureCount, runFuzzCampaign } from '../fuzz/campaign.js';

/**
 * `npm run fuzz`: the whole campaign (issue 10, R4) with a fixed seed. XSCTL_FUZZ_SEED (default
 * 20261204), XSCTL_FUZZ_RUNS (requests in all, default 10000), XSCTL_FUZZ_REPARSE_STRIDE (every
 * Nth written config through the real tool, default 2), XSCTL_FUZZ_CASES (where failing requests
 * are saved, default test/fixtures/fuzz-cases, which the regression test replays),
 * XSCTL_FUZZ_ONLY (comma-separated gRPC paths), XSCTL_FUZZ_TRACE=1 (each answer to stderr). Progress to stderr, the report as JSON to stdout;
 * exits 1 when any oracle failed.
 */
const env = (k: string, d: string): string => process.env[k] ?? d;
const num = (k: string, d: number): number => {
  const v = Number(env(k, String(d)));
  if (!Number.isInteger(v) || v < 1) {
    process.stderr.write(`xsctl-fuzz: ${k} must be a positive integer\n`);
    process.exit(2);
  }
  return v;
};

const only = env('XSCTL_FUZZ_ONLY', '');
const report = await runFuzzCampaign({
  seed: num('XSCTL_FUZZ_SEED', 20261204),
  runs: num('XSCTL_FUZZ_RUNS', 10_000),
  reparseStride: num('XSCTL_FUZZ_REPARSE_STRIDE', 2),
  casesDir: env('XSCTL_FUZZ_CASES', fileURLToPath(new URL('../../fixtures/fuzz-cases/', import.meta.url))),
  ...(only === '' ? {} : { only: only.split(',') }),
  log: (line) => process.stderr.write(`${line}\n`),
});
const { failures, perMethod: _perMethod, ...summary } = report;
process.stdout.write(`${JSON.stringify({ ...summary, failing: failures.length, firstFailures: failures.slice(0, 10) }, null, 1)}\n`);
process.exit(failureCount(report) === 0 ? 0 : 1);
