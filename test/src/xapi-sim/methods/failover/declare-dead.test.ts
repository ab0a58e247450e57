import { afterEach, describe, expect, it } from 'vitest';
import { XapiClient } from '@xsctl/controller/xapi/index';
import { createScaledClock } from '../../clock.js';
import { HOST_ASSUMED_DEAD_INTERVAL_MS } from '../../host-heartbeat.js';
import { startXapiSimulator, type XapiSimulator } from '../../start-xapi-simulator.js';
import { setXapiState } from '../../xapi-process.js';
import { setHostLive } from './failover-methods.js';

/**
 * A host that dies without a clean shutdown, as xapi sees it (xapi-project/xen-api e2ee48d):
 * - ocaml/xapi/xapi_globs.ml:723 host_assumed_dead_interval = 10 min; db_gc.ml:77-125
 *   check_host_liveness sets host_metrics.live false only once that long passed without a heartbeat;
 * - ocaml/xapi/xapi_host.ml:1000-1028 is_host_alive: live false is definitive, live true means
 *   "ask the host", dead if it does not answer;
 * - ocaml/xapi/xapi_host.ml:1109-1125 precheck_destroy_declare_dead: HOST_IS_LIVE [host] if alive
 *   or if it is the master itself; :1160-1175 declare_dead: power_state_reset of each resident
 *   non-control-domain VM, host.enabled := false; host_metrics.live is not touched.
 */
describe('host.declare_dead and the heartbeat timeout (simulator)', () => {
  let sim: XapiSimulator | undefined;
  afterEach(async () => {
    await sim?.close();
    sim = undefined;
  });

  async function start(factor: number, hostAssumedDeadIntervalMs?: number) {
    const o = (Math.floor(Math.random() * 200) + 20).toString();
    const a2 = `127.${o}.8.12`;
    sim = await startXapiSimulator({
      source: {
        description: {
          pool: { name: 'two-node', master: 'xs2' },
          hosts: [
            { name: 'xs1', address: `127.${o}.8.11`, version: '8.2.1', brand: 'XCP-ng' },
            { name: 'xs2', address: a2, version: '8.2.1', brand: 'XCP-ng' },
          ],
          srs: [{ name: 'drbd-iscsi', type: 'lvmoiscsi', shared: true, sizeGiB: 100 }],
          vms: [
            { name: 'web-1', memoryGiB: 1, vcpus: 1, host: 'xs1', disks: [{ sr: 'drbd-iscsi', sizeGiB: 10 }] },
            { name: 'web-2', memoryGiB: 1, vcpus: 1, host: 'xs1', powerState: 'Paused', disks: [{ sr: 'drbd-iscsi', sizeGiB: 10 }] },
            { name: 'db-1', memoryGiB: 1, vcpus: 1, host: 'xs2', disks: [{ sr: 'drbd-iscsi', sizeGiB: 10 }] },
          ],
        },
      },
      clock: createScaledClock(factor),
      hostListeners: true,
      ...(hostAssumedDeadIntervalMs === undefined ? {} : { hostAssumedDeadIntervalMs }),
    });
    const s = sim;
    const ref = (cls: string, name: string) => s.db.find(cls, (r) => r['name_label'] === name)[0]![0];
    const live = (host: string) => s.db.getRecord('host_metrics', String(s.db.getRecord('host', ref('host', host))['metrics']))['live'];
    const x = await XapiClient.connect({ url: `http://${a2}:${s.port}`, user: 'root', password: 'xsctl-sim', allowPlainHttp: true });
    return { s, ref, live, x };
  }

  it('declare_dead: HOST_IS_LIVE for a host that answers and for the master itself; on a powered-off host still marked live, resets its VMs and disables it', async () => {
    const { s, ref, live, x } = await start(1);
    try {
      await expect(x.callAsync('host.declare_dead', [ref('host', 'xs1') as never])).rejects.toMatchObject({ code: 'HOST_IS_LIVE', params: [ref('host', 'xs1')] });
      await expect(x.callAsync('host.declare_dead', [ref('host', 'xs2') as never])).rejects.toMatchObject({ code: 'HOST_IS_LIVE', params: [ref('host', 'xs2')] });
      expect(s.db.getRecord('VM', ref('VM', 'web-1'))['power_state']).toBe('Running');
      // Powered off: its xapi is gone, its live flag still true (600 s to go).
      setXapiState(s.db, ref('host', 'xs1'), 'down');
      expect(live('xs1')).toBe(true);
      await x.callAsync('host.declare_dead', [ref('host', 'xs1') as never]);
      for (const vm of ['web-1', 'web-2']) expect(s.db.getRecord('VM', ref('VM', vm))).toMatchObject({ power_state: 'Halted', resident_on: 'OpaqueRef:NULL' });
      expect(s.db.getRecord('VM', ref('VM', 'db-1'))).toMatchObject({ power_state: 'Running', resident_on: ref('host', 'xs2') });
      expect(s.db.getRecord('host', ref('host', 'xs1'))['enabled']).toBe(false);
      expect(live('xs1')).toBe(true);
      // dom0 of xs1 is not a regular VM: still resident there.
      expect(s.db.find('VM', (v) => v['is_control_domain'] === true && v['resident_on'] === ref('host', 'xs1'))).toHaveLength(1);
      // Again: nothing left to reset, the host stays disabled.
      await x.callAsync('host.declare_dead', [ref('host', 'xs1') as never]);
      // Marked not live: definitive, without asking (the master's own check aside).
      setXapiState(s.db, ref('host', 'xs1'), 'up');
      setHostLive(s.db, ref('host', 'xs1'), false);
      await x.callAsync('host.declare_dead', [ref('host', 'xs1') as never]);
    } finally {
      await x.close();
    }
  }, 30_000);

  it("host_metrics.live falls host_assumed_dead_interval (600 s by default) after the host's xapi went down, not before; a host back before that keeps it", async () => {
    expect(HOST_ASSUMED_DEAD_INTERVAL_MS).toBe(600_000);
    // 5000x: the 600 s are 120 ms of wall time.
    const { s, ref, live, x } = await start(5000);
    await x.close();
    const clock = s.db.clock;
    setXapiState(s.db, ref('host', 'xs1'), 'down');
    const t0 = clock.now();
    expect(live('xs1')).toBe(true);
    while (live('xs1') === true) await new Promise((r) => setTimeout(r, 2));
    expect(clock.now() - t0).toBeGreaterThanOrEqual(600_000);
    // Back up (Pool.hello) and live; down and up again within the interval: still live after it.
    setHostLive(s.db, ref('host', 'xs1'), true);
    setXapiState(s.db, ref('host', 'xs1'), 'up');
    setXapiState(s.db, ref('host', 'xs1'), 'down');
    setXapiState(s.db, ref('host', 'xs1'), 'up');
    await clock.sleep(700_000);
    expect(live('xs1')).toBe(true);
  }, 30_000);

  it('the interval is configurable (hostAssumedDeadIntervalMs)', async () => {
    const { s, ref, live, x } = await start(100, 30_000);
    await x.close();
    setXapiState(s.db, ref('host', 'xs1'), 'down');
    const t0 = s.db.clock.now();
    while (live('xs1') === true) await new Promise((r) => setTimeout(r, 2));
    const took = s.db.clock.now() - t0;
    expect(took).toBeGreaterThanOrEqual(30_000);
    expect(took).toBeLessThan(600_000);
  }, 30_000);
});
