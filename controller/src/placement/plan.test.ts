import { describe, expect, it } from 'vitest';
import { hostRef, makeRoomPool, smallPool, vmRef } from '@xsctl/test/pools/small-pool';
import { buildPoolModel } from '../pool-model/pool-model.js';
import { checkPlanInvariants } from './plan-invariants.js';
import { planRollingUpgrade } from './plan.js';
import type { RollingPlan } from './plan-types.js';

const GiB = 2 ** 30;
const moves = (plan: RollingPlan): string[] => plan.migrations.map((m) => `${m.wave}:${m.vm}:${m.from}->${m.to}${m.room ? ':room' : ''}`);

/**
 * Small pools whose right plan is worked out by hand in each test. Hosts have a 1 GiB dom0 and no
 * memory overhead, so a host of N GiB offers N-1 GiB to guests.
 */
describe('planRollingUpgrade on hand-checked pools', () => {
  it('master first; its VMs go to the host evacuated last and move again; the rest move once to an upgraded host', () => {
    // A (master) 15 GiB for guests: a1 4, a2 2. B: b1 6. C: c1 3.
    // Orders B,C and C,B both migrate 21 GiB in 6 moves; B,C is tried first (by name) and kept.
    // Wave 1: A's VMs to C (evacuated last): a1, a2. Wave 2: b1 to A. Wave 3: C's a1, c1, a2 to A
    // (A has 15-6 = 9 free; best fit keeps B's 15 GiB hole: 4+3+2 = 9 fill A exactly).
    const model = buildPoolModel(smallPool([{ name: 'A', gib: 16 }, { name: 'B', gib: 16 }, { name: 'C', gib: 16 }], [
      { name: 'a1', host: 'A', gib: 4 },
      { name: 'a2', host: 'A', gib: 2 },
      { name: 'b1', host: 'B', gib: 6 },
      { name: 'c1', host: 'C', gib: 3 },
    ]));
    const plan = planRollingUpgrade(model);
    expect(plan.hosts.map((h) => [h.name, h.order, h.wave])).toEqual([['A', 1, 1], ['B', 2, 2], ['C', 3, 3]]);
    expect(moves(plan)).toEqual(['1:a1:A->C', '1:a2:A->C', '2:b1:B->A', '3:a1:C->A', '3:c1:C->A', '3:a2:C->A']);
    expect(plan.totals.migratedBytes).toBe(21 * GiB);
    // The bound, by hand: every running guest once (4+2+6+3), plus the master's a second time (4+2).
    expect(plan.totals.lowerBoundBytes).toBe(15 * GiB);
    expect(plan.totals.achievableLowerBoundBytes).toBe(21 * GiB);
    expect(plan.migrations.filter((m) => m.wave === 1).every((m) => !m.final)).toBe(true);
    expect(plan.migrations.filter((m) => m.wave > 1).every((m) => m.final)).toBe(true);
    expect(plan.runnable).toBe(true);
    expect(checkPlanInvariants(model, plan)).toEqual([]);
  });

  it('never sends a VM to a host older than its own (xen, as XAPI compares it)', () => {
    // A pool part-way through an update: A (master) has xen 9.50 and is done; C has 9.40 and D
    // 9.30, both to update. A is full (a1 takes its 7 GiB). C's c1 cannot go to A, and not to D
    // while D is older than C (XAPI: NOT_SUPPORTED_DURING_UPGRADE). D first, then c1 goes to the
    // updated D.
    const hosts = [{ name: 'A', gib: 8, software: { xen: '4.13.5-9.50' } }, { name: 'C', gib: 16, software: { xen: '4.13.5-9.40' } }, { name: 'D', gib: 16, software: { xen: '4.13.5-9.30' } }];
    const vms = [{ name: 'a1', host: 'A', gib: 7 }, { name: 'c1', host: 'C', gib: 2 }];
    const model = buildPoolModel(smallPool(hosts, vms));
    const plan = planRollingUpgrade(model);
    expect(plan.hosts.map((h) => [h.name, h.action, h.order])).toEqual([['D', 'upgrade', 1], ['C', 'upgrade', 2], ['A', 'done', 0]]);
    expect(moves(plan)).toEqual(['2:c1:C->D']);
    // The other order would have had to send c1 to the older D: it is not taken, and forced it is refused.
    const forced = planRollingUpgrade(model, { fixedOrder: [hostRef('C'), hostRef('D')] });
    expect(forced.runnable).toBe(false);
    expect(forced.blockers).toEqual([expect.objectContaining({ vm: 'c1', code: 'HOST_NOT_ENOUGH_FREE_MEMORY', host: 'C' })]);
  });

  it('never sends a VM to a disabled host, even one that would be final', () => {
    // C is excluded (a final home) and roomy; disabled it takes nothing, enabled it takes a1 for good.
    const hosts = [{ name: 'A', gib: 16 }, { name: 'B', gib: 16 }];
    const vms = [{ name: 'a1', host: 'A', gib: 2 }];
    const disabled = buildPoolModel(smallPool([...hosts, { name: 'C', gib: 64, enabled: false }], vms));
    expect(moves(planRollingUpgrade(disabled, { exclude: ['C'] }))).toEqual(['1:a1:A->B', '2:a1:B->A']);
    const enabled = buildPoolModel(smallPool([...hosts, { name: 'C', gib: 64 }], vms));
    const plan = planRollingUpgrade(enabled, { exclude: ['C'] });
    expect(moves(plan)).toEqual(['1:a1:A->C']);
    expect(plan.totals.vmsMovedMoreThanOnce).toBe(0);
  });

  it('makes room: moves the smallest VM that frees enough, then the large one', () => {
    // 9 GiB for guests each. A: big 6. B: s1, s2, s3 of 2 (3 free). C: t1, t2 of 3 (3 free).
    // Nowhere has 6. On B the gap of 3 needs two 2 GiB VMs, and C could take only one: no.
    // On C one VM of 3 covers it and B takes it: t1 C->B (3 GiB), then big A->C.
    const model = buildPoolModel(makeRoomPool());
    const plan = planRollingUpgrade(model);
    expect(moves(plan).filter((m) => m.startsWith('1:'))).toEqual(['1:t1:C->B:room', '1:big:A->C']);
    expect(plan.runnable).toBe(true);
    expect(plan.totals.roomMoves).toBe(1);
    expect(checkPlanInvariants(model, plan)).toEqual([]);
    const without = planRollingUpgrade(model, { makeRoom: false });
    expect(without.runnable).toBe(false);
    expect(without.blockers).toContainEqual(expect.objectContaining({ vm: 'big', code: 'HOST_NOT_ENOUGH_FREE_MEMORY', params: [String(6 * GiB), String(3 * GiB)] }));
  });

  it("counts memory as XAPI does (dynamic_min + overhead); static-max is stricter", () => {
    // v: 8 GiB, ballooning down to 4. B has 9 - 4 = 5 free: v fits at 4, not at 8.
    const input = smallPool([{ name: 'A', gib: 10 }, { name: 'B', gib: 10 }], [{ name: 'v', host: 'A', gib: 8, minGib: 4 }, { name: 'b1', host: 'B', gib: 4 }]);
    const xapi = buildPoolModel(input);
    expect(xapi.vms.find((v) => v.name === 'v')).toMatchObject({ requiredBytes: 4 * GiB, migrateBytes: 8 * GiB });
    expect(moves(planRollingUpgrade(xapi)).slice(0, 1)).toEqual(['1:v:A->B']);
    const strict = buildPoolModel(input, { memoryPolicy: 'static-max' });
    expect(strict.vms.find((v) => v.name === 'v')?.requiredBytes).toBe(8 * GiB);
    expect(planRollingUpgrade(strict).blockers.map((b) => [b.vm, b.code])).toContainEqual(['v', 'HOST_NOT_ENOUGH_FREE_MEMORY']);
  });

  it('reserves dom0 growth on upgraded hosts', () => {
    // A 10 (9 for guests), B 10. a1 6 leaves for B in wave 1, comes back in wave 2; dom0 on A grows
    // by 3 GiB after its upgrade: 9 - 3 = 6 still holds a1; by 4 it does not.
    const input = smallPool([{ name: 'A', gib: 10 }, { name: 'B', gib: 10 }], [{ name: 'a1', host: 'A', gib: 6 }]);
    const model = buildPoolModel(input);
    expect(planRollingUpgrade(model, { dom0Growth: new Map([[hostRef('A'), 3 * GiB]]) }).runnable).toBe(true);
    expect(planRollingUpgrade(model, { dom0Growth: new Map([[hostRef('A'), 4 * GiB]]) }).runnable).toBe(false);
  });

  it('takes hosts down in waves when the whole sequence has the room, never onto a host of the same wave', () => {
    // Five hosts with 1 GiB VMs: the master alone, then two waves of two. a1 goes to a host of the
    // last wave and moves again: 1 + 2 + 3 = 6 GiB (the bound is 5, 6 with the master's VM twice).
    const model = buildPoolModel(smallPool(['A', 'B', 'C', 'D', 'E'].map((name) => ({ name, gib: 16 })), ['A', 'B', 'C', 'D', 'E'].map((h) => ({ name: `${h.toLowerCase()}1`, host: h, gib: 1 }))));
    const plan = planRollingUpgrade(model, { maxHostsDown: 2 });
    expect(plan.capacity.waves.map((w) => w.hostsDown.length)).toEqual([1, 2, 2]);
    expect(plan.totals.waves).toBe(3);
    expect(plan.totals.migratedBytes).toBe(6 * GiB);
    expect(plan.capacity.holds).toBe(true);
    expect(checkPlanInvariants(model, plan)).toEqual([]);
    for (const m of plan.migrations) {
      const sameWave = plan.hosts.filter((h) => h.wave === m.wave).map((h) => h.name);
      expect(sameWave).not.toContain(m.to);
    }
    // One host at a time takes five waves.
    expect(planRollingUpgrade(model).totals.waves).toBe(5);
  });

  it('shrinks a wave that does not fit', () => {
    // B and C hold 8 each, A (upgraded first) and D have 15 free: B and C together need 16 on A
    // and D, but D is in the last wave and each VM is one piece: b1 (8) to A, c1 (8) to D works.
    // With 12 GiB VMs only one fits at a time on A: two waves of one.
    const hosts = ['A', 'B', 'C', 'D'].map((name) => ({ name, gib: 16 }));
    const big = buildPoolModel(smallPool(hosts, [{ name: 'b1', host: 'B', gib: 12 }, { name: 'c1', host: 'C', gib: 12 }, { name: 'd1', host: 'D', gib: 12 }]));
    const plan = planRollingUpgrade(big, { maxHostsDown: 3 });
    expect(plan.capacity.holds).toBe(true);
    expect(checkPlanInvariants(big, plan, 3)).toEqual([]);
    expect(plan.capacity.waves.every((w) => w.hostsDown.length === 1)).toBe(true);
  });

  it("takes XAPI's answers as they are: host-bound devices block unless overridden, then the VM is pinned", () => {
    const hosts = [{ name: 'A', gib: 16 }, { name: 'B', gib: 16 }];
    const vms = [{ name: 'b1', host: 'B', gib: 2 }, { name: 'b2', host: 'B', gib: 2 }];
    const answers = { evacuation: new Map([[hostRef('B'), { [vmRef('b1')]: ['VM_HAS_PCI_ATTACHED', vmRef('b1')] }]]), bootHere: new Map() };
    const model = buildPoolModel(smallPool(hosts, vms, answers));
    const blocked = planRollingUpgrade(model);
    expect(blocked.runnable).toBe(false);
    expect(blocked.blockers).toEqual([expect.objectContaining({ vm: 'b1', code: 'VM_HAS_PCI_ATTACHED', host: 'B', overridden: false })]);
    const pinned = planRollingUpgrade(model, { overrides: ['VM_HAS_PCI_ATTACHED'] });
    expect(pinned.runnable).toBe(true);
    expect(pinned.steps.find((s) => s.host === 'B')?.pinned.map((p) => [p.vm, p.code])).toEqual([['b1', 'VM_HAS_PCI_ATTACHED']]);
    expect(moves(pinned)).toEqual(['2:b2:B->A']);
  });

  it("sends a VM XAPI restricted (VM.assert_can_boot_here) only where XAPI said it can run", () => {
    // c1 uses a network B lacks: XAPI says so for B, nothing against A. B would be the tighter fit.
    const hosts = [{ name: 'A', gib: 32 }, { name: 'B', gib: 8 }, { name: 'C', gib: 16 }];
    const answers = {
      evacuation: new Map([[hostRef('C'), { [vmRef('c1')]: ['VM_REQUIRES_NETWORK', vmRef('c1'), 'OpaqueRef:net'] }]]),
      bootHere: new Map([[vmRef('c1'), new Map([[hostRef('A'), []], [hostRef('B'), ['VM_REQUIRES_NETWORK', vmRef('c1'), 'OpaqueRef:net']]])]]),
    };
    const model = buildPoolModel(smallPool(hosts, [{ name: 'c1', host: 'C', gib: 2 }], answers));
    const plan = planRollingUpgrade(model);
    expect(plan.migrations.filter((m) => m.vm === 'c1').map((m) => m.to)).toEqual(['A']);
    // Nowhere at all: the VM is a blocker with XAPI's reason.
    const nowhere = buildPoolModel(smallPool(hosts, [{ name: 'c1', host: 'C', gib: 2 }], { ...answers, bootHere: new Map([[vmRef('c1'), new Map([[hostRef('A'), ['VM_REQUIRES_NETWORK']], [hostRef('B'), ['VM_REQUIRES_NETWORK']]])]]) }));
    expect(planRollingUpgrade(nowhere).blockers.map((b) => [b.vm, b.code])).toEqual([['c1', 'VM_REQUIRES_NETWORK']]);
  });

  it('keeps anti-affinity groups spread: the end state is modelled', () => {
    // g1 = {a1, b1}: a1 leaves A first and must not join b1 on B when C has room.
    const model = buildPoolModel(
      smallPool(
        [{ name: 'A', gib: 16 }, { name: 'B', gib: 16 }, { name: 'C', gib: 16 }],
        [{ name: 'a1', host: 'A', gib: 2, groups: ['g1'] }, { name: 'b1', host: 'B', gib: 2, groups: ['g1'] }, { name: 'c1', host: 'C', gib: 2 }],
        undefined,
        ['g1'],
      ),
    );
    const plan = planRollingUpgrade(model);
    expect(plan.endState.antiAffinity).toEqual([expect.objectContaining({ group: 'g1', vms: 2, maxPerHostBefore: 1, maxPerHostAfter: 1, kept: true })]);
    expect(plan.endState.hosts.map((h) => h.host)).toEqual(['A', 'B', 'C']);
    expect(plan.endState.hosts.reduce((s, h) => s + h.usedBytes, 0)).toBe((3 + 6) * GiB);
  });

  it('the invariant checker catches a VM sent to an older host and one sent to a disabled host', () => {
    // Older: the pool above with C's wave first, c1 sent to D while D is still older than C.
    const older = buildPoolModel(
      smallPool(
        [{ name: 'A', gib: 8, software: { xen: '4.13.5-9.50' } }, { name: 'C', gib: 16, software: { xen: '4.13.5-9.40' } }, { name: 'D', gib: 16, software: { xen: '4.13.5-9.30' } }],
        [{ name: 'a1', host: 'A', gib: 7 }, { name: 'c1', host: 'C', gib: 2 }],
      ),
    );
    const good = planRollingUpgrade(older);
    expect(checkPlanInvariants(older, good)).toEqual([]);
    const toOlder = structuredClone(good);
    for (const h of toOlder.hosts) h.wave = h.name === 'C' ? 1 : h.name === 'D' ? 2 : 0;
    toOlder.migrations = [{ ...toOlder.migrations[0]!, wave: 1 }];
    const olderProblems = checkPlanInvariants(older, toOlder);
    // ...and then c1 would sit on D when D's own wave reboots it.
    expect(olderProblems).toEqual(['wave 1: c1 moves to D, older than C', 'wave 2: c1 is still on D when it reboots']);

    // Disabled: D is enabled=false (and excluded, so it stays as it is); a1 sent there.
    const disabled = buildPoolModel(smallPool([{ name: 'A', gib: 16 }, { name: 'B', gib: 16 }, { name: 'D', gib: 16, enabled: false }], [{ name: 'a1', host: 'A', gib: 2 }]));
    const plan = planRollingUpgrade(disabled, { exclude: ['D'] });
    expect(checkPlanInvariants(disabled, plan)).toEqual([]);
    const toDisabled = structuredClone(plan);
    toDisabled.migrations = [{ ...toDisabled.migrations[0]!, to: 'D', toRef: hostRef('D') }, ...toDisabled.migrations.slice(1).filter((m) => m.vm !== 'a1')];
    expect(checkPlanInvariants(disabled, toDisabled)).toEqual([expect.stringMatching(/wave 1: a1 moves to disabled D/)]);
  });
});
