import { describe, expect, it } from 'vitest';
import { asRef } from '@xsctl/controller/xapi/index';
import { upgradeSimState, configureUpgradeSim } from '../src/xapi-sim/methods/upgrade/index.js';
import { demoDescription, finish, model, runningGuests, simFor, startUpgrade } from './upgrade-helpers.js';

/**
 * The rolling-upgrade workflow against the simulator in one process: the real engine, journal,
 * planner and workflow, XAPI's semantics from the simulator, a fast clock.
 */
describe('rolling upgrade of the demo pool (in-process simulator)', () => {
  it('upgrades every host, master first, moves each VM at most as planned, restores HA', async () => {
    const sim = simFor(await demoDescription((d) => (d.pool.haEnabled = true)));
    try {
      const before = runningGuests(sim);
      const { engine, workflow } = startUpgrade(sim, { overrides: ['VM_REQUIRES_SR'] });
      const end = await engine.wait(workflow.id);
      expect(end.error).toBe('');
      expect(end.state).toBe('done');

      const snap = model(sim);
      expect(new Set(snap.hosts.map((h) => h.productVersion))).toEqual(new Set(['7.1.1']));
      expect(new Set(snap.hosts.map((h) => h.hotfixes.join(',')))).toEqual(new Set(['SIM-7.1.1-001,XS71E001,XS71E002']));
      expect(snap.hosts.every((h) => h.enabled && h.live)).toBe(true);
      expect(snap.haEnabled).toBe(true);
      expect(snap.otherConfig['rolling_upgrade_in_progress']).toBeUndefined();

      // Every VM running exactly once; the pinned one is back on its host.
      const after = runningGuests(sim);
      expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
      expect(after.get('ci-scratch-1')).toBe('xs-demo-3');

      // Master first, alone in its wave; each host's steps in the documented order.
      const steps = engine.steps(workflow.id);
      expect(steps.filter((s) => /^wave:\d+:recheck$/.test(s.name)).map((s) => s.host)).toEqual(['xs-demo-1', 'xs-demo-2', 'xs-demo-3']);
      const disables = steps.filter((s) => s.name.endsWith(':disable'));
      expect(disables.map((s) => s.host)).toEqual(['xs-demo-1', 'xs-demo-2', 'xs-demo-3']);
      const firstHost = steps.filter((s) => s.name.startsWith(disables[0]!.name.replace(':disable', ':')));
      const phases = firstHost.map((s) => s.name.split(':')[2]);
      const distinct = phases.filter((p, i) => phases.indexOf(p) === i);
      // The update installs while the VMs leave (it takes effect at the reboot): migrate and action in either order.
      expect(distinct[0]).toBe('disable');
      expect(new Set(distinct.slice(1, 3))).toEqual(new Set(['migrate', 'action']));
      // XenServer 7.1 has no host.disable(host, auto_enable): xapi enables the host at boot and the run disables it again.
      expect(distinct.slice(3)).toEqual(['reboot', 'wait-boot', 'keep-disabled', 'storage', 'enable']);
      expect(disables.every((s) => (s.outcome as { autoEnable?: boolean }).autoEnable === true)).toBe(true);

      // The report says what moved where, and nothing moved more than the plan said.
      const result = end.result as { moves: Array<{ vm: string; from: string; to: string }>; totals: { migratedBytes: number; plannedBytes: number; lowerBoundBytes: number } };
      expect(result.totals.migratedBytes).toBe(result.totals.plannedBytes);
      expect(upgradeSimState(sim.db).stats.migratedBytes).toBe(result.totals.migratedBytes);
      const moved = new Map<string, number>();
      for (const m of result.moves) moved.set(m.vm, (moved.get(m.vm) ?? 0) + 1);
      for (const [vm, n] of moved) expect(n, vm).toBeLessThanOrEqual(['web-1', 'web-2', 'db-1'].includes(vm) ? 2 : 1);
      expect(engine.events(workflow.id).some((e) => e.kind === 'plan')).toBe(true);
    } finally {
      finish(sim);
    }
  });

  for (const action of ['xcp-ng-update', 'apply-updates'] as const) {
    it(`${action}: the update changes xen and xapi, not the platform version, on every host`, async () => {
      const sim = simFor(await demoDescription());
      try {
        const xenBefore = new Set(model(sim).hosts.map((h) => h.software['xen']));
        const { engine, workflow } = startUpgrade(sim, { action, overrides: ['VM_REQUIRES_SR'] });
        const end = await engine.wait(workflow.id);
        expect(end.error).toBe('');
        expect(end.state).toBe('done');
        const after = model(sim).hosts;
        // An update within a release: same product and platform version, a new xen for all.
        expect(new Set(after.map((h) => h.productVersion))).toEqual(new Set(['7.1.0']));
        const xen = new Set(after.map((h) => h.software['xen']));
        expect(xen.size).toBe(1);
        expect(xenBefore.has([...xen][0])).toBe(false);
        expect(after.every((h) => h.pendingGuidances.length === 0)).toBe(true);
        const actions = engine.steps(workflow.id).filter((st) => st.name.endsWith(':action'));
        expect(actions.map((st) => st.intent['action'])).toEqual([action, action, action]);
      } finally {
        finish(sim);
      }
    });
  }

  it('iso: pauses for the admin at each host, who boots the installer and resumes', async () => {
    const sim = simFor(await demoDescription());
    try {
      const { engine, workflow } = startUpgrade(sim, { action: 'iso', overrides: ['VM_REQUIRES_SR'] });
      const admin = await sim.connect();
      for (let i = 0; i < 3; i++) {
        const paused = await engine.wait(workflow.id);
        expect(paused.state).toBe('paused');
        const ask = engine.events(workflow.id).filter((e) => e.kind === 'confirmation-required').pop();
        const hostName = String(ask?.data['host']);
        expect(hostName).toBe(['xs-demo-1', 'xs-demo-2', 'xs-demo-3'][i]);
        // The admin boots the installer ISO: it installs the new release and reboots the (disabled, empty) host.
        const hostRef = asRef<'host'>(sim.db.refByName('host', hostName));
        expect(sim.db.getRecord('host', hostRef)['enabled']).toBe(false);
        await admin.callAsync('host.call_plugin', [hostRef, 'xsctl_simulated_upgrade.py', 'upgrade', {}]);
        await admin.call('host.reboot', [hostRef]);
        engine.resume(workflow.id);
      }
      const end = await engine.wait(workflow.id);
      expect(end.error).toBe('');
      expect(end.state).toBe('done');
      expect(new Set(model(sim).hosts.map((h) => h.productVersion))).toEqual(new Set(['7.1.1']));
      expect(upgradeSimState(sim.db).stats.reboots).toBe(3);
      await admin.close();
    } finally {
      finish(sim);
    }
  });

  it('refuses to start while a VM sits on a local SR, and changes nothing', async () => {
    const sim = simFor(await demoDescription());
    try {
      const { engine, workflow } = startUpgrade(sim, {});
      const end = await engine.wait(workflow.id);
      expect(end.state).toBe('failed');
      expect(end.error).toMatch(/UPGRADE_BLOCKED.*VM_REQUIRES_SR on xs-demo-3 \(ci-scratch-1\)/);
      expect(upgradeSimState(sim.db).stats.migrations).toBe(0);
      expect(model(sim).hosts.every((h) => h.enabled)).toBe(true);
    } finally {
      finish(sim);
    }
  });

  it('a host that never comes back stops the run in a stated, recoverable position', async () => {
    const sim = simFor(await demoDescription((d) => (d.pool.haEnabled = true)));
    configureUpgradeSim(sim.db, {});
    upgradeSimState(sim.db).faults.neverBack.add('xs-demo-2');
    try {
      const before = runningGuests(sim);
      const { engine, workflow } = startUpgrade(sim, { overrides: ['VM_REQUIRES_SR'], hostBootTimeoutSeconds: 1 });
      const end = await engine.wait(workflow.id);
      expect(end.state).toBe('failed');
      expect(end.error).toMatch(/HOST_BOOT_TIMEOUT: xs-demo-2 has not come back/);
      const snap = model(sim);
      const byName = new Map(snap.hosts.map((h) => [h.name, h]));
      // Master upgraded and enabled; the lost host disabled and down; the last one untouched.
      expect(byName.get('xs-demo-1')).toMatchObject({ productVersion: '7.1.1', enabled: true, live: true });
      expect(byName.get('xs-demo-2')).toMatchObject({ enabled: false, live: false });
      expect(byName.get('xs-demo-3')).toMatchObject({ productVersion: '7.1.0', enabled: true, live: true });
      // No VM was on the lost host when it went down.
      expect([...runningGuests(sim).keys()].sort()).toEqual([...before.keys()].sort());
      // Compensations ran: re-enabling the lost host and HA failed (it is offline), and say so.
      const comp = engine.store.compensations(workflow.id);
      expect(comp.find((c) => c.name.startsWith('enable-host:') && c.args['host'] === 'xs-demo-2')?.status).toBe('failed');
      expect(comp.filter((c) => c.name.startsWith('enable-host:') && c.args['host'] !== 'xs-demo-2').every((c) => c.status === 'released')).toBe(true);
      expect(comp.find((c) => c.name === 'restore-ha')?.status).toBe('failed');
      expect(String(comp.find((c) => c.name === 'restore-ha')?.args['error'])).toMatch(/HOST_OFFLINE/);
    } finally {
      finish(sim);
    }
  });

  it('a migration that fails stops the run; the host is enabled again', async () => {
    const sim = simFor(await demoDescription());
    upgradeSimState(sim.db).faults.failMigration.add('app-1');
    try {
      const { engine, workflow } = startUpgrade(sim, { overrides: ['VM_REQUIRES_SR'], maxParallel: 1 });
      const end = await engine.wait(workflow.id);
      expect(end.state).toBe('failed');
      expect(end.error).toMatch(/VM_MIGRATE_FAILED/);
      const snap = model(sim);
      expect(snap.hosts.every((h) => h.enabled && h.live)).toBe(true);
      expect(runningGuests(sim).size).toBe(9);
    } finally {
      finish(sim);
    }
  });

  it('a full destination host stops the run with XAPI\'s error', async () => {
    const sim = simFor(await demoDescription());
    upgradeSimState(sim.db).faults.fullHost.add('xs-demo-3');
    try {
      const { engine, workflow } = startUpgrade(sim, { overrides: ['VM_REQUIRES_SR'] });
      const end = await engine.wait(workflow.id);
      expect(end.state).toBe('failed');
      expect(end.error).toMatch(/HOST_NOT_ENOUGH_FREE_MEMORY/);
      expect(model(sim).hosts.every((h) => h.enabled)).toBe(true);
    } finally {
      finish(sim);
    }
  });
});

describe('rolling upgrade: XAPI semantics the run follows (in-process simulator)', () => {
  it('a VM with a PCI device: blocked by XAPI, unless overridden; then shut down (hard, when the guest ignores it) and started again on its host', async () => {
    const sim = simFor(await demoDescription());
    upgradeSimState(sim.db).faults.pci.add('app-1');
    upgradeSimState(sim.db).faults.ignoreCleanShutdown.add('app-1');
    try {
      const blocked = startUpgrade(sim, { overrides: ['VM_REQUIRES_SR'] });
      const end1 = await blocked.engine.wait(blocked.workflow.id);
      expect(end1.state).toBe('failed');
      expect(end1.error).toMatch(/VM_HAS_PCI_ATTACHED on xs-demo-2 \(app-1\)/);
      expect(upgradeSimState(sim.db).stats.migrations).toBe(0);

      const { engine, workflow } = startUpgrade(sim, { overrides: ['VM_REQUIRES_SR', 'VM_HAS_PCI_ATTACHED'], shutdownTimeoutSeconds: 1 });
      const end = await engine.wait(workflow.id);
      expect(end.error).toBe('');
      expect(end.state).toBe('done');
      const shutdown = engine.steps(workflow.id).find((s) => s.name.includes(':shutdown:') && s.intent['vm'] === 'app-1');
      expect(String((shutdown?.outcome as { how?: string }).how)).toMatch(/^hard/);
      expect(runningGuests(sim).get('app-1')).toBe('xs-demo-2');
      expect(upgradeSimState(sim.db).stats.movesByVm.get(sim.db.refByName('VM', 'app-1'))).toBeUndefined();
    } finally {
      finish(sim);
    }
  });

  it('a release without host.disable(host, auto_enable) (XenServer 7.1): xapi enables the host at boot, the run disables it again until its storage is back', async () => {
    const sim = simFor(await demoDescription());
    try {
      const { engine, workflow } = startUpgrade(sim, { overrides: ['VM_REQUIRES_SR'] });
      const end = await engine.wait(workflow.id);
      expect(end.error).toBe('');
      const steps = engine.steps(workflow.id);
      expect(steps.filter((s) => s.name.endsWith(':disable')).every((s) => (s.outcome as { autoEnable?: boolean }).autoEnable === true)).toBe(true);
      expect(steps.filter((s) => s.name.endsWith(':keep-disabled')).map((s) => (s.outcome as { redisabled?: boolean }).redisabled)).toEqual([true, true, true]);
    } finally {
      finish(sim);
    }
  });

  it('an update whose guidance is a toolstack restart: no reboot, xapi restarted, the pool updated', async () => {
    const sim = simFor(await demoDescription());
    const { nextUpdate } = await import('../src/xapi-sim/methods/upgrade/host-methods.js');
    upgradeSimState(sim.db).config.update = { ...nextUpdate(sim.db), guidance: 'restart_toolstack' };
    try {
      const { engine, workflow } = startUpgrade(sim, { action: 'apply-updates', overrides: ['VM_REQUIRES_SR'] });
      const end = await engine.wait(workflow.id);
      expect(end.error).toBe('');
      expect(end.state).toBe('done');
      expect(upgradeSimState(sim.db).stats.reboots).toBe(0);
      expect(engine.steps(workflow.id).filter((s) => s.name.endsWith(':reboot')).every((s) => (s.outcome as { toolstackOnly?: boolean }).toolstackOnly === true)).toBe(true);
      expect(new Set(model(sim).hosts.map((h) => h.software['xen'])).size).toBe(1);
    } finally {
      finish(sim);
    }
  });

  it('--max-hosts-down 2: the master alone, then the two others together, as the plan proved', async () => {
    const sim = simFor(await demoDescription((d) => {
      for (const h of d.hosts) h.memoryGiB = 64;
    }));
    try {
      const { engine, workflow } = startUpgrade(sim, { overrides: ['VM_REQUIRES_SR'], maxHostsDown: 2 });
      const end = await engine.wait(workflow.id);
      expect(end.error).toBe('');
      expect(end.state).toBe('done');
      const rechecks = engine.steps(workflow.id).filter((s) => /^wave:\d+:recheck$/.test(s.name));
      expect(rechecks.map((s) => s.intent['hosts'])).toEqual([['xs-demo-1'], ['xs-demo-2', 'xs-demo-3']]);
      expect(model(sim).hosts.every((h) => h.productVersion === '7.1.1' && h.enabled)).toBe(true);
    } finally {
      finish(sim);
    }
  });
});
