import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emergencyTransitionToMaster, XapiClient, XapiError } from '@xsctl/controller/xapi/index';
import { startXapiSimulator, type XapiSimulator } from '../../start-xapi-simulator.js';
import { setXapiState } from '../../xapi-process.js';
import { setHostLive } from './failover-methods.js';

/**
 * XAPI's failover calls as the controller makes them, against the simulator's wire endpoints:
 * xapi_pool.ml emergency_transition_to_master / recover_slaves, xapi_vm.ml power_state_reset.
 */
describe('XAPI failover methods (simulator, JSON-RPC, the controller door)', () => {
  let sim: XapiSimulator;
  const o = (Math.floor(Math.random() * 200) + 20).toString();
  const a1 = `127.${o}.7.11`;
  const a2 = `127.${o}.7.12`;
  const creds = { user: 'root', password: 'xsctl-sim' };

  beforeAll(async () => {
    sim = await startXapiSimulator({
      source: {
        description: {
          pool: { name: 'two-node', master: 'xs1' },
          hosts: [
            { name: 'xs1', address: a1, version: '8.2.1', brand: 'XCP-ng' },
            { name: 'xs2', address: a2, version: '8.2.1', brand: 'XCP-ng' },
          ],
          srs: [{ name: 'drbd-iscsi', type: 'lvmoiscsi', shared: true, sizeGiB: 100 }],
          vms: [
            { name: 'web-1', memoryGiB: 1, vcpus: 1, host: 'xs1', disks: [{ sr: 'drbd-iscsi', sizeGiB: 10 }] },
            { name: 'db-1', memoryGiB: 1, vcpus: 1, host: 'xs2', disks: [{ sr: 'drbd-iscsi', sizeGiB: 10 }] },
          ],
        },
      },
      hostListeners: true,
    });
  });

  afterAll(async () => {
    await sim?.close();
  });

  const ref = (name: string) => sim.db.find('host', (h) => h['name_label'] === name)[0]![0];
  const vm = (name: string) => sim.db.find('VM', (v) => v['name_label'] === name)[0]![0];
  const open = (url: string) => XapiClient.connect({ url, ...creds, allowPlainHttp: true });

  it('VM.power_state_reset refuses a VM whose host is alive: HOST_IS_LIVE, and dom0: CANNOT_RESET_CONTROL_DOMAIN', async () => {
    const x = await open(sim.url);
    try {
      await expect(x.callAsync('VM.power_state_reset', [vm('db-1') as never])).rejects.toMatchObject({ code: 'HOST_IS_LIVE', params: [ref('xs2')] });
      const dom0 = sim.db.find('VM', (v) => v['is_control_domain'] === true)[0]![0];
      await expect(x.callAsync('VM.power_state_reset', [dom0 as never])).rejects.toMatchObject({ code: 'CANNOT_RESET_CONTROL_DOMAIN', params: [dom0] });
    } finally {
      await x.close();
    }
  });

  it('the master dies: its socket refuses; the survivor answers a slave-local login and becomes master', async () => {
    setHostLive(sim.db, ref('xs1'), false);
    setXapiState(sim.db, ref('xs1'), 'down');
    await expect(open(sim.url)).rejects.toThrow();
    // A normal login on the survivor names the (dead) master.
    const slave = await open(`http://${a2}:${sim.port}`).catch((e: unknown) => e);
    expect(slave).toBeInstanceOf(Error);
    await emergencyTransitionToMaster({ hostUrl: `http://${a2}:${sim.port}`, ...creds, allowPlainHttp: true });
    expect(sim.db.masterRef()).toBe(ref('xs2'));
    // Powered off, not shut down: no negative heartbeat, so its live flag stays true (db_gc.ml).
    setHostLive(sim.db, ref('xs1'), true);
  });

  it('recover_slaves skips the unreachable host and takes it back once it answers; power_state_reset halts the VMs of a host marked live that does not answer, DOMAIN_EXISTS for the master own VMs', async () => {
    const x = await open(`http://${a2}:${sim.port}`);
    try {
      // xapi_pool.ml:2214-2238 recover_slaves: every host is asked (nolivecheck), the live flag is not read.
      expect(await x.callAsync('pool.recover_slaves', [])).toEqual([]);
      // xapi_host.ml:1000-1028 is_host_alive: live in the database, so xs1 is asked; it does not
      // answer, so it is dead and the reset goes on (xapi_vm.ml:497-519), the flag untouched.
      expect(sim.db.getRecord('host_metrics', String(sim.db.getRecord('host', ref('xs1'))['metrics']))['live']).toBe(true);
      await x.callAsync('VM.power_state_reset', [vm('web-1') as never]);
      expect(sim.db.getRecord('VM', vm('web-1'))).toMatchObject({ power_state: 'Halted', resident_on: 'OpaqueRef:NULL' });
      // On the new master its own running VM is a live domain: DOMAIN_EXISTS.
      await expect(x.callAsync('VM.power_state_reset', [vm('db-1') as never])).rejects.toBeInstanceOf(XapiError);
      await expect(x.callAsync('VM.power_state_reset', [vm('db-1') as never])).rejects.toMatchObject({ code: 'DOMAIN_EXISTS' });
      // The old master back: recover_slaves brings it in.
      setXapiState(sim.db, ref('xs1'), 'up');
      expect(await x.callAsync('pool.recover_slaves', [])).toEqual([ref('xs1')]);
    } finally {
      await x.close();
    }
  });

  it('emergency_transition_to_master is refused while HA is armed: HA_IS_ENABLED', async () => {
    sim.db.update('pool', sim.db.poolRef(), { ha_enabled: true });
    await expect(emergencyTransitionToMaster({ hostUrl: `http://${a1}:${sim.port}`, ...creds, allowPlainHttp: true })).rejects.toMatchObject({ code: 'HA_IS_ENABLED' });
    sim.db.update('pool', sim.db.poolRef(), { ha_enabled: false });
  });
});
