import { describe, expect, it } from 'vitest';
import { hostRef, smallPool, vmRef } from '@xsctl/test/pools/small-pool';
import { buildPoolModel } from '../pool-model/pool-model.js';
import { checkPlanInvariants } from './plan-invariants.js';
import { planRollingUpgrade } from './plan.js';
import { PlanInputError, type RollingPlan } from './plan-types.js';

/**
 * The planner's inputs and outputs at their edges, on small pools worked out by hand (hosts of N
 * GiB offer N-1 GiB to guests: a 1 GiB dom0, no overheads; see test/src/pools/small-pool.ts).
 */
const GiB = 2 ** 30;
const moves = (plan: RollingPlan): string[] => plan.migrations.map((m) => `${m.wave}:${m.vm}:${m.from}->${m.to}${m.room ? ':room' : ''}`);
const pool = (hosts: Parameters<typeof smallPool>[0], vms: Parameters<typeof smallPool>[1], answers?: Parameters<typeof smallPool>[2]) => buildPoolModel(smallPool(hosts, vms, answers));

describe('the master VMs go to the host upgraded last, not the next one', () => {
  it('four hosts: A (master) empties onto D, which is evacuated last; B and C move once', () => {
    // Every host 16 GiB (15 for guests); a1 2 GiB on A, b1 1 GiB on B. Every order of B, C, D
    // costs the same (a1 twice, b1 once: 5 GiB, 4 waves), so the first by name is kept: B, C, D.
    // a1 goes to D (evacuated last, it moves once more), never to B (evacuated next: twice more).
    const model = pool(['A', 'B', 'C', 'D'].map((name) => ({ name, gib: 16 })), [{ name: 'a1', host: 'A', gib: 2 }, { name: 'b1', host: 'B', gib: 1 }]);
    const plan = planRollingUpgrade(model);
    expect(plan.hosts.map((h) => [h.name, h.order, h.wave, h.role])).toEqual([['A', 1, 1, 'master'], ['B', 2, 2, 'slave'], ['C', 3, 3, 'slave'], ['D', 4, 4, 'slave']]);
    expect(moves(plan)).toEqual(['1:a1:A->D', '2:b1:B->A', '4:a1:D->A']);
    expect(plan.migrations.map((m) => [m.step, m.final])).toEqual([[1, false], [2, true], [4, true]]);
    // 3! = 6 orders of B, C, D, every one tried.
    expect(plan.search).toEqual({ ordersEvaluated: 6, exhaustive: true });
    expect(plan.totals).toEqual({ migratedBytes: 5 * GiB, lowerBoundBytes: 3 * GiB, achievableLowerBoundBytes: 5 * GiB, migrations: 3, vmsMovedMoreThanOnce: 1, waves: 4, roomMoves: 0 });
    expect(checkPlanInvariants(model, plan)).toEqual([]);
  });

  it('an excluded host that can keep the master VM for good takes it, and the bound counts it once', () => {
    const model = pool(['A', 'B', 'X'].map((name) => ({ name, gib: 16 })), [{ name: 'a1', host: 'A', gib: 2 }]);
    const plan = planRollingUpgrade(model, { exclude: ['X'] });
    expect(moves(plan)).toEqual(['1:a1:A->X']);
    expect(plan.totals).toMatchObject({ migratedBytes: 2 * GiB, lowerBoundBytes: 2 * GiB, achievableLowerBoundBytes: 2 * GiB });
    // Excluded by uuid or by ref works the same as by name.
    expect(moves(planRollingUpgrade(model, { exclude: ['uuid-X'] }))).toEqual(['1:a1:A->X']);
    expect(moves(planRollingUpgrade(model, { exclude: [hostRef('X')] }))).toEqual(['1:a1:A->X']);
    // A disabled or a dead excluded host cannot keep it: the bound counts a1 twice. (An older one
    // would make the pool part-way through an upgrade: A and B would be done.)
    for (const x of [{ enabled: false }, { live: false }]) {
      const m = pool([{ name: 'A', gib: 16 }, { name: 'B', gib: 16 }, { name: 'X', gib: 16, ...x }], [{ name: 'a1', host: 'A', gib: 2 }]);
      expect(planRollingUpgrade(m, { exclude: ['X'] }).totals.achievableLowerBoundBytes, JSON.stringify(x)).toBe(4 * GiB);
    }
  });
});

describe('hosts the planner must refuse or leave alone', () => {
  it('refuses an unknown --exclude, a master missing from the hosts, and a pool with nothing to upgrade', () => {
    const model = pool([{ name: 'A', gib: 16 }, { name: 'B', gib: 16 }], []);
    expect(() => planRollingUpgrade(model, { exclude: ['Z'] })).toThrow(new PlanInputError('--exclude Z: no such host in pool p'));
    expect(() => planRollingUpgrade({ ...model, masterRef: 'OpaqueRef:gone' })).toThrow(new PlanInputError("the pool's master OpaqueRef:gone is not among its hosts"));
    expect(() => planRollingUpgrade(model, { exclude: ['A', 'B'] })).toThrow(new PlanInputError('nothing to upgrade: every host is excluded or already at the newest release'));
    expect(() => planRollingUpgrade(model, { doneHosts: [hostRef('A'), hostRef('B')] })).toThrow(PlanInputError);
  });

  it('the master excluded is a blocker; a dead host to upgrade is a blocker unless excluded or done', () => {
    const model = pool([{ name: 'A', gib: 16 }, { name: 'B', gib: 16 }, { name: 'C', gib: 16, live: false }], []);
    const excludedMaster = planRollingUpgrade(model, { exclude: ['A', 'C'] });
    expect(excludedMaster.runnable).toBe(false);
    expect(excludedMaster.blockers).toEqual([{ vm: '', vmRef: '', code: 'MASTER_EXCLUDED', host: 'A', params: [], check: '', overridden: false, message: 'the master cannot be excluded: it must be upgraded first' }]);
    const dead = planRollingUpgrade(model);
    expect(dead.blockers).toEqual([{ vm: '', vmRef: '', code: 'HOST_OFFLINE', host: 'C', params: [hostRef('C')], check: '', overridden: false, message: 'C is not live (host_metrics.live=false): bring it back or --exclude it' }]);
    expect(planRollingUpgrade(model, { exclude: ['C'] }).blockers).toEqual([]);
    expect(planRollingUpgrade(model, { doneHosts: [hostRef('C')] }).blockers).toEqual([]);
  });

  it('a pool part-way through: hosts at the newest release are done; a master not among them is a blocker', () => {
    const partway = pool([{ name: 'A', gib: 16, version: '8.2.1' }, { name: 'B', gib: 16, version: '8.3.0' }, { name: 'C', gib: 16, version: '8.2.1' }], []);
    const plan = planRollingUpgrade(partway);
    expect(plan.hosts.map((h) => [h.name, h.action, h.reason, h.order, h.wave])).toEqual([
      ['A', 'upgrade', '', 1, 1],
      ['C', 'upgrade', '', 2, 2],
      ['B', 'done', 'already at the newest release', 0, 0],
    ]);
    expect(plan.blockers.map((b) => [b.code, b.host, b.message])).toEqual([['MASTER_NOT_NEWEST', 'A', 'hosts run different releases and the master (8.2.1) is not at the newest: upgrade the master first']]);
    // Master at the newest: done, nothing blocks, the others are upgraded in name order.
    const ahead = planRollingUpgrade(pool([{ name: 'A', gib: 16, version: '8.3.0' }, { name: 'B', gib: 16, version: '8.2.1' }, { name: 'C', gib: 16, version: '8.2.1' }], []));
    expect(ahead.blockers).toEqual([]);
    expect(ahead.hosts.map((h) => [h.name, h.action, h.order])).toEqual([['B', 'upgrade', 1], ['C', 'upgrade', 2], ['A', 'done', 0]]);
    // An excluded host is listed with its reason after the upgraded ones.
    const ex = planRollingUpgrade(pool([{ name: 'A', gib: 16 }, { name: 'Z', gib: 16 }, { name: 'B', gib: 16 }], []), { exclude: ['B'] });
    expect(ex.hosts.map((h) => [h.name, h.action, h.reason])).toEqual([['A', 'upgrade', ''], ['Z', 'upgrade', ''], ['B', 'excluded', 'excluded by the admin']]);
  });

  it('passes on what XAPI could not answer as a warning', () => {
    const model = pool([{ name: 'A', gib: 16 }, { name: 'B', gib: 16 }], [], { evacuation: new Map([[hostRef('B'), { error: 'HOST_OFFLINE' }]]), bootHere: new Map() });
    expect(planRollingUpgrade(model).warnings).toEqual(['XAPI did not say which VMs keep B from evacuating: HOST_OFFLINE']);
  });
});

describe('the search over host orders', () => {
  it('up to maxExhaustiveHosts other hosts every order is tried; beyond, four heuristic orders (fewer when they coincide)', () => {
    const names = ['A', 'B', 'C', 'D', 'E'];
    const even = pool(names.map((name) => ({ name, gib: 16 })), []);
    // 4 other hosts: 4! = 24 orders.
    expect(planRollingUpgrade(even).search).toEqual({ ordersEvaluated: 24, exhaustive: true });
    expect(planRollingUpgrade(even, { maxExhaustiveHosts: 4 }).search).toEqual({ ordersEvaluated: 24, exhaustive: true });
    // Above the limit: light-first, heavy-first, alternating, by name. With no guests every load is
    // 0, so light-first is the name order (B C D E) and the fourth order repeats it: 3 distinct.
    expect(planRollingUpgrade(even, { maxExhaustiveHosts: 3 }).search).toEqual({ ordersEvaluated: 3, exhaustive: false });
    // Loads 4, 3, 2, 1 GiB on B..E: light-first E D C B, heavy-first B C D E (= by name), alternating E B D C: 3 distinct.
    const loaded = pool(names.map((name) => ({ name, gib: 16 })), [{ name: 'b', host: 'B', gib: 4 }, { name: 'c', host: 'C', gib: 3 }, { name: 'd', host: 'D', gib: 2 }, { name: 'e', host: 'E', gib: 1 }]);
    expect(planRollingUpgrade(loaded, { maxExhaustiveHosts: 3 }).search).toEqual({ ordersEvaluated: 3, exhaustive: false });
    // Loads 1, 3, 2, 4 GiB: light B D C E, heavy E C D B, alternating B E D C, by name B C D E: 4 distinct.
    const mixed = pool(names.map((name) => ({ name, gib: 16 })), [{ name: 'b', host: 'B', gib: 1 }, { name: 'c', host: 'C', gib: 3 }, { name: 'd', host: 'D', gib: 2 }, { name: 'e', host: 'E', gib: 4 }]);
    expect(planRollingUpgrade(mixed, { maxExhaustiveHosts: 3 }).search).toEqual({ ordersEvaluated: 4, exhaustive: false });
  });

  it('a fixed order is kept (hosts it does not name follow in name order); one order is evaluated', () => {
    const model = pool(['A', 'B', 'C', 'D'].map((name) => ({ name, gib: 16 })), []);
    const plan = planRollingUpgrade(model, { fixedOrder: [hostRef('D'), 'OpaqueRef:not-here', hostRef('B')] });
    expect(plan.hosts.map((h) => h.name)).toEqual(['A', 'D', 'B', 'C']);
    expect(plan.search).toEqual({ ordersEvaluated: 1, exhaustive: false });
  });

  it('prefers the order with fewer waves when both place everything (maxHostsDown 2)', () => {
    // Five hosts of 16 GiB, b1 10 GiB on B, c1 1 GiB on C: room enough everywhere, so A alone and
    // then two waves of two: 3 waves, no more.
    const model = pool(['A', 'B', 'C', 'D', 'E'].map((name) => ({ name, gib: 16 })), [{ name: 'b1', host: 'B', gib: 10 }, { name: 'c1', host: 'C', gib: 1 }]);
    const plan = planRollingUpgrade(model, { maxHostsDown: 2 });
    expect(plan.totals.waves).toBe(3);
    expect(plan.capacity.maxHostsDown).toBe(2);
    expect(checkPlanInvariants(model, plan)).toEqual([]);
    // maxHostsDown below 1 or fractional: one host at a time / rounded down.
    expect(planRollingUpgrade(model, { maxHostsDown: 0 }).capacity.maxHostsDown).toBe(1);
    expect(planRollingUpgrade(model, { maxHostsDown: 2.9 }).capacity.maxHostsDown).toBe(2);
  });
});

describe('the waves, steps and end state the plan reports', () => {
  it('per wave: tightest host, free memory after, migrated bytes; per step: the host own migrations', () => {
    // A (master) 16: a1 4. B 12 (11 for guests): b1 2. C 8 (7): c1 1. Orders B,C and C,B.
    // B,C: wave 1 a1 -> C (evacuated last; 7-1 = 6 free >= 4). Wave 2 b1 -> A (upgraded, final).
    // Wave 3 a1, c1 leave C for final homes A (13 free) or B (11 free): the tighter fit, B.
    const model = pool([{ name: 'A', gib: 16 }, { name: 'B', gib: 12 }, { name: 'C', gib: 8 }], [{ name: 'a1', host: 'A', gib: 4 }, { name: 'b1', host: 'B', gib: 2 }, { name: 'c1', host: 'C', gib: 1 }]);
    const plan = planRollingUpgrade(model);
    expect(moves(plan)).toEqual(['1:a1:A->C', '2:b1:B->A', '3:a1:C->B', '3:c1:C->B']);
    expect(plan.waves.map((w) => [w.wave, w.hosts, w.migrations, w.roomMoves, w.migratedBytes / GiB, w.unplaced, w.tightestHost, w.tightestFreeBytes / GiB])).toEqual([
      // After wave 1: B 12-1-2 = 9 free, C 8-1-1-4 = 2 free: C is the tightest.
      [1, ['A'], 1, 0, 4, 0, 'C', 2],
      // After wave 2: A 16-1-2 = 13, C 2: C.
      [2, ['B'], 1, 0, 2, 0, 'C', 2],
      // After wave 3: A 13, B 12-1-4-1 = 6: B.
      [3, ['C'], 2, 0, 5, 0, 'B', 6],
    ]);
    expect(plan.waves[0]?.freeAfter).toEqual({ A: 15 * GiB, B: 9 * GiB, C: 2 * GiB });
    expect(plan.steps.map((s) => [s.step, s.host, s.migrations.map((m) => m.vm)])).toEqual([[1, 'A', ['a1']], [2, 'B', ['b1']], [3, 'C', ['a1', 'c1']]]);
    expect(plan.capacity.waves.map((w) => [w.wave, w.hostsDown, w.placed, w.unplaced])).toEqual([[1, ['A'], 1, 0], [2, ['B'], 1, 0], [3, ['C'], 2, 0]]);
    // End (dom0 included in used): A dom0 + b1 = 3 of 16, B dom0 + a1 + c1 = 6 of 12, C dom0 = 1 of 8.
    expect(plan.endState.hosts).toEqual([
      { host: 'A', guests: 1, usedBytes: 3 * GiB, freeBytes: 13 * GiB, guestMemoryBytes: 16 * GiB, headroom: 0.813 },
      { host: 'B', guests: 2, usedBytes: 6 * GiB, freeBytes: 6 * GiB, guestMemoryBytes: 12 * GiB, headroom: 0.5 },
      { host: 'C', guests: 0, usedBytes: 1 * GiB, freeBytes: 7 * GiB, guestMemoryBytes: 8 * GiB, headroom: 0.875 },
    ]);
    // Used fractions 0.1875, 0.5, 0.125: mean 0.270833, population variance 0.0269097, stddev 0.164042.
    expect(plan.endState.balance).toEqual({ minUsedFraction: 0.125, maxUsedFraction: 0.5, stddevUsedFraction: 0.164 });
  });

  it('a VM with nowhere to go: the wave reports it unplaced, the plan is not runnable, capacity does not hold', () => {
    // A 8: a1 6 (1 free). B 8: b1 2 (5 free). Wave 1: a1 (6) does not fit on B and stays on A.
    // Wave 2: b1 (2) does not fit on A (1 free): both are blockers.
    const model = pool([{ name: 'A', gib: 8 }, { name: 'B', gib: 8 }], [{ name: 'a1', host: 'A', gib: 6 }, { name: 'b1', host: 'B', gib: 2 }]);
    const plan = planRollingUpgrade(model, { makeRoom: false });
    expect(plan.waves[0]).toMatchObject({ unplaced: 1, migrations: 0 });
    expect(plan.capacity.holds).toBe(false);
    expect(plan.runnable).toBe(false);
    expect(plan.blockers).toEqual([
      { vm: 'a1', vmRef: vmRef('a1'), code: 'HOST_NOT_ENOUGH_FREE_MEMORY', host: 'A', params: [String(6 * GiB), String(5 * GiB)], check: 'HOST_NOT_ENOUGH_FREE_MEMORY', overridden: false, message: 'no host has room for a1 when A is evacuated (step 1)' },
      { vm: 'b1', vmRef: vmRef('b1'), code: 'HOST_NOT_ENOUGH_FREE_MEMORY', host: 'B', params: [String(2 * GiB), String(1 * GiB)], check: 'HOST_NOT_ENOUGH_FREE_MEMORY', overridden: false, message: 'no host has room for b1 when B is evacuated (step 2)' },
    ]);
    // Overridden: a1 is pinned (shut down during A's reboot), the plan runs, capacity holds.
    const over = planRollingUpgrade(model, { makeRoom: false, overrides: ['HOST_NOT_ENOUGH_FREE_MEMORY'] });
    expect(over.runnable).toBe(true);
    expect(over.capacity.holds).toBe(true);
    expect(over.blockers.map((b) => [b.vm, b.overridden])).toEqual([['a1', true], ['b1', true]]);
    expect(over.steps.map((s) => s.pinned)).toEqual([
      [{ vm: 'a1', vmRef: vmRef('a1'), vmUuid: 'uuid-a1', host: 'A', hostRef: hostRef('A'), code: 'HOST_NOT_ENOUGH_FREE_MEMORY', reason: 'shut down during the reboot, started again after' }],
      [{ vm: 'b1', vmRef: vmRef('b1'), vmUuid: 'uuid-b1', host: 'B', hostRef: hostRef('B'), code: 'HOST_NOT_ENOUGH_FREE_MEMORY', reason: 'shut down during the reboot, started again after' }],
    ]);
  });
});
