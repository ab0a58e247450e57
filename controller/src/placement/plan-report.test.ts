import { describe, expect, it } from 'vitest';
import { hostRef, makeRoomPool, smallPool, vmRef } from '@xsctl/test/pools/small-pool';
import { buildPoolModel, type ModelVm, type PoolModel } from '../pool-model/pool-model.js';
import { blockerMessage, planRollingUpgrade } from './plan.js';
import type { RollingPlan } from './plan-types.js';

/**
 * What the plan reports beside its moves (blockers, pins, per-wave figures, the bound), on small
 * pools worked out by hand: hosts of N GiB with a 1 GiB dom0 offer N-1 GiB to guests
 * (test/src/pools/small-pool.ts); the first host is the master.
 */
const GiB = 2 ** 30;
const moves = (plan: RollingPlan): string[] => plan.migrations.map((m) => `${m.wave}:${m.vm}:${m.from}->${m.to}${m.room ? ':room' : ''}`);
const pool = (hosts: Parameters<typeof smallPool>[0], vms: Parameters<typeof smallPool>[1], answers?: Parameters<typeof smallPool>[2]) => buildPoolModel(smallPool(hosts, vms, answers));
const withVm = (model: PoolModel, name: string, change: Partial<ModelVm>): PoolModel => ({ ...model, vms: model.vms.map((v) => (v.name === name ? { ...v, ...change } : v)) });
/** XAPI's VM.assert_can_boot_here per host for one VM: [] passes, a code refuses. */
const bootHere = (vm: string, perHost: Record<string, string[]>) => new Map([[vmRef(vm), new Map(Object.entries(perHost).map(([h, r]) => [hostRef(h), r]))]]);
const network = (vm: string, host: string, perHost: Record<string, string[]>) => ({
  evacuation: new Map([[hostRef(host), { [vmRef(vm)]: ['VM_REQUIRES_NETWORK', vmRef(vm), 'OpaqueRef:net'] }]]),
  bootHere: bootHere(vm, perHost),
});
const refuse = ['VM_REQUIRES_NETWORK', 'OpaqueRef:net'];

describe('blockerMessage: one sentence per XAPI code', () => {
  it.each([
    ['VM_REQUIRES_SR', 'v1 has a disk on storage no other host can reach (local SR): it cannot leave H'],
    ['HOST_NOT_ENOUGH_FREE_MEMORY', 'no host has room for v1 when H is evacuated (step 3)'],
    ['NO_HOSTS_AVAILABLE', 'no other host can take v1 from H'],
    ['OPERATION_BLOCKED', 'v1 has pool_migrate in blocked_operations'],
    ['OTHER_OPERATION_IN_PROGRESS', 'v1 is busy with another operation'],
    ['VM_HAS_PCI_ATTACHED', 'v1 has a PCI device passed through: it cannot be live-migrated off H'],
    ['VM_HAS_VGPU', 'v1 has a vGPU: it cannot be live-migrated off H'],
    ['VM_HAS_VUSBS', 'v1 has USB passthrough: it cannot be live-migrated off H'],
    ['VM_HAS_SRIOV_VIF', 'v1 has an SR-IOV interface no other host can give it'],
    ['NETWORK_SRIOV_INSUFFICIENT_CAPACITY', 'v1 has an SR-IOV interface no other host can give it'],
    ['VM_LACKS_FEATURE', 'v1 lacks PV drivers (or a guest agent) that live migration needs'],
    ['VM_LACKS_FEATURE_SUSPEND', 'v1 lacks PV drivers (or a guest agent) that live migration needs'],
    ['VM_REQUIRES_NETWORK', 'v1 uses a network no other host has'],
    ['VM_INCOMPATIBLE_WITH_THIS_HOST', 'v1 needs CPU features no other host offers'],
    ['VM_BAD_POWER_STATE', 'v1 is not running (paused?): it cannot be live-migrated off H'],
    // A code without a sentence of its own is named as it is.
    ['VM_REQUIRES_VDI', 'v1 cannot leave H: VM_REQUIRES_VDI'],
    ['', 'v1 cannot leave H: '],
  ])('%s', (code, message) => {
    expect(blockerMessage(code, 'v1', 'H', 3)).toBe(message);
  });
});

describe('blockers and pinned VMs', () => {
  it('a VM with a host-bound device: its params are XAPI\'s; not overridden it is pinned nowhere and not in the bound', () => {
    const answers = { evacuation: new Map([[hostRef('B'), { [vmRef('b1')]: ['VM_HAS_PCI_ATTACHED', vmRef('b1')] }]]), bootHere: new Map() };
    const model = pool([{ name: 'A', gib: 16 }, { name: 'B', gib: 16 }], [{ name: 'b1', host: 'B', gib: 2 }, { name: 'b2', host: 'B', gib: 3 }], answers);
    const plan = planRollingUpgrade(model);
    expect(plan.blockers).toEqual([{ vm: 'b1', vmRef: vmRef('b1'), code: 'VM_HAS_PCI_ATTACHED', host: 'B', params: [vmRef('b1')], check: 'VM_HAS_PCI_ATTACHED', overridden: false, message: 'b1 has a PCI device passed through: it cannot be live-migrated off B' }]);
    // Overridden: pinned on B, shut down for B's reboot.
    expect(planRollingUpgrade(model, { overrides: ['VM_HAS_PCI_ATTACHED'] }).steps.map((s) => s.pinned)).toEqual([[], [{ vm: 'b1', vmRef: vmRef('b1'), vmUuid: 'uuid-b1', host: 'B', hostRef: hostRef('B'), code: 'VM_HAS_PCI_ATTACHED', reason: 'shut down during the reboot, started again after' }]]);
    expect(plan.steps.map((s) => s.pinned)).toEqual([[], []]);
    // Only b2 can move: 3 GiB once; A (the master) has no guests to move twice.
    expect(plan.totals).toMatchObject({ lowerBoundBytes: 3 * GiB, achievableLowerBoundBytes: 3 * GiB });
  });

  it('XAPI refusing a VM without a code: UNKNOWN, named as it is', () => {
    const model = withVm(pool([{ name: 'A', gib: 16 }, { name: 'B', gib: 16 }], [{ name: 'b1', host: 'B', gib: 2 }]), 'b1', { immobile: [] });
    expect(planRollingUpgrade(model).blockers).toEqual([{ vm: 'b1', vmRef: vmRef('b1'), code: 'UNKNOWN', host: 'B', params: [], check: 'UNKNOWN', overridden: false, message: 'b1 cannot leave B: UNKNOWN' }]);
  });

  it('a VM XAPI allows only on its own host cannot move: a blocker from the start, never unplaced at its wave', () => {
    // c1 on C: XAPI accepts it on C only (A and B lack its network).
    const model = pool(['A', 'B', 'C'].map((name) => ({ name, gib: 16 })), [{ name: 'c1', host: 'C', gib: 2 }], network('c1', 'C', { A: refuse, B: refuse, C: [] }));
    const plan = planRollingUpgrade(model);
    expect(plan.blockers).toEqual([{ vm: 'c1', vmRef: vmRef('c1'), code: 'VM_REQUIRES_NETWORK', host: 'C', params: [vmRef('c1'), 'OpaqueRef:net'], check: 'VM_REQUIRES_NETWORK', overridden: false, message: 'c1 uses a network no other host has' }]);
    expect(plan.waves.map((w) => w.unplaced)).toEqual([0, 0, 0]);
    expect(plan.migrations).toEqual([]);
    // Accepted on C and on a host the pool does not have: still nowhere to go.
    const gone = pool(['A', 'B', 'C'].map((name) => ({ name, gib: 16 })), [{ name: 'c1', host: 'C', gib: 2 }], network('c1', 'C', { A: refuse, B: refuse, C: [], Z: [] }));
    expect(planRollingUpgrade(gone).blockers.map((b) => [b.vm, b.code])).toEqual([['c1', 'VM_REQUIRES_NETWORK']]);
    expect(planRollingUpgrade(gone).waves.map((w) => w.unplaced)).toEqual([0, 0, 0]);
    // Accepted on C and on A: it goes to A (upgraded first, a final home), once; the bound counts it.
    const toA = pool(['A', 'B', 'C'].map((name) => ({ name, gib: 16 })), [{ name: 'c1', host: 'C', gib: 2 }], network('c1', 'C', { A: [], B: refuse, C: [] }));
    const planA = planRollingUpgrade(toA);
    expect(planA.blockers).toEqual([]);
    expect(moves(planA)).toEqual(['3:c1:C->A']);
    expect(planA.totals).toMatchObject({ lowerBoundBytes: 2 * GiB, achievableLowerBoundBytes: 2 * GiB });
  });

  it('an overridden VM with nowhere to go is pinned on the host it is on at its wave, not on the one it left', () => {
    // A (master) 16: a1 9 (6 free). B 8 (7 free): b1 7. C 16 (15 free). Order B, C, no room-making.
    // Wave 1 (A): a1 -> C (B is full; C is evacuated later). Wave 2 (B): b1 -> A (15 free).
    // Wave 3 (C): a1 (9) fits neither A (15 - 7 = 8 free) nor B (7 free): pinned on C.
    const model = pool([{ name: 'A', gib: 16 }, { name: 'B', gib: 8 }, { name: 'C', gib: 16 }], [{ name: 'a1', host: 'A', gib: 9 }, { name: 'b1', host: 'B', gib: 7 }]);
    const plan = planRollingUpgrade(model, { makeRoom: false, overrides: ['HOST_NOT_ENOUGH_FREE_MEMORY'], fixedOrder: [hostRef('B'), hostRef('C')] });
    expect(moves(plan)).toEqual(['1:a1:A->C', '2:b1:B->A']);
    expect(plan.blockers.map((b) => [b.vm, b.host, b.code, b.params, b.overridden])).toEqual([['a1', 'C', 'HOST_NOT_ENOUGH_FREE_MEMORY', [String(9 * GiB), String(8 * GiB)], true]]);
    expect(plan.steps.map((s) => [s.host, s.migrations.map((m) => m.vm), s.pinned.map((p) => `${p.vm}@${p.host}`)])).toEqual([['A', ['a1'], []], ['B', ['b1'], []], ['C', [], ['a1@C']]]);
    // Not overridden: a blocker, pinned nowhere.
    const refused = planRollingUpgrade(model, { makeRoom: false, fixedOrder: [hostRef('B'), hostRef('C')] });
    expect(refused.runnable).toBe(false);
    expect(refused.steps.map((s) => s.pinned)).toEqual([[], [], []]);
  });

  it('a VM with nowhere to go in a one-host pool: NO_HOSTS_AVAILABLE with the VM as the param', () => {
    const plan = planRollingUpgrade(pool([{ name: 'A', gib: 16 }], [{ name: 'a1', host: 'A', gib: 2 }]));
    expect(plan.blockers).toEqual([{ vm: 'a1', vmRef: vmRef('a1'), code: 'NO_HOSTS_AVAILABLE', host: 'A', params: [vmRef('a1')], check: 'NO_HOSTS_AVAILABLE', overridden: false, message: 'no other host can take a1 from A' }]);
    // No other host: no tightest one.
    expect(plan.waves.map((w) => [w.tightestHost, w.tightestFreeBytes])).toEqual([['', 0]]);
    expect(plan.capacity.holds).toBe(false);
  });
});

describe('per wave and per step figures', () => {
  it('the tightest host is among the hosts still up, the first of equals in pool order', () => {
    // No guests: every host up has 15 GiB free. Wave 1 (A down): B, C -> B. Wave 2: A, C -> A. Wave 3: A, B -> A.
    const even = planRollingUpgrade(pool(['A', 'B', 'C'].map((name) => ({ name, gib: 16 })), []));
    expect(even.waves.map((w) => [w.hosts, w.hostRefs, w.tightestHost, w.tightestFreeBytes / GiB])).toEqual([
      [['A'], [hostRef('A')], 'B', 15],
      [['B'], [hostRef('B')], 'A', 15],
      [['C'], [hostRef('C')], 'A', 15],
    ]);
    // A 8: a1 6 stays on A (nowhere has 6, no room-making), leaving A 1 GiB: A is down, B (5) is the tightest up.
    const stuck = planRollingUpgrade(pool([{ name: 'A', gib: 8 }, { name: 'B', gib: 8 }], [{ name: 'a1', host: 'A', gib: 6 }, { name: 'b1', host: 'B', gib: 2 }]), { makeRoom: false });
    expect(stuck.waves[0]).toMatchObject({ tightestHost: 'B', tightestFreeBytes: 5 * GiB, freeAfter: { A: 1 * GiB, B: 5 * GiB } });
  });

  it('two hosts down together: each step lists only its own evacuations', () => {
    // A (master), then B and C together (fixed order B, C, D; two down at once), then D. b1 and c1
    // (1 GiB each) go to A, upgraded and final.
    const model = pool(['A', 'B', 'C', 'D'].map((name) => ({ name, gib: 16 })), [{ name: 'b1', host: 'B', gib: 1 }, { name: 'c1', host: 'C', gib: 1 }]);
    const plan = planRollingUpgrade(model, { maxHostsDown: 2, fixedOrder: [hostRef('B'), hostRef('C'), hostRef('D')] });
    expect(moves(plan)).toEqual(['2:b1:B->A', '2:c1:C->A']);
    expect(plan.steps.map((s) => [s.step, s.wave, s.host, s.migrations.map((m) => m.vm)])).toEqual([[1, 1, 'A', []], [2, 2, 'B', ['b1']], [3, 2, 'C', ['c1']], [4, 3, 'D', []]]);
  });

  it('room moves count in the wave and the capacity proof, not in the step of the host evacuated', () => {
    // makeRoomPool (worked out in plan.test.ts): t1 (3) C -> B makes room on C for big (6) from A.
    const model = buildPoolModel(makeRoomPool());
    const plan = planRollingUpgrade(model);
    expect(moves(plan).filter((m) => m.startsWith('1:'))).toEqual(['1:t1:C->B:room', '1:big:A->C']);
    expect(plan.waves[0]).toMatchObject({ migrations: 1, roomMoves: 1, migratedBytes: 9 * GiB });
    expect(plan.capacity.waves[0]).toMatchObject({ placed: 2, unplaced: 0 });
    expect(plan.steps[0]?.migrations.map((m) => m.vm)).toEqual(['big']);
  });
});

describe('the order of the hosts', () => {
  // buildPoolModel lists hosts by name: these models list them otherwise, as a caller may.
  const listed = (model: PoolModel, names: string[]): PoolModel => ({ ...model, hosts: names.map((n) => model.hosts.find((h) => h.name === n)!) });

  it('every order tying, the first by name is kept, whatever order the pool lists the hosts in', () => {
    const plan = planRollingUpgrade(listed(pool(['A', 'B', 'C'].map((name) => ({ name, gib: 16 })), []), ['A', 'C', 'B']));
    expect(plan.hosts.map((h) => [h.name, h.order])).toEqual([['A', 1], ['B', 2], ['C', 3]]);
  });

  it('beyond the exhaustive limit the by-name order is one of the heuristic orders', () => {
    // No guests: light-first is by name (B C D), heavy-first D C B, alternating B D C, by name B C D
    // again: 3 distinct. (Listed A C D B, the list order C D B would be a fourth.)
    const plan = planRollingUpgrade(listed(pool(['A', 'B', 'C', 'D'].map((name) => ({ name, gib: 16 })), []), ['A', 'C', 'D', 'B']), { maxExhaustiveHosts: 2 });
    expect(plan.search).toEqual({ ordersEvaluated: 3, exhaustive: false });
  });

  it('a fixed order: refs the pool does not have are dropped, the hosts it does not name follow', () => {
    const plan = planRollingUpgrade(pool(['A', 'B', 'C', 'D'].map((name) => ({ name, gib: 16 })), []), { fixedOrder: [hostRef('D'), 'OpaqueRef:not-here', hostRef('B')] });
    expect(plan.waves.map((w) => w.hostRefs)).toEqual([[hostRef('A')], [hostRef('D')], [hostRef('B')], [hostRef('C')]]);
    expect(plan.hosts.map((h) => [h.name, h.order])).toEqual([['A', 1], ['D', 2], ['B', 3], ['C', 4]]);
  });
});

describe('which hosts are done, and the bound for the master VMs', () => {
  it('hosts differing only in build_number are at the same release: none is done', () => {
    const model = pool([{ name: 'A', gib: 16, software: { build_number: '2' } }, { name: 'B', gib: 16, software: { build_number: '1' } }], []);
    expect(planRollingUpgrade(model).hosts.map((h) => [h.name, h.action])).toEqual([['A', 'upgrade'], ['B', 'upgrade']]);
  });

  it('a done master has no second move to count', () => {
    // A (master) at 8.3.0 is done; a1 on it does not move; B and C are upgraded, with nothing on them.
    const plan = planRollingUpgrade(pool([{ name: 'A', gib: 16, version: '8.3.0' }, { name: 'B', gib: 16 }, { name: 'C', gib: 16 }], [{ name: 'a1', host: 'A', gib: 2 }]));
    expect(plan.totals).toMatchObject({ migratedBytes: 0, lowerBoundBytes: 0, achievableLowerBoundBytes: 0 });
  });

  it('an excluded host keeps a master VM for good only where XAPI lets it run and when not older than the master', () => {
    // a1 (2) on A; X excluded. XAPI refuses a1 on X: it goes to B and back: 2 + 2 GiB.
    const restricted = pool(['A', 'B', 'X'].map((name) => ({ name, gib: 16 })), [{ name: 'a1', host: 'A', gib: 2 }], network('a1', 'A', { A: [], B: [], X: refuse }));
    const plan = planRollingUpgrade(restricted, { exclude: ['X'] });
    expect(moves(plan)).toEqual(['1:a1:A->B', '2:a1:B->A']);
    expect(plan.totals).toMatchObject({ lowerBoundBytes: 2 * GiB, achievableLowerBoundBytes: 4 * GiB });
    // B at 8.3.0 is done, the master A at 8.2.1 is not (a blocker), X excluded at 8.2.0 is older
    // than A on platform_version: it cannot keep a1, so the bound counts a1 twice.
    const older = pool([{ name: 'A', gib: 16 }, { name: 'B', gib: 16, version: '8.3.0' }, { name: 'X', gib: 16, version: '8.2.0' }], [{ name: 'a1', host: 'A', gib: 2 }]);
    const olderPlan = planRollingUpgrade(older, { exclude: ['X'] });
    expect(olderPlan.blockers.map((b) => b.code)).toEqual(['MASTER_NOT_NEWEST']);
    expect(olderPlan.totals).toMatchObject({ lowerBoundBytes: 2 * GiB, achievableLowerBoundBytes: 4 * GiB });
    // X at 8.2.1, as old as A: it can keep a1, counted once.
    const same = pool([{ name: 'A', gib: 16 }, { name: 'B', gib: 16, version: '8.3.0' }, { name: 'X', gib: 16 }], [{ name: 'a1', host: 'A', gib: 2 }]);
    expect(planRollingUpgrade(same, { exclude: ['X'] }).totals).toMatchObject({ lowerBoundBytes: 2 * GiB, achievableLowerBoundBytes: 2 * GiB });
  });
});
