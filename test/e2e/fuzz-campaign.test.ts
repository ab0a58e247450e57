import { describe, expect, it } from 'vitest';
import { failureCount, runFuzzCampaign } from '../src/fuzz/campaign.js';
import { generatedServices } from '../src/proto/generated-services.js';

/**
 * The fuzz campaign of issue 10 (R4) at CI's stride: every agent and controller method gets
 * requests generated from its descriptor plus malformed wire bytes, checked by every oracle.
 * `npm run fuzz` runs the full campaign (10,000 requests); XSCTL_FUZZ_CI_RUNS sets this one's size.
 */
const runs = Number(process.env['XSCTL_FUZZ_CI_RUNS'] ?? 600);

describe('fuzz campaign (CI stride)', () => {
  it(`sends ${runs} generated requests to every agent and controller method, and no oracle fails`, async () => {
    const report = await runFuzzCampaign({ seed: Number(process.env['XSCTL_FUZZ_SEED'] ?? 20261204), runs, reparseStride: 2 });
    const paths = [...(await generatedServices('agent')), ...(await generatedServices('controller'))].flatMap((s) => s.methods.map((m) => m.path));
    // Every method was called (a method added to a proto is fuzzed without editing the fuzzer).
    expect(paths.filter((p) => (report.perMethod[p] ?? 0) === 0)).toEqual([]);
    expect(report.requests).toBeGreaterThanOrEqual(runs);
    // Requests got past the validators too: not a campaign of refusals only.
    const ok = Object.values(report.perService).reduce((n, s) => n + s.ok, 0);
    expect(ok).toBeGreaterThan(report.requests / 10);
    expect(report.failures.slice(0, 5)).toEqual([]);
    expect(failureCount(report)).toBe(0);
  }, 240_000);
});
