import { afterEach, describe, expect, it } from 'vitest';
import { asRef, XapiClient } from '@xsctl/controller/xapi/index';
import { isTransient } from '@xsctl/controller/workflows/rolling-upgrade/index';
import { buildPoolFromDescription } from '../../build-pool-from-description.js';
import { dispatch } from '../../dispatch.js';
import { demoPoolFile } from '../../fixture-paths.js';
import { readPoolDescriptionFile } from '../../pool-description.js';
import { startXapiSimulator, type XapiSimulator } from '../../start-xapi-simulator.js';
import { XapiFailure } from '../../xapi-failure.js';
import type { XapiDb } from '../../xapi-db.js';
import { configureUpgradeSim, stopUpgradeSim, upgradeSimState } from './index.js';
import { inProcessSim, type InProcessSim } from '../../../sim-harness/in-process-xapi.js';

/** The upgrade operations answer with XAPI's codes, in XAPI's situations. */

const FAST = 5000;
const sims: InProcessSim[] = [];

async function setup(edit?: (d: Awaited<ReturnType<typeof readPoolDescriptionFile>>) => void): Promise<{ sim: InProcessSim; db: XapiDb; call: (m: string, ...a: unknown[]) => Promise<unknown>; ref: (cls: string, name: string) => string }> {
  const d = structuredClone(await readPoolDescriptionFile(demoPoolFile));
  edit?.(d);
  const db = buildPoolFromDescription(d);
  configureUpgradeSim(db, { timeFactor: FAST });
  const sim = inProcessSim(db);
  sims.push(sim);
  const login = async (): Promise<string> => String(await dispatch(sim.env, 'session.login_with_password', ['root', 'in-process'], new AbortController().signal));
  let session = await login();
  // A client's loop: the master's xapi restarting ends every session, and logins wait for it.
  const call = async (m: string, ...a: unknown[]): Promise<unknown> => {
    for (;;) {
      try {
        return await dispatch(sim.env, m, [session, ...a], new AbortController().signal);
      } catch (err) {
        if (!(err instanceof XapiFailure) || err.code !== 'SESSION_INVALID') throw err;
        for (;;) {
          try {
            session = await login();
            break;
          } catch (e) {
            if (!(e instanceof XapiFailure) || e.code !== 'HOST_STILL_BOOTING') throw e;
            await new Promise((r) => setTimeout(r, 5));
          }
        }
      }
    }
  };
  return { sim, db, call, ref: (cls, name) => db.refByName(cls, name) };
}

async function failure(p: Promise<unknown>): Promise<XapiFailure> {
  try {
    await p;
  } catch (err) {
    if (err instanceof XapiFailure) return err;
    throw err;
  }
  throw new Error('expected an XAPI failure');
}

async function waitFor(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

afterEach(() => {
  for (const s of sims.splice(0)) {
    stopUpgradeSim(s.db);
    s.close();
  }
});

describe('simulated XAPI upgrade operations', () => {
  it('reboot of an enabled host: HOST_NOT_DISABLED; then the host empties, goes down (HOST_OFFLINE) and is back with a new boot_time', async () => {
    const { db, call, ref } = await setup();
    const h3 = ref('host', 'xs-demo-3');
    expect((await failure(call('host.reboot', h3))).code).toBe('HOST_NOT_DISABLED');
    const bootBefore = (db.getRecord('host', h3)['other_config'] as Record<string, string>)['boot_time'];
    await call('host.disable', h3);
    await call('host.reboot', h3);
    // xapi_host.ml: host_disabled_until_reboot is written by prepare_for_poweroff, 10 s after the
    // call, so an enable right away is not refused for it.
    await call('host.enable', h3);
    await call('host.disable', h3);
    await waitFor(() => db.getRecord('host_metrics', String(db.getRecord('host', h3)['metrics']))['live'] === false);
    expect((await failure(call('host.disable', h3))).code).toBe('HOST_OFFLINE');
    // vm_evacuation.ml ensure_no_vms: what could move was evacuated, what could not (its disk is
    // on xs-demo-3's local SR) was shut down.
    expect(db.getRecord('VM', ref('VM', 'build-1'))).toMatchObject({ power_state: 'Running' });
    expect(db.getRecord('VM', ref('VM', 'build-1'))['resident_on']).not.toBe(h3);
    expect(db.getRecord('VM', ref('VM', 'ci-scratch-1'))['power_state']).toBe('Halted');
    await waitFor(() => db.getRecord('host', h3)['enabled'] === true);
    expect((db.getRecord('host', h3)['other_config'] as Record<string, string>)['boot_time']).not.toBe(bootBefore);
  });

  it('pool_migrate: VM_REQUIRES_SR, HOST_NOT_ENOUGH_FREE_MEMORY, HOST_DISABLED, OTHER_OPERATION_IN_PROGRESS', async () => {
    const { db, call, ref } = await setup((d) => {
      d.hosts[1]!.memoryGiB = 12;
    });
    const h1 = ref('host', 'xs-demo-1');
    const h2 = ref('host', 'xs-demo-2');
    expect(await failure(call('VM.pool_migrate', ref('VM', 'ci-scratch-1'), h1, {}))).toMatchObject({ code: 'VM_REQUIRES_SR' });
    expect((await failure(call('VM.pool_migrate', ref('VM', 'db-1'), h2, {}))).code).toBe('HOST_NOT_ENOUGH_FREE_MEMORY');
    await call('host.disable', h2);
    expect((await failure(call('VM.pool_migrate', ref('VM', 'web-1'), h2, {}))).code).toBe('HOST_DISABLED');
    const task = String(await call('Async.VM.pool_migrate', ref('VM', 'web-1'), ref('host', 'xs-demo-3'), {}));
    expect((await failure(call('VM.pool_migrate', ref('VM', 'web-1'), ref('host', 'xs-demo-3'), {}))).code).toBe('OTHER_OPERATION_IN_PROGRESS');
    await waitFor(() => db.getRecord('task', task)['status'] !== 'pending');
    expect(db.getRecord('task', task)['status']).toBe('success');
    expect(db.getRecord('VM', ref('VM', 'web-1'))['resident_on']).toBe(ref('host', 'xs-demo-3'));
  });

  it('versions differ: rolling_upgrade_in_progress, and NOT_SUPPORTED_DURING_UPGRADE back to an older host', async () => {
    const { db, call, ref } = await setup();
    const h1 = ref('host', 'xs-demo-1');
    const h2 = ref('host', 'xs-demo-2');
    await call('host.disable', h1);
    await call('host.call_plugin', h1, 'xsctl_simulated_upgrade.py', 'upgrade', {});
    for (const vm of ['web-1', 'web-2', 'db-1']) await call('VM.pool_migrate', ref('VM', vm), h2, {});
    await call('host.reboot', h1);
    await waitFor(() => db.getRecord('host', h1)['enabled'] === true);
    expect((db.getRecord('pool', db.poolRef())['other_config'] as Record<string, string>)['rolling_upgrade_in_progress']).toBe('true');
    await call('VM.pool_migrate', ref('VM', 'web-1'), h1, {});
    expect((await failure(call('VM.pool_migrate', ref('VM', 'web-1'), h2, {}))).code).toBe('NOT_SUPPORTED_DURING_UPGRADE');
    // XAPI's own evacuation of an upgraded host finds no target of the same or a newer version.
    const plan = (await call('host.get_vms_which_prevent_evacuation', h1)) as Record<string, string[]>;
    expect(plan[ref('VM', 'web-1')]?.[0]).toBe('NO_HOSTS_AVAILABLE');
  });

  it('assert_can_evacuate: CANNOT_EVACUATE_HOST with the per-VM reasons; evacuate moves the rest', async () => {
    const { db, call, ref } = await setup();
    const h3 = ref('host', 'xs-demo-3');
    const err = await failure(call('host.assert_can_evacuate', h3));
    expect(err.code).toBe('CANNOT_EVACUATE_HOST');
    expect(err.params[0]).toContain(`VM_REQUIRES_SR,${ref('VM', 'ci-scratch-1')}`);
    expect((await failure(call('host.evacuate', h3))).code).toBe('VM_REQUIRES_SR');
    await call('VM.clean_shutdown', ref('VM', 'ci-scratch-1'));
    await call('host.evacuate', h3);
    expect(db.find('VM', (v) => v['resident_on'] === h3 && v['is_control_domain'] !== true)).toEqual([]);
    expect(upgradeSimState(db).stats.migrations).toBe(2);
  });

  it('HA: HA_IS_ENABLED for new masters, HA_NOT_ENABLED twice off, back on a shared SR', async () => {
    const { db, call, ref } = await setup((d) => (d.pool.haEnabled = true));
    const h2 = ref('host', 'xs-demo-2');
    expect((await failure(call('pool.designate_new_master', h2))).code).toBe('HA_IS_ENABLED');
    // xapi does not look at HA for plugins: updater.py runs (xapi_plugins.ml).
    expect(String(await call('host.call_plugin', h2, 'updater.py', 'check_update', {}))).toMatch(/xen-hypervisor/);
    await call('pool.disable_ha');
    expect((await failure(call('pool.disable_ha'))).code).toBe('HA_NOT_ENABLED');
    expect((await failure(call('pool.enable_ha', [ref('SR', 'Local storage xs-demo-3')], {}))).code).toBe('HA_CONSTRAINT_VIOLATION_SR_NOT_SHARED');
    await call('pool.enable_ha', [ref('SR', 'iscsi-shared')], {});
    expect(db.getRecord('pool', db.poolRef())['ha_enabled']).toBe(true);
    expect((await failure(call('pool.enable_ha', [ref('SR', 'iscsi-shared')], {}))).code).toBe('HA_IS_ENABLED');
    // The WLB flag is a plain field setter: no WLB_NOT_INITIALIZED there.
    await call('pool.set_wlb_enabled', db.poolRef(), true);
    expect(db.getRecord('pool', db.poolRef())['wlb_enabled']).toBe(true);
    // No SR named: xapi picks a shared one for the single statefile (xapi_ha.ml enable).
    await call('pool.disable_ha');
    await call('pool.enable_ha', [], {});
    const statefiles = db.getRecord('pool', db.poolRef())['ha_statefiles'] as string[];
    expect(statefiles.length).toBe(1);
    expect(db.getRecord('VDI', statefiles[0]!)['SR']).toBe(ref('SR', 'iscsi-shared'));
  });

  it('HA on: only a VM with ha_always_run AND restart priority "restart" is protected (helpers.ml vm_should_always_run)', async () => {
    const { db, call, ref } = await setup((d) => (d.pool.haEnabled = true));
    const h1 = ref('host', 'xs-demo-1');
    // The demo pool: db-1 runs with priority "restart" (so always_run), web-1 and web-2 with none.
    expect(db.getRecord('VM', ref('VM', 'db-1'))['ha_always_run']).toBe(true);
    db.update('VM', ref('VM', 'web-1'), { ha_always_run: true, ha_restart_priority: 'best-effort' });
    db.update('VM', ref('VM', 'web-2'), { ha_always_run: false, ha_restart_priority: 'restart' });
    const answer = (await call('host.get_vms_which_prevent_evacuation', h1)) as Record<string, string[]>;
    expect(answer[ref('VM', 'web-1')]).toEqual(['HOST_EVACUATE_VM_NOT_HA_PROTECTED', ref('VM', 'web-1')]);
    expect(answer[ref('VM', 'web-2')]).toEqual(['HOST_EVACUATE_VM_NOT_HA_PROTECTED', ref('VM', 'web-2')]);
    expect(answer[ref('VM', 'db-1')]).toBeUndefined();
  });

  it('plugin failures as xapi reports them: XENAPI_MISSING_PLUGIN [name], UNKNOWN_XENAPI_PLUGIN_FUNCTION [fn]', async () => {
    const { call, ref } = await setup();
    const h2 = ref('host', 'xs-demo-2');
    expect(await failure(call('host.call_plugin', h2, 'nope.py', 'x', {}))).toMatchObject({ code: 'XENAPI_MISSING_PLUGIN', params: ['nope.py'] });
    expect(await failure(call('host.call_plugin', h2, 'updater.py', 'frobnicate', {}))).toMatchObject({ code: 'UNKNOWN_XENAPI_PLUGIN_FUNCTION', params: ['frobnicate'] });
  });

  it("evacuation answers in xapi's order: host-bound devices, PV drivers, networks, CPUs", async () => {
    const { db, call, ref } = await setup();
    const h2 = ref('host', 'xs-demo-2');
    const h1 = ref('host', 'xs-demo-1');
    const faults = upgradeSimState(db).faults;
    faults.pci.add('app-1');
    faults.vgpu.add('app-2');
    faults.noPvDrivers.add('cache-1');
    const answer = (await call('host.get_vms_which_prevent_evacuation', h2)) as Record<string, string[]>;
    expect(answer[ref('VM', 'app-1')]).toEqual(['VM_HAS_PCI_ATTACHED', ref('VM', 'app-1')]);
    expect(answer[ref('VM', 'app-2')]).toEqual(['VM_HAS_VGPU', ref('VM', 'app-2')]);
    expect(answer[ref('VM', 'cache-1')]).toEqual(['VM_LACKS_FEATURE', ref('VM', 'cache-1')]);
    expect((await failure(call('VM.pool_migrate', ref('VM', 'app-1'), h1, {}))).code).toBe('VM_HAS_PCI_ATTACHED');
    // blocked_operations comes first (Xapi_vm_lifecycle.check_operation_error).
    db.update('VM', ref('VM', 'app-1'), { blocked_operations: { pool_migrate: 'keep it here' } });
    expect(await failure(call('VM.pool_migrate', ref('VM', 'app-1'), h1, {}))).toMatchObject({ code: 'OPERATION_BLOCKED', params: [ref('VM', 'app-1'), 'keep it here'] });
    // A network one host lacks: that host refuses the VM, the others take it.
    faults.pci.clear();
    faults.vgpu.clear();
    faults.noPvDrivers.clear();
    db.update('VM', ref('VM', 'app-1'), { blocked_operations: {} });
    faults.networkMissing.set('app-2', new Set(['xs-demo-3']));
    const restricted = (await call('host.get_vms_which_prevent_evacuation', h2)) as Record<string, string[]>;
    expect(restricted[ref('VM', 'app-2')]?.[0]).toBe('VM_REQUIRES_NETWORK');
    expect((await failure(call('VM.assert_can_boot_here', ref('VM', 'app-2'), ref('host', 'xs-demo-3')))).code).toBe('VM_REQUIRES_NETWORK');
    await call('VM.assert_can_boot_here', ref('VM', 'app-2'), h1);
    faults.cpuIncompatible.set('app-2', new Set(['xs-demo-1']));
    expect((await failure(call('VM.assert_can_boot_here', ref('VM', 'app-2'), h1))).code).toBe('VM_INCOMPATIBLE_WITH_THIS_HOST');
  });

  it('memory as xapi counts it: dynamic_min + overhead', async () => {
    const { db, call, ref } = await setup((d) => {
      d.hosts[1]!.memoryGiB = 20;
    });
    const h2 = ref('host', 'xs-demo-2');
    // db-1 does not fit at its static max; ballooned down to 1 GiB it does.
    expect((await failure(call('VM.pool_migrate', ref('VM', 'db-1'), h2, {}))).code).toBe('HOST_NOT_ENOUGH_FREE_MEMORY');
    db.update('VM', ref('VM', 'db-1'), { memory_dynamic_min: 2 ** 30 });
    await call('VM.pool_migrate', ref('VM', 'db-1'), h2, {});
    expect(db.getRecord('VM', ref('VM', 'db-1'))['resident_on']).toBe(h2);
  });

  it('while hosts run different releases, VM snapshots are refused (backup jobs fail)', async () => {
    const { db, call, ref } = await setup();
    await call('VM.snapshot', ref('VM', 'web-1'), 'before');
    const h3 = ref('host', 'xs-demo-3');
    await call('host.disable', h3);
    await call('VM.clean_shutdown', ref('VM', 'ci-scratch-1'));
    await call('host.evacuate', h3);
    await call('host.call_plugin', h3, 'xsctl_simulated_upgrade.py', 'upgrade', {});
    await call('host.reboot', h3);
    await waitFor(() => (db.getRecord('pool', db.poolRef())['other_config'] as Record<string, string>)['rolling_upgrade_in_progress'] === 'true', 10_000);
    expect((await failure(call('VM.snapshot', ref('VM', 'web-1'), 'during'))).code).toBe('NOT_SUPPORTED_DURING_UPGRADE');
  });

  it('a dead but enabled host stays a target: its VMs are refused with HOST_NOT_LIVE', async () => {
    const { db, call, ref } = await setup();
    const h3 = ref('host', 'xs-demo-3');
    db.update('host_metrics', String(db.getRecord('host', h3)['metrics']), { live: false });
    expect((await failure(call('VM.pool_migrate', ref('VM', 'web-1'), h3, {}))).code).toBe('HOST_NOT_LIVE');
    const answer = (await call('host.get_vms_which_prevent_evacuation', ref('host', 'xs-demo-2'))) as Record<string, string[]>;
    expect(answer[ref('VM', 'app-1')]).toEqual(['HOST_NOT_LIVE']);
  });
});

describe('over JSON-RPC with the controller\'s XapiClient', () => {
  let server: XapiSimulator | undefined;
  afterEach(async () => {
    if (server !== undefined) {
      stopUpgradeSim(server.db);
      await server.close();
    }
    server = undefined;
  });

  it('the master reboots under the client: its socket refuses connections, then it is back', async () => {
    const d = structuredClone(await readPoolDescriptionFile(demoPoolFile));
    server = await startXapiSimulator({ source: { description: d } });
    // Down for 3 s of wall time, longer than XapiClient's own retries of an idempotent call.
    configureUpgradeSim(server.db, { timeFactor: FAST, rebootMs: 3000 * FAST });
    const db = server.db;
    const client = await XapiClient.connect({ url: server.url, user: 'root', password: 'xsctl-sim', allowPlainHttp: true });
    try {
      const master = asRef<'host'>(db.masterRef());
      for (const vm of ['web-1', 'web-2', 'db-1']) await client.call('VM.pool_migrate', [asRef<'VM'>(db.refByName('VM', vm)), asRef<'host'>(db.refByName('host', 'xs-demo-2')), {}]);
      await client.call('host.disable', [master]);
      await client.call('host.reboot', [master]);
      await waitFor(() => upgradeSimState(db).masterDown);
      // What the workflow sees through the typed adapter: XAPI unreachable for a while (a transient
      // error): the master's xapi is not running, so nothing accepts the connection.
      const err = await client.getRecord('host', master).then(() => undefined, (e: unknown) => e);
      expect(isTransient(err)).toBe(true);
      await waitFor(() => !upgradeSimState(db).masterDown, 10_000);
      let back: Awaited<ReturnType<typeof client.getRecord<'host'>>> | undefined;
      for (let i = 0; i < 5 && back === undefined; i++) back = await client.getRecord('host', master).catch(() => undefined);
      expect(back?.other_config['agent_start_time']).toBeDefined();
    } finally {
      await client.close();
    }
  });

  it('designate_new_master: the old master answers HOST_IS_SLAVE and the client follows', async () => {
    const d = structuredClone(await readPoolDescriptionFile(demoPoolFile));
    server = await startXapiSimulator({ source: { description: d }, hostListeners: true });
    const db = server.db;
    const url = server.hostUrls.get('127.0.0.11');
    if (url === undefined) return; // no loopback aliases here
    const client = await XapiClient.connect({ url, user: 'root', password: 'xsctl-sim', allowPlainHttp: true, followMasterRedirect: true });
    try {
      await client.call('pool.designate_new_master', [asRef<'host'>(db.refByName('host', 'xs-demo-2'))]);
      const pools = await client.getAllRecords('pool');
      expect([...pools.values()][0]?.master).toBe(db.refByName('host', 'xs-demo-2'));
      expect(client.url).toContain('127.0.0.12');
    } finally {
      await client.close();
    }
  });
});
