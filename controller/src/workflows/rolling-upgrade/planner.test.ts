import { describe, expect, it } from 'vitest';
import { generatePoolRecords } from '@xsctl/test/pools/generate-pool';
import { checkPlanInvariants } from './plan-invariants.js';
import { planReport, planRollingUpgrade, PlanInputError } from './planner.js';
import { snapshotFromRecords, type PoolRecords, type XapiRecordLike } from './pool-records.js';

const GiB = 2 ** 30;

function hostByName(records: PoolRecords, name: string): [string, XapiRecordLike] {
  const hit = Object.entries(records.host ?? {}).find(([, h]) => h['name_label'] === name);
  if (hit === undefined) throw new Error(name);
  return hit;
}

describe('planRollingUpgrade on generated pools', () => {
  for (const [hosts, vms, seed] of [
    [3, 12, 1],
    [4, 40, 2],
    [6, 60, 3],
    [8, 120, 4],
    [10, 150, 5],
  ] as const) {
    it(`${hosts} hosts, ${vms} VMs: master first, sound, close to the bound`, () => {
      const records = generatePoolRecords({ hosts, vms, seed, fill: 0.55 });
      const snapshot = snapshotFromRecords(records);
      const plan = planRollingUpgrade(snapshot);
      expect(plan.runnable).toBe(true);
      expect(plan.blockers).toEqual([]);
      expect(plan.hosts[0]?.role).toBe('master');
      expect(plan.hosts[0]?.order).toBe(1);
      expect(plan.hosts.map((h) => h.order)).toEqual(Array.from({ length: hosts }, (_, i) => i + 1));
      expect(checkPlanInvariants(snapshot, plan)).toEqual([]);
      // Every running guest leaves its host exactly when that host is evacuated; only the master's move twice.
      expect(plan.totals.migratedBytes).toBeGreaterThanOrEqual(plan.totals.lowerBoundBytes);
      expect(plan.totals.migratedBytes).toBe(plan.totals.achievableLowerBoundBytes);
      const report = planReport(plan);
      expect(report.totals.migratedBytes).toBe(report.migrations.reduce((s, m) => s + m.memoryBytes, 0));
      expect(Object.keys(report)).toEqual(expect.arrayContaining(['hosts', 'blockers', 'migrations', 'totals']));
      if (hosts > 7) expect(plan.search.exhaustive).toBe(false);
    });
  }

  it('is deterministic', () => {
    const a = planReport(planRollingUpgrade(snapshotFromRecords(generatePoolRecords({ hosts: 5, vms: 50, seed: 9 }))));
    const b = planReport(planRollingUpgrade(snapshotFromRecords(generatePoolRecords({ hosts: 5, vms: 50, seed: 9 }))));
    expect(a).toEqual(b);
  });

  it('reports VMs on local SRs as blockers, and pins them when the check is overridden', () => {
    const records = generatePoolRecords({ hosts: 4, vms: 30, seed: 7, localFraction: 0.2 });
    const snapshot = snapshotFromRecords(records);
    const plan = planRollingUpgrade(snapshot);
    const local = snapshot.vms.filter((v) => v.name.endsWith('-local') && v.powerState === 'Running');
    expect(local.length).toBeGreaterThan(0);
    expect(plan.runnable).toBe(false);
    expect(plan.blockers.filter((b) => b.code === 'VM_REQUIRES_SR').map((b) => b.vm).sort()).toEqual(local.map((v) => v.name).sort());
    for (const b of plan.blockers) expect(b.host).not.toBe('');
    expect(plan.migrations.some((m) => m.vm.endsWith('-local'))).toBe(false);

    const overridden = planRollingUpgrade(snapshot, { overrides: ['VM_REQUIRES_SR'] });
    expect(overridden.runnable).toBe(true);
    expect(overridden.steps.flatMap((s) => s.pinned.map((p) => p.vm)).sort()).toEqual(local.map((v) => v.name).sort());
    expect(checkPlanInvariants(snapshot, overridden)).toEqual([]);
  });

  it('refuses a plan that does not fit: N-1 capacity over the whole sequence', () => {
    const records = generatePoolRecords({ hosts: 3, vms: 40, seed: 3, hostMemoryGiB: 64, fill: 0.95, vmSizesGiB: [4, 8] });
    const plan = planRollingUpgrade(snapshotFromRecords(records));
    expect(plan.runnable).toBe(false);
    expect(plan.blockers.some((b) => b.code === 'HOST_NOT_ENOUGH_FREE_MEMORY')).toBe(true);
  });

  it('sends the master VMs to the host upgraded last, so nothing moves a third time', () => {
    // master m (small VMs), a and b: a is nearly full, b has room. The master's VMs must go to b or a;
    // they then move once more, to an upgraded host.
    const records = generatePoolRecords({ hosts: 3, vms: 18, seed: 11, hostMemoryGiB: [128, 128, 256], fill: 0.5 });
    const snapshot = snapshotFromRecords(records);
    const plan = planRollingUpgrade(snapshot);
    expect(checkPlanInvariants(snapshot, plan)).toEqual([]);
    const moves = new Map<string, number>();
    for (const m of plan.migrations) moves.set(m.vm, (moves.get(m.vm) ?? 0) + 1);
    expect(Math.max(...moves.values())).toBeLessThanOrEqual(2);
    const step1 = plan.steps[0];
    expect(step1?.migrations.every((m) => !m.final)).toBe(true);
    for (const step of plan.steps.slice(1)) expect(step.migrations.every((m) => m.final)).toBe(true);
  });

  it('excludes a host: never evacuated, may take VMs that then stay', () => {
    const records = generatePoolRecords({ hosts: 4, vms: 24, seed: 5, fill: 0.4 });
    const snapshot = snapshotFromRecords(records);
    const plan = planRollingUpgrade(snapshot, { exclude: ['host04'] });
    const excluded = plan.hosts.find((h) => h.name === 'host04');
    expect(excluded).toMatchObject({ action: 'excluded', order: 0 });
    expect(plan.steps.some((s) => s.host === 'host04')).toBe(false);
    expect(checkPlanInvariants(snapshot, plan)).toEqual([]);
    // With a final destination available for the master's VMs, nothing moves twice.
    expect(plan.totals.vmsMovedMoreThanOnce).toBe(0);
    expect(() => planRollingUpgrade(snapshot, { exclude: ['nope'] })).toThrow(PlanInputError);
  });

  it('continues a pool left half-upgraded: newest hosts are done, never an older destination', () => {
    const records = generatePoolRecords({ hosts: 4, vms: 24, seed: 6, fill: 0.4 });
    const [masterRef, master] = hostByName(records, 'host01');
    const [, h2] = hostByName(records, 'host02');
    for (const h of [master, h2]) h['software_version'] = { ...(h['software_version'] as object), platform_version: '8.3.0', product_version: '8.3.0' };
    const snapshot = snapshotFromRecords(records);
    const plan = planRollingUpgrade(snapshot);
    expect(plan.hosts.filter((h) => h.action === 'done').map((h) => h.name).sort()).toEqual(['host01', 'host02']);
    expect(plan.steps.map((s) => s.host).sort()).toEqual(['host03', 'host04']);
    expect(checkPlanInvariants(snapshot, plan)).toEqual([]);
    for (const m of plan.migrations) expect(['host01', 'host02']).toContain(m.to);
    expect(plan.totals.vmsMovedMoreThanOnce).toBe(0);

    // The master behind a slave: refused.
    master['software_version'] = { ...(master['software_version'] as object), platform_version: '8.2.0', product_version: '8.2.1' };
    const bad = planRollingUpgrade(snapshotFromRecords(records));
    expect(bad.runnable).toBe(false);
    expect(bad.blockers.map((b) => b.code)).toContain('MASTER_NOT_NEWEST');
    expect(masterRef).toBeTruthy();
  });

  it('refuses an empty plan', () => {
    const records = generatePoolRecords({ hosts: 2, vms: 4, seed: 1 });
    expect(() => planRollingUpgrade(snapshotFromRecords(records), { exclude: ['host01', 'host02'] })).toThrow(/nothing to upgrade/);
  });

  it('reports hosts that are down', () => {
    const records = generatePoolRecords({ hosts: 3, vms: 6, seed: 2 });
    const [, h3] = hostByName(records, 'host03');
    (records.host_metrics as Record<string, XapiRecordLike>)[String(h3['metrics'])]!['live'] = false;
    const plan = planRollingUpgrade(snapshotFromRecords(records));
    expect(plan.blockers.map((b) => [b.code, b.host])).toContainEqual(['HOST_OFFLINE', 'host03']);
    expect(plan.runnable).toBe(false);
  });

  it('counts memory the way XAPI does: static_max + overhead, dom0 included', () => {
    const records = generatePoolRecords({ hosts: 2, vms: 2, seed: 4, vmSizesGiB: [4] });
    const snap = snapshotFromRecords(records);
    const vm = snap.vms.find((v) => !v.isControlDomain);
    expect(vm?.requiredBytes).toBe(4 * GiB + (32 + 2) * 2 ** 20);
    expect(vm?.migrateBytes).toBe(4 * GiB);
  });
});
