import { describe, expect, it } from 'vitest';
import { checkPlanInvariants, planReport, planRollingUpgrade, PlanInputError } from '@xsctl/controller/placement/index';
import { buildPoolModel, isResidentGuest } from '@xsctl/controller/pool-model/index';
import { generatePool, generatePoolRecords } from './generate-pool.js';
import { dbFromRaw, readThroughSimulator } from './read-through-simulator.js';

/** Properties of plans on generated pools: sound, master first, at the bound, deterministic. */
describe('planRollingUpgrade on generated pools', () => {
  for (const [hosts, vms, seed] of [
    [3, 12, 1],
    [4, 40, 2],
    [6, 60, 3],
    [8, 120, 4],
    [10, 150, 5],
  ] as const) {
    it(`${hosts} hosts, ${vms} VMs: master first, sound, at the bound`, () => {
      const model = buildPoolModel(generatePool({ hosts, vms, seed, fill: 0.55 }));
      const plan = planRollingUpgrade(model);
      expect(plan.runnable).toBe(true);
      expect(plan.hosts[0]).toMatchObject({ role: 'master', order: 1, wave: 1 });
      expect(checkPlanInvariants(model, plan)).toEqual([]);
      // The bound, computed here from the model: every running guest once, the master's twice.
      const guests = model.vms.filter(isResidentGuest);
      const bound = guests.reduce((s, v) => s + v.migrateBytes, 0);
      const masterBytes = guests.filter((v) => v.residentOn === model.masterRef).reduce((s, v) => s + v.migrateBytes, 0);
      expect(plan.totals.lowerBoundBytes).toBe(bound);
      expect(plan.totals.migratedBytes).toBe(bound + masterBytes);
      const report = planReport(plan);
      expect(report.totals.migratedBytes).toBe(report.migrations.reduce((s, m) => s + m.memoryBytes, 0));
    });
  }

  it('is deterministic', () => {
    const a = planReport(planRollingUpgrade(buildPoolModel(generatePool({ hosts: 5, vms: 50, seed: 9 }))));
    const b = planReport(planRollingUpgrade(buildPoolModel(generatePool({ hosts: 5, vms: 50, seed: 9 }))));
    expect(a).toEqual(b);
  });

  it("VMs on local SRs: blockers from XAPI's own answer, pinned when overridden", async () => {
    const input = await readThroughSimulator(dbFromRaw(generatePoolRecords({ hosts: 4, vms: 30, seed: 7, localFraction: 0.2 })));
    const model = buildPoolModel(input);
    const local = model.vms.filter((v) => v.name.endsWith('-local') && v.powerState === 'Running');
    expect(local.length).toBeGreaterThan(0);
    const plan = planRollingUpgrade(model);
    expect(plan.runnable).toBe(false);
    expect(plan.blockers.filter((b) => b.code === 'VM_REQUIRES_SR').map((b) => b.vm).sort()).toEqual(local.map((v) => v.name).sort());
    expect(plan.migrations.some((m) => m.vm.endsWith('-local'))).toBe(false);
    const overridden = planRollingUpgrade(model, { overrides: ['VM_REQUIRES_SR'] });
    expect(overridden.runnable).toBe(true);
    expect(overridden.steps.flatMap((s) => s.pinned.map((p) => p.vm)).sort()).toEqual(local.map((v) => v.name).sort());
    expect(checkPlanInvariants(model, overridden)).toEqual([]);
  });

  it('refuses an empty plan, reports hosts that are down', () => {
    const input = generatePool({ hosts: 2, vms: 4, seed: 1 });
    expect(() => planRollingUpgrade(buildPoolModel(input), { exclude: ['host01', 'host02'] })).toThrow(PlanInputError);
    const raw = generatePoolRecords({ hosts: 3, vms: 6, seed: 2 });
    const h3 = Object.values(raw['host']!).find((h) => h['name_label'] === 'host03')!;
    raw['host_metrics']![String(h3['metrics'])]!['live'] = false;
    const plan = planRollingUpgrade(buildPoolModel(generatePool({ hosts: 3, vms: 6, seed: 2 }, undefined)));
    expect(plan.runnable).toBe(true);
    const down = planRollingUpgrade(buildPoolModel({ records: buildRecords(raw), answers: { evacuation: new Map(), bootHere: new Map() } }));
    expect(down.blockers.map((b) => [b.code, b.host])).toContainEqual(['HOST_OFFLINE', 'host03']);
  });

  it('the 32-host, 1,000-VM, 256 GiB pool: no single host has room for the largest VMs, the plan makes it', { timeout: 180_000 }, async () => {
    const input = await readThroughSimulator(dbFromRaw(generatePoolRecords({ hosts: 32, vms: 1000, seed: 7, localFraction: 0.05, fill: 0.9, hostMemoryGiB: 256 })));
    const model = buildPoolModel(input);
    const plan = planRollingUpgrade(model, { overrides: ['VM_REQUIRES_SR'] });
    expect(plan.runnable).toBe(true);
    expect(plan.totals.roomMoves).toBeGreaterThan(0);
    expect(checkPlanInvariants(model, plan)).toEqual([]);
    expect(planRollingUpgrade(model, { overrides: ['VM_REQUIRES_SR'], makeRoom: false }).runnable).toBe(false);
  });
});

import { recordsFromRaw } from '@xsctl/controller/pool-model/index';
function buildRecords(raw: Parameters<typeof recordsFromRaw>[0]): ReturnType<typeof recordsFromRaw> {
  return recordsFromRaw(raw);
}
