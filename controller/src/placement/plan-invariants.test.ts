import { describe, expect, it } from 'vitest';
import { hostRef, smallPool, vmRef } from '@xsctl/test/pools/small-pool';
import { buildPoolModel, type ModelVm, type PoolModel } from '../pool-model/pool-model.js';
import { checkPlanInvariants } from './plan-invariants.js';
import type { HostAction, PlannedMigration, RollingPlan } from './plan-types.js';

/**
 * The invariant checker on plans written by hand (not by the planner), each breaking one rule, so
 * every message is expected from the rule alone. Hosts of N GiB offer N GiB with a 1 GiB dom0 on
 * each (test/src/pools/small-pool.ts): N-1 GiB free for guests. A is the master in every pool.
 */
const GiB = 2 ** 30;

interface HostLine {
  name: string;
  action?: HostAction;
  order?: number;
  wave?: number;
  role?: 'master' | 'slave';
}

/** [wave, vm, from, to] or [wave, vm, from, to, 'room']. */
type MoveLine = [number, string, string, string] | [number, string, string, string, 'room'];

function handPlan(model: PoolModel, hosts: readonly HostLine[], moves: readonly MoveLine[], extra: { pinned?: string[]; blocked?: string[]; maxHostsDown?: number } = {}): RollingPlan {
  const migration = ([wave, vm, from, to, room]: MoveLine): PlannedMigration => ({
    step: 0,
    wave,
    vm,
    vmRef: vmRef(vm),
    vmUuid: `uuid-${vm}`,
    from,
    fromRef: hostRef(from),
    to,
    toRef: hostRef(to),
    memoryBytes: 0,
    requiredBytes: 0,
    final: false,
    room: room === 'room',
  });
  return {
    pool: 'p',
    poolRef: 'OpaqueRef:pool',
    hosts: hosts.map((h) => ({
      ref: hostRef(h.name),
      uuid: `uuid-${h.name}`,
      name: h.name,
      role: h.role ?? (hostRef(h.name) === model.masterRef ? 'master' : 'slave'),
      order: h.order ?? 0,
      wave: h.wave ?? 0,
      action: h.action ?? 'upgrade',
      version: '8.2.1',
      reason: '',
    })),
    steps: [{ step: 1, wave: 1, hostRef: '', host: '', migrations: [], pinned: (extra.pinned ?? []).map((vm) => ({ vm, vmRef: vmRef(vm), vmUuid: '', host: '', hostRef: '', code: 'X', reason: '' })), freeAfterEvacuation: {} }],
    waves: [],
    blockers: (extra.blocked ?? []).map((vm) => ({ vm, vmRef: vmRef(vm), code: 'X', host: '', params: [], check: 'X', overridden: false, message: '' })),
    migrations: moves.map(migration),
    totals: { migratedBytes: 0, lowerBoundBytes: 0, achievableLowerBoundBytes: 0, migrations: 0, vmsMovedMoreThanOnce: 0, waves: 0, roomMoves: 0 },
    capacity: { holds: true, maxHostsDown: extra.maxHostsDown ?? 1, memoryPolicy: 'xapi', makeRoom: true, waves: [] },
    endState: { hosts: [], balance: { minUsedFraction: 0, maxUsedFraction: 0, stddevUsedFraction: 0 }, antiAffinity: [] },
    runnable: true,
    search: { ordersEvaluated: 1, exhaustive: true },
    warnings: [],
  };
}

const withVm = (model: PoolModel, name: string, change: Partial<ModelVm>): PoolModel => ({ ...model, vms: model.vms.map((v) => (v.name === name ? { ...v, ...change } : v)) });

// A, B, C of 16 GiB (15 free each before guests); a1 2 GiB on A, b1 3 GiB on B.
const three = buildPoolModel(smallPool(['A', 'B', 'C'].map((name) => ({ name, gib: 16 })), [{ name: 'a1', host: 'A', gib: 2 }, { name: 'b1', host: 'B', gib: 3 }]));
const empty = buildPoolModel(smallPool(['A', 'B', 'C'].map((name) => ({ name, gib: 16 })), []));
const inOrder: HostLine[] = [{ name: 'A', order: 1, wave: 1 }, { name: 'B', order: 2, wave: 2 }, { name: 'C', order: 3, wave: 3 }];
// The sound plan: a1 to C (evacuated last), b1 to A (upgraded), then a1 and nothing else off C to A.
const sound: MoveLine[] = [[1, 'a1', 'A', 'C'], [2, 'b1', 'B', 'A'], [3, 'a1', 'C', 'A']];

describe('checkPlanInvariants on hand-written plans', () => {
  it('a sound plan has no problem, whatever order plan.hosts lists the hosts in', () => {
    expect(checkPlanInvariants(three, handPlan(three, inOrder, sound))).toEqual([]);
    // Listed C, B, A: the checker sorts by order itself, so the master (order 1) is still first.
    expect(checkPlanInvariants(three, handPlan(three, [...inOrder].reverse(), sound))).toEqual([]);
  });

  it('the master not first, or sharing its wave', () => {
    // B listed first and upgraded first, A (master) second: only A is named. (No guests here.)
    const late: HostLine[] = [{ name: 'B', order: 1, wave: 1 }, { name: 'A', order: 2, wave: 2 }, { name: 'C', order: 3, wave: 3 }];
    expect(checkPlanInvariants(empty, handPlan(empty, late, []))).toEqual(['the master A is not first']);
    // A and B in wave 1 with two hosts allowed down: only the sharing is wrong.
    const shared: HostLine[] = [{ name: 'A', order: 1, wave: 1 }, { name: 'B', order: 2, wave: 1 }, { name: 'C', order: 3, wave: 2 }];
    expect(checkPlanInvariants(empty, handPlan(empty, shared, [], { maxHostsDown: 2 }))).toEqual(['the master A shares its wave']);
    // A master that is done (not upgraded by the run) is neither first nor alone, and that is fine.
    const done: HostLine[] = [{ name: 'A', action: 'done' }, { name: 'B', order: 1, wave: 1 }, { name: 'C', order: 2, wave: 2 }];
    expect(checkPlanInvariants(empty, handPlan(empty, done, []))).toEqual([]);
    // A plan that names no master at all is still checked for everything else.
    const none: HostLine[] = inOrder.map((h) => ({ ...h, role: 'slave' }));
    expect(checkPlanInvariants(three, handPlan(three, none, []))).toEqual(['wave 1: a1 is still on A when it reboots', 'wave 2: b1 is still on B when it reboots']);
  });

  it('more hosts in a wave than maxHostsDown (the argument, else the plan says)', () => {
    const two: HostLine[] = [{ name: 'A', order: 1, wave: 1 }, { name: 'B', order: 2, wave: 2 }, { name: 'C', order: 3, wave: 2 }];
    const moves: MoveLine[] = [[1, 'a1', 'A', 'C'], [2, 'b1', 'B', 'A'], [2, 'a1', 'C', 'A']];
    expect(checkPlanInvariants(three, handPlan(three, two, moves))).toEqual(['wave 2: 2 hosts down at once (at most 1)']);
    expect(checkPlanInvariants(three, handPlan(three, two, moves), 2)).toEqual([]);
    expect(checkPlanInvariants(three, handPlan(three, two, moves, { maxHostsDown: 2 }))).toEqual([]);
  });

  it('a migration of a VM that is not there, from a host not going down, onto a host of its own wave', () => {
    // b1 is on B, not C.
    expect(checkPlanInvariants(three, handPlan(three, inOrder, [[1, 'a1', 'A', 'C'], [2, 'b1', 'C', 'A'], [3, 'a1', 'C', 'A']]))).toEqual(['wave 2: b1 is not on C', 'wave 2: b1 moves from C, which is not going down']);
    // b1 leaves B in wave 1 (A goes down, not B), and not as a room move.
    expect(checkPlanInvariants(three, handPlan(three, inOrder, [[1, 'a1', 'A', 'C'], [1, 'b1', 'B', 'C'], [3, 'a1', 'C', 'A'], [3, 'b1', 'C', 'A']]))).toEqual(['wave 1: b1 moves from B, which is not going down']);
    // The same move as a room move is allowed.
    expect(checkPlanInvariants(three, handPlan(three, inOrder, [[1, 'b1', 'B', 'C', 'room'], [1, 'a1', 'A', 'C'], [3, 'a1', 'C', 'A'], [3, 'b1', 'C', 'A']]))).toEqual([]);
    // A and B down together: a1 may not go to B.
    const pair: HostLine[] = [{ name: 'A', order: 1, wave: 1 }, { name: 'B', order: 2, wave: 1 }, { name: 'C', order: 3, wave: 2 }];
    expect(checkPlanInvariants(three, handPlan(three, pair, [[1, 'a1', 'A', 'B'], [1, 'b1', 'B', 'C'], [2, 'b1', 'C', 'A'], [2, 'a1', 'B', 'A']], { maxHostsDown: 2 }))).toEqual(
      // a1 then sits on B in wave 1 (it went down with A), and 'B -> A' in wave 2 is not from C.
      ['the master A shares its wave', 'wave 1: a1 moves onto B, which is going down in the same wave', 'wave 1: a1 is still on B when it reboots', 'wave 2: a1 moves from B, which is not going down'],
    );
  });

  it('from an upgraded host only to upgraded ones', () => {
    // B is done (upgraded before the run); A, C, D are upgraded in that order. a1 parked on B in
    // wave 1 may not go to D in wave 2 (D is not upgraded yet; it then reboots with a1 on it).
    const four = buildPoolModel(smallPool(['A', 'B', 'C', 'D'].map((name) => ({ name, gib: 16 })), [{ name: 'a1', host: 'A', gib: 2 }]));
    const h4: HostLine[] = [{ name: 'A', order: 1, wave: 1 }, { name: 'B', action: 'done' }, { name: 'C', order: 2, wave: 2 }, { name: 'D', order: 3, wave: 3 }];
    expect(checkPlanInvariants(four, handPlan(four, h4, [[1, 'a1', 'A', 'B'], [2, 'a1', 'B', 'D', 'room']]))).toEqual(['wave 2: a1 moves from upgraded B back to older D', 'wave 3: a1 is still on D when it reboots']);
    // To C in wave 3, after C's own wave: C is upgraded by then.
    expect(checkPlanInvariants(four, handPlan(four, h4, [[1, 'a1', 'A', 'B'], [3, 'a1', 'B', 'C', 'room']]))).toEqual([]);
  });

  it('never to a disabled or dead host unless the run upgraded it (it is enabled again after)', () => {
    const pool = (c: { enabled?: boolean; live?: boolean }) => buildPoolModel(smallPool([{ name: 'A', gib: 16 }, { name: 'B', gib: 16 }, { name: 'C', gib: 16, ...c }], [{ name: 'a1', host: 'A', gib: 2 }]));
    const hosts: HostLine[] = [{ name: 'A', order: 1, wave: 1 }, { name: 'B', order: 2, wave: 2 }, { name: 'C', action: 'excluded' }];
    expect(checkPlanInvariants(pool({ live: false }), handPlan(pool({ live: false }), hosts, [[1, 'a1', 'A', 'C']]))).toEqual(['wave 1: a1 moves to dead C']);
    expect(checkPlanInvariants(pool({ enabled: false }), handPlan(pool({ enabled: false }), hosts, [[1, 'a1', 'A', 'C']]))).toEqual(['wave 1: a1 moves to disabled C']);
    // C done (upgraded before the run) but disabled now: an upgraded host takes VMs.
    const done: HostLine[] = [{ name: 'A', order: 1, wave: 1 }, { name: 'B', order: 2, wave: 2 }, { name: 'C', action: 'done' }];
    expect(checkPlanInvariants(pool({ enabled: false }), handPlan(pool({ enabled: false }), done, [[1, 'a1', 'A', 'C']]))).toEqual([]);
  });

  it('never where XAPI said the VM cannot run', () => {
    const restricted = withVm(three, 'a1', { restrictedTo: { hosts: new Set([hostRef('B')]), reason: ['VM_REQUIRES_NETWORK', vmRef('a1'), 'OpaqueRef:net'] } });
    expect(checkPlanInvariants(restricted, handPlan(restricted, inOrder, sound))).toEqual(['wave 1: a1 moves to C, where XAPI says it cannot run (VM_REQUIRES_NETWORK)', 'wave 3: a1 moves to A, where XAPI says it cannot run (VM_REQUIRES_NETWORK)']);
    // A reason without a code still names the move.
    const bare = withVm(three, 'a1', { restrictedTo: { hosts: new Set([hostRef('A'), hostRef('B')]), reason: [] } });
    expect(checkPlanInvariants(bare, handPlan(bare, inOrder, sound))).toEqual(['wave 1: a1 moves to C, where XAPI says it cannot run ()']);
  });

  it('over capacity after a move, counting what left the host in the same wave', () => {
    // A 8: a1 4 (5 used with dom0). B 8: b1 6 (7 used). C 16: c1 8.
    // Wave 1 (A down): a1 to B is 7 + 4 = 11 of 8: over by 3 GiB.
    const tight = buildPoolModel(smallPool([{ name: 'A', gib: 8 }, { name: 'B', gib: 8 }, { name: 'C', gib: 16 }], [{ name: 'a1', host: 'A', gib: 4 }, { name: 'b1', host: 'B', gib: 6 }, { name: 'c1', host: 'C', gib: 8 }]));
    const hosts: HostLine[] = [{ name: 'A', order: 1, wave: 1 }, { name: 'B', order: 2, wave: 2 }, { name: 'C', order: 3, wave: 3 }];
    // (Nothing leaves B or C, so both reboot with their guests: dom0 is not named.)
    expect(checkPlanInvariants(tight, handPlan(tight, hosts, [[1, 'a1', 'A', 'B']]))).toEqual([
      `wave 1: a1 puts B over capacity by ${3 * GiB} bytes`,
      'wave 2: a1 is still on B when it reboots',
      'wave 2: b1 is still on B when it reboots',
      'wave 3: c1 is still on C when it reboots',
    ]);
    // a1 to C in wave 1 (C: 9 + 4 = 13 of 16; A: 5 - 4 = 1), b1 to A in wave 2 (A: 1 + 6 = 7 of 8;
    // B: 7 - 6 = 1), then C's a1 to B (1 + 4 = 5) and c1 to A: 7 + 8 = 15 of 8, over by 7 GiB:
    // right only when a1's 4 GiB left A's account in wave 1.
    const moves: MoveLine[] = [[1, 'a1', 'A', 'C'], [2, 'b1', 'B', 'A'], [3, 'a1', 'C', 'B'], [3, 'c1', 'C', 'A']];
    expect(checkPlanInvariants(tight, handPlan(tight, hosts, moves))).toEqual([`wave 3: c1 puts A over capacity by ${7 * GiB} bytes`]);
    // Swapped in wave 3: a1 to A is 7 + 4 = 11 of 8 (over by 3); c1 to B is 1 + 8 = 9 of 8 (over by 1).
    const toB: MoveLine[] = [[1, 'a1', 'A', 'C'], [2, 'b1', 'B', 'A'], [3, 'a1', 'C', 'A'], [3, 'c1', 'C', 'B']];
    expect(checkPlanInvariants(tight, handPlan(tight, hosts, toB))).toEqual([`wave 3: a1 puts A over capacity by ${3 * GiB} bytes`, `wave 3: c1 puts B over capacity by ${1 * GiB} bytes`]);
  });

  it('a running guest left on a host that reboots, unless pinned or a blocker; dom0 is never one', () => {
    const hosts = inOrder;
    expect(checkPlanInvariants(three, handPlan(three, hosts, [[1, 'a1', 'A', 'C'], [3, 'a1', 'C', 'A']]))).toEqual(['wave 2: b1 is still on B when it reboots']);
    expect(checkPlanInvariants(three, handPlan(three, hosts, [[1, 'a1', 'A', 'C'], [3, 'a1', 'C', 'A']], { pinned: ['b1'] }))).toEqual([]);
    expect(checkPlanInvariants(three, handPlan(three, hosts, [[1, 'a1', 'A', 'C'], [3, 'a1', 'C', 'A']], { blocked: ['b1'] }))).toEqual([]);
  });

  it('only running or paused guests count: a halted VM that still names a host takes nothing and never blocks a reboot', () => {
    // b1 halted with a stale resident_on B: B's account is dom0 only, and B rebooting with it is fine.
    const halted = withVm(three, 'b1', { powerState: 'Halted' });
    expect(checkPlanInvariants(halted, handPlan(halted, inOrder, [[1, 'a1', 'A', 'C'], [3, 'a1', 'C', 'A']]))).toEqual([]);
    // A paused guest is resident: it must leave.
    const paused = withVm(three, 'b1', { powerState: 'Paused' });
    expect(checkPlanInvariants(paused, handPlan(paused, inOrder, [[1, 'a1', 'A', 'C'], [3, 'a1', 'C', 'A']]))).toEqual(['wave 2: b1 is still on B when it reboots']);
  });

  it('refs the model does not know are reported, never a crash', () => {
    // A VM resident on a host that is not in the model is not counted anywhere; moving it is "not on".
    const stray = withVm(three, 'b1', { residentOn: 'OpaqueRef:h-Z' });
    expect(checkPlanInvariants(stray, handPlan(stray, inOrder, [[1, 'a1', 'A', 'C'], [2, 'b1', 'Z', 'A'], [3, 'a1', 'C', 'A']]))).toEqual(['wave 2: b1 is not on Z', 'wave 2: b1 moves from Z, which is not going down']);
    // From a host the model does not have to one not upgraded: no version to compare, no crash.
    expect(checkPlanInvariants(stray, handPlan(stray, inOrder, [[1, 'a1', 'A', 'C'], [1, 'b1', 'Z', 'C'], [3, 'a1', 'C', 'A'], [3, 'b1', 'C', 'A']]))).toEqual(['wave 1: b1 is not on Z', 'wave 1: b1 moves from Z, which is not going down']);
    // A VM the model does not have, sent to C which then reboots: named by the plan, takes no memory.
    expect(checkPlanInvariants(three, handPlan(three, inOrder, [...sound, [1, 'ghost', 'A', 'C']]))).toEqual(['wave 1: ghost is not on A']);
    // A destination host the model does not have, which the plan then takes down.
    const withZ: HostLine[] = [...inOrder, { name: 'Z', order: 4, wave: 4 }];
    expect(checkPlanInvariants(three, handPlan(three, withZ, [[1, 'a1', 'A', 'Z'], [2, 'b1', 'B', 'A']]))).toEqual([`wave 1: a1 puts Z over capacity by ${2 * GiB} bytes`, `wave 4: a1 is still on ${hostRef('Z')} when it reboots`]);
  });
});
