import { readdir, readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { failureCount, runFuzzCampaign, type FuzzCase } from '../src/fuzz/campaign.js';

/**
 * Every request the fuzz campaign (issue 10, R4) saved as failing, replayed against fresh targets
 * with every oracle: each must now pass them all. `npm run fuzz` writes new cases here
 * (test/fixtures/fuzz-cases); the fix lands with its case.
 */
const casesDir = new URL('../fixtures/fuzz-cases/', import.meta.url);

async function loadCases(): Promise<(FuzzCase & { file: string })[]> {
  const names = (await readdir(casesDir)).filter((n) => n.endsWith('.json')).sort();
  return Promise.all(names.map(async (file) => ({ ...(JSON.parse(await readFile(new URL(file, casesDir), 'utf8')) as FuzzCase), file })));
}

describe('fuzz regression cases', () => {
  it('replays every saved case, each now answered with a typed error and clean on every oracle', async () => {
    const cases = await loadCases();
    expect(cases.length).toBeGreaterThan(0);
    const report = await runFuzzCampaign({ seed: 0, runs: cases.length, reparseStride: 1, replay: cases });
    expect(report.requests).toBe(cases.length);
    expect(report.failures.filter((f) => f.failures.length > 0)).toEqual([]);
    expect(failureCount(report)).toBe(0);
    const answerOf = (file: string) => report.failures[cases.findIndex((c) => c.file === file)]?.answer ?? '';
    // Undecodable bytes: INVALID_ARGUMENT naming the request, on the agent and on the controller (was INTERNAL, no code).
    for (const c of cases.filter((x) => x.kind === 'wire')) expect(answerOf(c.file), c.file).toMatch(/^3 VALIDATION_FAILED: invalid request: the bytes are not a valid \w+ request message/);
    // Refusals name the request's own field (were `spec` and `host`, fields these requests do not have).
    expect(answerOf('xsctl.agent.v1.PeerViewService.GetPeerView-no-storage.json')).toBe('3 VALIDATION_FAILED: invalid watch.storage: required');
    expect(answerOf('xsctl.controller.v1.PoolStorageService.ResolvePoolDrbdSplitBrain-bad-victim.json')).toMatch(/^3 VALIDATION_FAILED: invalid victim: /);
    expect(answerOf('xsctl.agent.v1.PeerViewService.GetPeerView-48dbdcd8.json')).toMatch(/^3 VALIDATION_FAILED: invalid watch\.managementInterface: /);
    // A first heartbeat with a new spec answers within the method's 1.5 s deadline (waited up to 2 s for an observation).
    for (const c of cases.filter((x) => x.failures.some((f) => f.startsWith('no answer within')))) expect(answerOf(c.file), c.file).toBe('0 ');
    // One CHAP user with two secrets: refused before tgt-admin could drop the second secret.
    expect(answerOf('xsctl.agent.v1.TargetService.WriteTargetsConf-chap-user-two-secrets.json')).toMatch(/^3 VALIDATION_FAILED: invalid targets\[1\]\.incomingUser\.password: CHAP user iscsi has another secret/);
  }, 180_000);
});
