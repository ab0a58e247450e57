import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '@xsctl/common/log/create-logger';
import { createScaledClock, DEFAULT_SIM_CREDENTIALS, loadSimulatorDb, recordCalls, setXapiState, startXapiSimulator, type RecordedCall, type XapiSimulator } from '@xsctl/test/xapi-sim/index';
import type { PoolConfig } from '../../config/inventory.js';
import { Journal } from '../../journal/journal.js';
import { WorkflowEngine, type WorkflowEvent } from '../engine/workflow-engine.js';
import { recoverXapi } from './recover-xapi.js';
import type { StorageHost } from './storage-pool.js';

/**
 * Issue 11: "After the storage moves, recover XAPI in the order xapi expects:
 * pool.emergency_transition_to_master on the survivor when the dead host was the pool master;
 * pool.recover_slaves; VM.power_state_reset for the dead host's VMs, only once that host is
 * proven fenced; then restart the VMs that should run." The order below is written from that
 * text and from xapi (ocaml/xapi/xapi_pool.ml: recover_slaves is a master call, so the survivor
 * must be master first; xapi_host.ml declare_dead, the pool's record that the host is dead
 * (hooks, its VMs reset, the host disabled), only for a host proven fenced by power and before
 * the resets; xapi_vm.ml power_state_reset refuses HOST_IS_LIVE for a live host's VM and a start
 * of a VM XAPI still sees Running fails, so every reset precedes the starts), not from
 * recover-xapi.ts. The calls are read on the simulator's side, as they arrive.
 *
 * The pool: xs1 and xs2; web-1 Running and web-2 Paused on xs1, off-1 Halted (affinity xs1),
 * db-1 Running on xs2.
 */
const logger = createLogger('test', { level: 'silent' });
const WATCHED = ['pool.emergency_transition_to_master', 'pool.recover_slaves', 'host.declare_dead', 'VM.power_state_reset', 'VM.start_on', 'VM.start'] as const;

interface Lab {
  sim: XapiSimulator;
  calls: RecordedCall[];
  hosts: Record<'xs1' | 'xs2', StorageHost>;
  pool: PoolConfig;
  vm: (name: string) => string;
}

let sim: XapiSimulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function lab(master: 'xs1' | 'xs2'): Promise<Lab> {
  const rnd = 20 + Math.floor(Math.random() * 200);
  const address = { xs1: `127.${rnd}.7.11`, xs2: `127.${rnd}.7.12` };
  // Boots take 30 simulated seconds; at 200x they take 150 ms.
  const db = await loadSimulatorDb(
    {
      description: {
        pool: { name: 'recover-lab', master },
        hosts: (['xs1', 'xs2'] as const).map((name) => ({ name, address: address[name], version: '8.2.1', brand: 'XCP-ng', memoryGiB: 64 })),
        srs: [{ name: 'drbd-iscsi', type: 'lvmoiscsi', shared: true, sizeGiB: 100 }],
        vms: [
          { name: 'web-1', memoryGiB: 1, vcpus: 1, host: 'xs1', disks: [{ sr: 'drbd-iscsi', sizeGiB: 10 }] },
          { name: 'web-2', memoryGiB: 1, vcpus: 1, host: 'xs1', powerState: 'Paused', disks: [{ sr: 'drbd-iscsi', sizeGiB: 10 }] },
          { name: 'off-1', memoryGiB: 1, vcpus: 1, powerState: 'Halted', affinity: 'xs1', disks: [{ sr: 'drbd-iscsi', sizeGiB: 10 }] },
          { name: 'db-1', memoryGiB: 1, vcpus: 1, host: 'xs2', disks: [{ sr: 'drbd-iscsi', sizeGiB: 10 }] },
        ],
      },
    },
    createScaledClock(200),
  );
  let calls: RecordedCall[] = [];
  sim = await startXapiSimulator({ source: { db }, hostListeners: true, methods: (registry) => (calls = recordCalls(registry, db, WATCHED)) });
  const refOf = (cls: string, name: string) => db.find(cls, (r) => r['name_label'] === name)[0]![0];
  const host = (name: 'xs1' | 'xs2'): StorageHost => ({ name, ref: refOf('host', name), uuid: String(db.getRecord('host', refOf('host', name))['uuid']), address: address[name], hostname: name, isMaster: name === master });
  const pool: PoolConfig = {
    name: 'lab',
    // The controller's configured URL names the pool master's address; the recovery replaces the host.
    xapi: { url: `http://${address[master]}:${sim.port}`, ...DEFAULT_SIM_CREDENTIALS, allowUnauthorized: false, allowPlainHttp: true, followMasterRedirect: false },
    agentPort: 0,
  };
  return { sim, calls, hosts: { xs1: host('xs1'), xs2: host('xs2') }, pool, vm: (name) => refOf('VM', name) };
}

/**
 * The host is gone as a power fence leaves it: its xapi down, host_metrics.live still true (xapi
 * sets it false 600 s after the last heartbeat, db_gc.ml; the simulator as well).
 */
function powerOff(l: Lab, name: 'xs1' | 'xs2'): void {
  setXapiState(l.sim.db, l.hosts[name].ref, 'down');
}

async function recover(l: Lab, failed: 'xs1' | 'xs2', survivor: 'xs1' | 'xs2', fencedByPower: boolean): Promise<{ state: string; error: string | null; warnings: string[] }> {
  const kind = { kind: 'recover', run: (w: Parameters<typeof recoverXapi>[0]) => recoverXapi(w, l.pool, { failed: l.hosts[failed], survivor: l.hosts[survivor] }, fencedByPower), compensate: async () => undefined };
  const engine = new WorkflowEngine({ journal: new Journal(':memory:'), logger, kinds: [kind] });
  const warnings: string[] = [];
  engine.onEvent((e: WorkflowEvent) => {
    if (e.kind === 'warning') warnings.push(String(e.data['message']));
  });
  const row = await engine.wait(engine.start('recover', 'lab', {}, 'test').id);
  await engine.shutdown();
  return { state: row.state, error: row.error ?? null, warnings };
}

/** One line per call: method, where it arrived, and the VM / host names it names. */
function lines(l: Lab): string[] {
  const nameOf = (ref: unknown) => {
    const r = String(ref);
    for (const cls of ['VM', 'host']) if (l.sim.db.has(cls, r)) return String(l.sim.db.getRecord(cls, r)['name_label']);
    return r;
  };
  return l.calls.map((c) => [c.method, `on ${c.on}`, ...c.args.filter((a) => typeof a === 'string' && a.startsWith('OpaqueRef:')).map(nameOf)].join(' '));
}

describe('recoverXapi: the XAPI calls of a failover, in the order xapi expects', () => {
  it('the dead host was the pool master and is fenced by power: transition on the survivor, recover_slaves, every reset, then the starts', async () => {
    const l = await lab('xs1');
    powerOff(l, 'xs1');
    const r = await recover(l, 'xs1', 'xs2', true);
    expect(r, r.error ?? '').toMatchObject({ state: 'done', warnings: [] });
    const got = lines(l);
    // The two resets run side by side, and so do the two starts: their order within a group is free.
    expect(got.slice(0, 3)).toEqual(['pool.emergency_transition_to_master on xs2', 'pool.recover_slaves on xs2', 'host.declare_dead on xs2 xs1']);
    expect(got.slice(3, 5).sort()).toEqual(['VM.power_state_reset on xs2 web-1', 'VM.power_state_reset on xs2 web-2']);
    expect(got.slice(5).sort()).toEqual(['VM.start_on on xs2 web-1 xs2', 'VM.start_on on xs2 web-2 xs2']);
    // The dead host stays marked live (no heartbeat timeout yet) and is disabled by declare_dead.
    expect(l.sim.db.getRecord('host_metrics', String(l.sim.db.getRecord('host', l.hosts.xs1.ref)['metrics']))['live']).toBe(true);
    expect(l.sim.db.getRecord('host', l.hosts.xs1.ref)['enabled']).toBe(false);
    // Neither off-1 (Halted) nor db-1 (the survivor's own) is touched.
    expect(l.sim.db.getRecord('VM', l.vm('off-1'))['power_state']).toBe('Halted');
    for (const vm of ['web-1', 'web-2', 'db-1']) expect(l.sim.db.getRecord('VM', l.vm(vm))).toMatchObject({ power_state: 'Running', resident_on: l.hosts.xs2.ref });
    expect(l.sim.db.masterRef()).toBe(l.hosts.xs2.ref);
  }, 60_000);

  it('the dead host was a slave: no emergency transition; recover_slaves on the master comes first', async () => {
    const l = await lab('xs2');
    powerOff(l, 'xs1');
    const r = await recover(l, 'xs1', 'xs2', true);
    expect(r, r.error ?? '').toMatchObject({ state: 'done' });
    const got = lines(l);
    expect(got.slice(0, 2)).toEqual(['pool.recover_slaves on xs2', 'host.declare_dead on xs2 xs1']);
    expect(got.slice(2, 4).sort()).toEqual(['VM.power_state_reset on xs2 web-1', 'VM.power_state_reset on xs2 web-2']);
    expect(got.slice(4).sort()).toEqual(['VM.start_on on xs2 web-1 xs2', 'VM.start_on on xs2 web-2 xs2']);
  }, 60_000);

  it('fenced by power, yet its xapi answers: declare_dead HOST_IS_LIVE stops the recovery, STORAGE_FENCED_HOST_ANSWERS, nothing reset', async () => {
    const l = await lab('xs2');
    // The fencer read xs1 back off, but xs1's xapi still answers (a BMC wired to another machine).
    const r = await recover(l, 'xs1', 'xs2', true);
    expect(r.state).toBe('failed');
    expect(r.error).toMatch(/xs1 was fenced by power \(read back off\) but its xapi still answers/);
    expect(lines(l)).toEqual(['pool.recover_slaves on xs2', 'host.declare_dead on xs2 xs1']);
    for (const [vm, state] of [['web-1', 'Running'], ['web-2', 'Paused']] as const) expect(l.sim.db.getRecord('VM', l.vm(vm))).toMatchObject({ power_state: state, resident_on: l.hosts.xs1.ref });
    expect(l.sim.db.getRecord('host', l.hosts.xs1.ref)['enabled']).toBe(true);
  }, 60_000);

  it('not fenced by power (self-fencing): the dead host VMs are left as XAPI sees them, with a warning', async () => {
    const l = await lab('xs1');
    // Self-fencing proves nothing about the host's power: its xapi is unreachable, that is all.
    // xapi would accept host.declare_dead now (it only asks the host): the controller must not call it.
    setXapiState(l.sim.db, l.hosts.xs1.ref, 'down');
    const r = await recover(l, 'xs1', 'xs2', false);
    expect(r, r.error ?? '').toMatchObject({ state: 'done' });
    expect(lines(l)).toEqual(['pool.emergency_transition_to_master on xs2', 'pool.recover_slaves on xs2']);
    expect(l.sim.db.getRecord('host', l.hosts.xs1.ref)['enabled']).toBe(true);
    for (const [vm, state] of [['web-1', 'Running'], ['web-2', 'Paused']] as const) expect(l.sim.db.getRecord('VM', l.vm(vm))).toMatchObject({ power_state: state, resident_on: l.hosts.xs1.ref });
    expect(r.warnings).toEqual([expect.stringMatching(/^2 VMs of xs1 left as XAPI sees them: xs1 was not fenced by power/)]);
  }, 60_000);
});
