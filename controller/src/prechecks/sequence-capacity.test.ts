import { describe, expect, it } from 'vitest';
import { generatePoolRecords } from '@xsctl/test/pools/generate-pool';
import { snapshotFromRecords, type PoolRecords, type RecordsByRef } from '../workflows/rolling-upgrade/pool-records.js';
import { simulateRollingCapacity } from './sequence-capacity.js';

const GiB = 2 ** 30;

interface HostSpec {
  name: string;
  gib: number;
  version?: string;
  enabled?: boolean;
}
interface VmSpec {
  name: string;
  host: string;
  gib: number;
  /** Disk on the host's local SR. */
  local?: boolean;
}

/** XAPI-shaped records: hosts with their host_metrics, a shared SR seen by all, a local SR per host. */
function pool(hosts: HostSpec[], vms: VmSpec[]): PoolRecords {
  const r: Record<string, RecordsByRef> = { pool: {}, host: {}, host_metrics: {}, VM: {}, VBD: {}, VDI: {}, SR: {}, PBD: {} };
  r['SR']!['OpaqueRef:sr-shared'] = { name_label: 'shared', shared: true, type: 'lvmoiscsi', content_type: '' };
  for (const h of hosts) {
    r['host']![`OpaqueRef:h-${h.name}`] = {
      uuid: `uuid-${h.name}`,
      name_label: h.name,
      enabled: h.enabled ?? true,
      metrics: `OpaqueRef:m-${h.name}`,
      software_version: { product_version: h.version ?? '7.1.0' },
      memory_overhead: 0,
    };
    r['host_metrics']![`OpaqueRef:m-${h.name}`] = { live: true, memory_total: h.gib * GiB, memory_free: 0 };
    r['SR']![`OpaqueRef:sr-local-${h.name}`] = { name_label: `Local storage ${h.name}`, shared: false, type: 'lvm', content_type: 'user' };
    r['PBD']![`OpaqueRef:pbd-shared-${h.name}`] = { host: `OpaqueRef:h-${h.name}`, SR: 'OpaqueRef:sr-shared', currently_attached: true };
    r['PBD']![`OpaqueRef:pbd-local-${h.name}`] = { host: `OpaqueRef:h-${h.name}`, SR: `OpaqueRef:sr-local-${h.name}`, currently_attached: true };
  }
  r['pool']!['OpaqueRef:pool'] = { name_label: 'p', master: `OpaqueRef:h-${hosts[0]!.name}`, ha_enabled: false, wlb_enabled: false };
  for (const v of vms) {
    const vm = `OpaqueRef:vm-${v.name}`;
    r['VM']![vm] = { uuid: `uuid-${v.name}`, name_label: v.name, power_state: 'Running', resident_on: `OpaqueRef:h-${v.host}`, is_control_domain: false, memory_static_max: v.gib * GiB, memory_dynamic_max: v.gib * GiB, memory_overhead: 0 };
    r['VDI']![`OpaqueRef:vdi-${v.name}`] = { SR: v.local ? `OpaqueRef:sr-local-${v.host}` : 'OpaqueRef:sr-shared' };
    r['VBD']![`OpaqueRef:vbd-${v.name}`] = { VM: vm, VDI: `OpaqueRef:vdi-${v.name}`, type: 'Disk', empty: false };
  }
  return r as PoolRecords;
}

const vms = (host: string, count: number, gib: number, prefix = host): VmSpec[] => Array.from({ length: count }, (_, i) => ({ name: `${prefix}-${i}`, host, gib }));

describe('simulateRollingCapacity', () => {
  it('finds a whole-sequence plan, master first, and moves every running agile VM once per step', () => {
    const snap = snapshotFromRecords(pool([{ name: 'a', gib: 16 }, { name: 'b', gib: 16 }, { name: 'c', gib: 16 }], [...vms('a', 4, 2.5), ...vms('b', 4, 2.5), ...vms('c', 4, 2.5)]));
    const r = simulateRollingCapacity(snap);
    expect(r.feasible).toBe(true);
    expect(r.order[0]).toBe('OpaqueRef:h-a');
    expect(r.steps.map((s) => s.host)).toEqual(['a', 'b', 'c']);
    expect(r.steps[0]!.moves).toHaveLength(4);
    // The master's VMs moved to b or c in step 1 must leave again when their host goes.
    const movedTwice = r.steps.flatMap((s) => s.moves).filter((m) => m.vm.startsWith('a-'));
    expect(movedTwice.length).toBeGreaterThan(4);
    for (const s of r.steps) expect(Object.values(s.freeAfter).every((f) => f >= 0)).toBe(true);
  });

  it('tells "every host can evacuate now" from "the whole sequence works" (the report\'s worst case)', () => {
    // A small master; two big hosts. Each host can evacuate today, but once the master is
    // upgraded it is the only place an old host's VMs may go when only upgraded hosts count.
    const snap = snapshotFromRecords(pool([{ name: 'm', gib: 8 }, { name: 'b', gib: 32 }, { name: 'c', gib: 32 }], [...vms('m', 2, 2), ...vms('b', 6, 2), ...vms('c', 6, 2)]));
    const any = simulateRollingCapacity(snap);
    expect(any.feasible).toBe(true);
    const strict = simulateRollingCapacity(snap, { destinations: 'upgraded-only' });
    expect(strict.feasible).toBe(false);
    const short = strict.steps.find((s) => s.shortfalls.length > 0)!;
    expect(short.step).toBe(2);
    expect(short.shortfalls[0]).toMatchObject({ code: 'HOST_NOT_ENOUGH_FREE_MEMORY', requiredBytes: 2 * GiB });
    expect(short.shortfalls[0]!.bestFreeBytes).toBeLessThan(2 * GiB);
  });

  it('reports the step where the pool runs out of room with one host out', () => {
    const snap = snapshotFromRecords(pool([{ name: 'a', gib: 16 }, { name: 'b', gib: 16 }], [...vms('a', 6, 2), ...vms('b', 6, 2)]));
    const r = simulateRollingCapacity(snap);
    expect(r.feasible).toBe(false);
    // b has 4 GiB free: two of a's six VMs fit, four do not.
    expect(r.steps[0]!.moves).toHaveLength(2);
    expect(r.steps[0]!.shortfalls.map((s) => [s.code, s.bestFreeBytes])).toEqual(Array.from({ length: 4 }, () => ['HOST_NOT_ENOUGH_FREE_MEMORY', 0]));
  });

  it('leaves VMs on local storage to the evacuation check and never sends VMs to an older or disabled host', () => {
    const snap = snapshotFromRecords(
      pool(
        [{ name: 'a', gib: 16, version: '7.1.2' }, { name: 'old', gib: 64, version: '7.1.0' }, { name: 'off', gib: 64, enabled: false }, { name: 'c', gib: 16, version: '7.1.2' }],
        [{ name: 'pinned', host: 'a', gib: 4, local: true }, ...vms('a', 2, 4)],
      ),
    );
    const r = simulateRollingCapacity(snap, { order: ['c', 'old', 'off'] });
    expect(r.order).toEqual(['OpaqueRef:h-a', 'OpaqueRef:h-c', 'OpaqueRef:h-old', 'OpaqueRef:h-off']);
    const first = r.steps[0]!;
    expect(first.moves.map((m) => m.vm).sort()).toEqual(['a-0', 'a-1']);
    expect(first.moves.every((m) => m.toRef === 'OpaqueRef:h-c')).toBe(true);
    expect(r.feasible).toBe(true);
  });

  it('searches host orders when the given one does not work', () => {
    // c is still on an older patch level: b's VMs may not go there until c is upgraded, so c must go before b.
    const snap = snapshotFromRecords(
      pool([{ name: 'a', gib: 10, version: '7.1.2' }, { name: 'b', gib: 20, version: '7.1.2' }, { name: 'c', gib: 20, version: '7.1.0' }], [...vms('b', 4, 4), ...vms('c', 1, 4)]),
    );
    const given = simulateRollingCapacity(snap, { order: ['b', 'c'] });
    expect(given.feasible).toBe(false);
    expect(given.steps[1]!.shortfalls).toHaveLength(2);
    const searched = simulateRollingCapacity(snap);
    expect(searched.feasible).toBe(true);
    expect(searched.order).toEqual(['OpaqueRef:h-a', 'OpaqueRef:h-c', 'OpaqueRef:h-b']);
    expect(searched.ordersTried).toBe(2);
  });

  it('is deterministic and handles larger generated pools', () => {
    const records = generatePoolRecords({ hosts: 8, vms: 120, seed: 4, fill: 0.55 });
    const a = simulateRollingCapacity(snapshotFromRecords(records));
    const b = simulateRollingCapacity(snapshotFromRecords(records));
    expect(a).toEqual(b);
    expect(a.feasible).toBe(true);
    expect(a.steps).toHaveLength(8);
  });
});
