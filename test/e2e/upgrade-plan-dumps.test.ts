import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { generatePool, generatePoolRecords } from '../src/pools/generate-pool.js';
import { checkPlanInvariants, planRollingUpgrade, rehearse } from '@xsctl/controller/placement/index';
import { buildPoolModel, isResidentGuest } from '@xsctl/controller/pool-model/index';
import { readThroughSimulator } from '../src/pools/read-through-simulator.js';
import { sharedDumpFile } from '../src/xapi-sim/fixture-paths.js';
import { loadPoolDumpFile } from '../src/xapi-sim/load-pool-dump.js';
import { configureUpgradeSim, upgradeSimState } from '../src/xapi-sim/methods/upgrade/index.js';
import { inProcessSim } from '../src/sim-harness/in-process-xapi.js';
import { dbFromRecords, FAST, finish, model, runningGuests, startUpgrade } from './upgrade-helpers.js';

/** Plans and full runs on real pools' dumps (xenadmin's test databases) and on generated pools. */
describe('rolling-upgrade plans on the shared dumps', () => {
  for (const name of ['boston-db.xml', 'state1.xml']) {
    it(`${name}: master first, local-SR VMs are blockers, sound plan`, async () => {
      // Read as a live pool is read: the records, then XAPI's (the simulator's) evacuation answers.
      const input = await readThroughSimulator(await loadPoolDumpFile(sharedDumpFile(name)));
      const snapshot = buildPoolModel(input);
      const plan = planRollingUpgrade(snapshot);
      expect(plan.hosts[0]).toMatchObject({ role: 'master', order: 1 });
      expect(checkPlanInvariants(snapshot, plan)).toEqual([]);
      // Every running guest whose disks sit on a non-shared SR is reported, on its own host.
      const local = snapshot.vms.filter((vm) => isResidentGuest(vm) && vm.srs.some((sr) => snapshot.srs.get(sr)?.shared === false));
      expect(local.length).toBeGreaterThan(0);
      for (const vm of local) {
        const host = snapshot.hosts.find((h) => h.ref === vm.residentOn)?.name;
        expect(plan.blockers).toContainEqual(expect.objectContaining({ vm: vm.name, code: 'VM_REQUIRES_SR', host }));
      }
      expect(plan.runnable).toBe(false);
      // The rehearsal's JSON keeps the documented names.
      const report = rehearse(input);
      expect(Object.keys(report.totals)).toEqual(expect.arrayContaining(['migratedBytes', 'lowerBoundBytes']));
      for (const m of report.migrations) expect(Object.keys(m)).toEqual(expect.arrayContaining(['step', 'vm', 'from', 'to', 'memoryBytes']));
      for (const h of report.hosts) expect(Object.keys(h)).toEqual(expect.arrayContaining(['name', 'uuid', 'role', 'order']));
    });

    it(`${name}: a full run with the local VMs shut down during their host's reboot`, async () => {
      const db = await loadPoolDumpFile(sharedDumpFile(name));
      configureUpgradeSim(db, { timeFactor: FAST });
      const sim = inProcessSim(db);
      try {
        const before = runningGuests(sim);
        const { engine, workflow } = startUpgrade(sim, { overrides: ['VM_REQUIRES_SR'] });
        const end = await engine.wait(workflow.id);
        expect(end.error).toBe('');
        expect(end.state).toBe('done');
        const snap = model(sim);
        expect(new Set(snap.hosts.map((h) => `${h.productVersion} ${h.buildNumber} ${h.hotfixes.join(',')}`)).size).toBe(1);
        expect(snap.hosts.every((h) => h.enabled && h.live)).toBe(true);
        expect([...runningGuests(sim).keys()].sort()).toEqual([...before.keys()].sort());
        expect(upgradeSimState(db).stats.reboots).toBe(snap.hosts.length);
      } finally {
        finish(sim);
      }
    });
  }
});

describe('xsctl upgrade --rolling --plan --from-dump (no controller)', () => {
  it('prints the rehearsal JSON with the documented names', async () => {
    const xsctl = join(import.meta.dirname, '..', '..', 'cli', 'bin', 'xsctl.js');
    const r = await execa(process.execPath, [xsctl, 'upgrade', '--rolling', '--plan', '--from-dump', sharedDumpFile('boston-db.xml'), '--json'], { reject: false, env: { XSCTL_CONFIG: '/nonexistent' } });
    expect(r.exitCode, r.stderr).toBe(1); // not runnable: a VM on local storage
    const out = JSON.parse(r.stdout) as { hosts: Array<Record<string, unknown>>; blockers: Array<Record<string, unknown>>; migrations: Array<Record<string, unknown>>; totals: Record<string, number> };
    expect(out.hosts.map((h) => [h['name'], h['role'], h['order']])).toEqual([['inflames', 'master', 1], ['incubus', 'slave', 2]]);
    expect(out.blockers).toEqual([expect.objectContaining({ vm: 'Demo', code: 'VM_REQUIRES_SR', host: 'inflames' })]);
    expect(out.migrations).toEqual([expect.objectContaining({ step: 2, vm: 'Demo Linux', from: 'incubus', to: 'inflames', memoryBytes: 268435456 })]);
    expect(out.totals).toMatchObject({ migratedBytes: 268435456, lowerBoundBytes: 268435456 });
  });
});

describe('rolling-upgrade runs on generated pools', () => {
  for (const [hosts, vms, seed, down] of [
    [4, 40, 21, 1],
    [6, 72, 22, 1],
    [6, 72, 23, 2],
  ] as const) {
    it(`${hosts} hosts, ${vms} VMs, up to ${down} down at once: capacity holds, never an older host, each VM as planned`, async () => {
      const recs = generatePoolRecords({ hosts, vms, seed, fill: 0.55 });
      const plan = planRollingUpgrade(buildPoolModel(generatePool({ hosts, vms, seed, fill: 0.55 })), { maxHostsDown: down });
      expect(plan.runnable).toBe(true);
      const db = dbFromRecords(recs);
      configureUpgradeSim(db, { timeFactor: 20_000 });
      const sim = inProcessSim(db);
      try {
        const before = runningGuests(sim);
        const { engine, workflow } = startUpgrade(sim, { maxParallel: 4, maxHostsDown: down });
        const end = await engine.wait(workflow.id);
        expect(end.error).toBe('');
        expect(end.state).toBe('done');
        // The simulator refuses NOT_SUPPORTED_DURING_UPGRADE and over-capacity migrations, so
        // finishing proves both; the counts prove the plan was followed.
        const stats = upgradeSimState(db).stats;
        expect(stats.migrations).toBe(plan.totals.migrations);
        expect(stats.migratedBytes).toBe(plan.totals.migratedBytes);
        expect([...runningGuests(sim).keys()].sort()).toEqual([...before.keys()].sort());
        const snap = model(sim);
        expect(snap.hosts.every((h) => h.enabled && h.live && h.productVersion === '8.2.2')).toBe(true);
      } finally {
        finish(sim);
      }
    });
  }
});
