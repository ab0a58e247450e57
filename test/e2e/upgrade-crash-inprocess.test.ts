
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Journal } from '@xsctl/controller/journal/journal';
import { WorkflowHalted } from '@xsctl/controller/workflows/engine/workflow-errors';
import { upgradeSimState } from '../src/xapi-sim/methods/upgrade/index.js';
import { demoDescription, finish, newEngine, model, runningGuests, simFor, startUpgrade } from './upgrade-helpers.js';
import { tempDir } from '@xsctl/common/testing/temp-dir';

/**
 * The controller dies right after each journal write of a real rolling upgrade (in-process: the
 * engine stops dead, the simulated pool keeps going, as XAPI would), and a new engine on the same
 * journal resumes. Every run must end the same way, and nothing with a side effect may run twice:
 * exactly one reboot per host and exactly the planned migrations.
 * XSCTL_E2E_CRASH_STRIDE=k tries every k-th boundary only.
 */
const stride = Math.max(1, Number(process.env['XSCTL_E2E_CRASH_STRIDE'] ?? '1'));
const params = { overrides: ['VM_REQUIRES_SR'] };

describe('rolling upgrade survives a controller crash at every step boundary (in-process)', () => {
  it('ends with every host upgraded and enabled, every VM running once, HA restored', { timeout: 600_000 }, async () => {
    let total = 0;
    let plannedMigrations = 0;
    {
      const sim = simFor(await demoDescription((d) => (d.pool.haEnabled = true)), 5000);
      const run = startUpgrade(sim, params, { onStepWrite: (n) => (total = n) });
      const end = await run.engine.wait(run.workflow.id);
      expect(end.state).toBe('done');
      plannedMigrations = upgradeSimState(sim.db).stats.migrations;
      finish(sim);
    }
    expect(total).toBeGreaterThan(50);

    for (let n = 1; n <= total; n += stride) {
      const sim = simFor(await demoDescription((d) => (d.pool.haEnabled = true)), 5000);
      const before = runningGuests(sim);
      const file = join(await tempDir('xsctl-rpu-crash-'), 'journal.sqlite');
      try {
        const journal1 = new Journal(file);
        const first = startUpgrade(sim, params, {
          journal: journal1,
          onStepWrite: (count) => {
            if (count === n) throw new WorkflowHalted('crash');
          },
        });
        const crashed = await first.engine.wait(first.workflow.id);
        expect(crashed.state, `boundary ${n}`).toBe('running');
        journal1.close();

        const journal2 = new Journal(file);
        const second = newEngine(sim, journal2);
        expect(second.resumeAll()).toEqual([first.workflow.id]);
        const end = await second.wait(first.workflow.id);
        expect(end.error, `boundary ${n}`).toBe('');
        expect(end.state, `boundary ${n}`).toBe('done');
        const snap = model(sim);
        expect(snap.hosts.every((h) => h.productVersion === '7.1.1' && h.enabled && h.live), `boundary ${n}`).toBe(true);
        expect(snap.haEnabled, `boundary ${n}`).toBe(true);
        expect([...runningGuests(sim).keys()].sort(), `boundary ${n}`).toEqual([...before.keys()].sort());
        const stats = upgradeSimState(sim.db).stats;
        expect(stats.reboots, `boundary ${n}: reboots`).toBe(3);
        expect(stats.migrations, `boundary ${n}: migrations`).toBe(plannedMigrations);
        journal2.close();
      } finally {
        finish(sim);
      }
    }
  });
});
