import { describe, expect, it } from 'vitest';
import { isRoot } from '../src/fleet/fleet.js';
import { runScenario, scenarios, strideOf } from '../src/fleet/fault-matrix.js';

/**
 * The fault matrix (test/src/fleet/fault-matrix.ts), each row on a fresh namespaced two-node lab
 * through the CLI, the controller process and the agents, with the invariant monitor running.
 * CI runs every k-th row: XSCTL_FAULT_STRIDE=k (default 14: one row), XSCTL_FAULT_OFFSET=o picks which
 * (default 13, the switchover refused on an Inconsistent peer: ~45 s, the one typed refusal the CLI
 * e2e does not cover; storage-failover-cli.test.ts already runs the unplanned failover, the fence
 * and the SIGKILLed controller, and the returning old master (offset 7) cost 110 s at load 8);
 * `npm run test:fault-matrix` runs all of them (k = 1).
 */
const stride = Math.max(1, Number(process.env['XSCTL_FAULT_STRIDE'] ?? '14'));
const offset = Number(process.env['XSCTL_FAULT_OFFSET'] ?? '13');

describe.skipIf(!isRoot())('storage fault matrix', () => {
  for (const s of strideOf(scenarios, stride, offset)) {
    it(s.name, async () => {
      const r = await runScenario(s);
      // The row's own figures (gaps, timelines) go to the log whether it passed or not.
      process.stderr.write(`fault matrix: ${r.scenario}: ${r.passed ? 'passed' : 'FAILED'} in ${r.ms} ms (initiator answers before/after the fault ${r.identitiesBefore}/${r.identitiesAfter}, served after: ${r.servedAfter}): ${r.detail}\n`);
      expect(r.passed, `${r.scenario}: ${r.detail}`).toBe(true);
      expect(r).toMatchObject({ dualPrimary: 0, dualFloatingIp: 0, promotionsWithoutUpToDate: 0 });
    }, 420_000);
  }
});
