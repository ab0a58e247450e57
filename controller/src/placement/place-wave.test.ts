import { describe, expect, it } from 'vitest';
import { hostRef, smallPool, vmRef } from '@xsctl/test/pools/small-pool';
import { buildPoolModel, type ModelVm, type PoolModel } from '../pool-model/pool-model.js';
import { CapacityState, largestFirst } from './capacity-state.js';
import { endStateOf } from './end-state.js';
import { makeRoom, placeWave, type Move } from './place-wave.js';
import type { WaveRoles } from './roles.js';
import { compareResults } from './search.js';
import { playSequence, type SequenceResult } from './sequence.js';

/**
 * The placement steps on their own, on small pools worked out by hand: a host of N GiB has a 1 GiB
 * dom0, so N-1 GiB free before guests (test/src/pools/small-pool.ts). A VM of `gib` with `minGib`
 * takes minGib on a host (XAPI's dynamic_min) and copies gib when it migrates (memory_target).
 */
const GiB = 2 ** 30;
type Hosts = Parameters<typeof smallPool>[0];
type Vms = Parameters<typeof smallPool>[1];
const modelOf = (hosts: Hosts, vms: Vms, answers?: Parameters<typeof smallPool>[2], groups?: string[]): PoolModel => buildPoolModel(smallPool(hosts, vms, answers, groups));
const withVm = (model: PoolModel, name: string, change: Partial<ModelVm>): PoolModel => ({ ...model, vms: model.vms.map((v) => (v.name === name ? { ...v, ...change } : v)) });
const vmOf = (state: CapacityState, name: string): ModelVm => state.vms.get(vmRef(name))!;
const roles = (r: { upgraded?: string[]; down?: string[]; later?: string[]; excluded?: string[] }): WaveRoles => ({
  upgraded: new Set((r.upgraded ?? []).map(hostRef)),
  down: new Set((r.down ?? []).map(hostRef)),
  later: new Map((r.later ?? []).map((h, i) => [hostRef(h), i + 1])),
  excluded: new Set((r.excluded ?? []).map(hostRef)),
});
const name = (ref: string): string => ref.replace(/^OpaqueRef:[hv]-/, '');
const show = (moves: readonly Move[]): string[] => moves.map((m) => `${m.vm.name}:${name(m.from)}->${name(m.to)}${m.final ? ':final' : ''}${m.room ? ':room' : ''}`);
const none = new Set<string>();

describe('placeWave', () => {
  it('places the largest guest of the whole wave first, whichever host it is on', () => {
    // A: a1 2, B: b1 5, down together. C (upgraded) has 5 free, D (evacuated later) 15.
    // b1 first takes C (final); a1 then fits only on D. (A first would put a1 on C and b1 on D.)
    const state = CapacityState.of(modelOf([{ name: 'A', gib: 16 }, { name: 'B', gib: 16 }, { name: 'C', gib: 6 }, { name: 'D', gib: 16 }], [{ name: 'a1', host: 'A', gib: 2 }, { name: 'b1', host: 'B', gib: 5 }]));
    const placed = placeWave(state, [hostRef('A'), hostRef('B')], roles({ upgraded: ['C'], down: ['A', 'B'], later: ['D'] }), { stay: none });
    expect(show(placed.moves)).toEqual(['b1:B->C:final', 'a1:A->D']);
    expect(placed.unplaced).toEqual([]);
    expect([state.where(vmRef('a1')), state.where(vmRef('b1'))]).toEqual([hostRef('D'), hostRef('C')]);
  });

  it('equal sizes go by name, then by ref', () => {
    // z1 on A and y1 on B, 3 GiB each; C (upgraded) has room for one: y1, by name.
    const byName = CapacityState.of(modelOf([{ name: 'A', gib: 16 }, { name: 'B', gib: 16 }, { name: 'C', gib: 4 }, { name: 'D', gib: 16 }], [{ name: 'z1', host: 'A', gib: 3 }, { name: 'y1', host: 'B', gib: 3 }]));
    expect(show(placeWave(byName, [hostRef('A'), hostRef('B')], roles({ upgraded: ['C'], down: ['A', 'B'], later: ['D'] }), { stay: none }).moves)).toEqual(['y1:B->C:final', 'z1:A->D']);
    // Both named x (a1's ref sorts before b1's), the wave listed B first: a1 still goes first.
    const sameName = withVm(withVm(modelOf([{ name: 'A', gib: 16 }, { name: 'B', gib: 16 }, { name: 'C', gib: 4 }, { name: 'D', gib: 16 }], [{ name: 'a1', host: 'A', gib: 3 }, { name: 'b1', host: 'B', gib: 3 }]), 'a1', { name: 'x' }), 'b1', { name: 'x' });
    const placed = placeWave(CapacityState.of(sameName), [hostRef('B'), hostRef('A')], roles({ upgraded: ['C'], down: ['A', 'B'], later: ['D'] }), { stay: none });
    expect(placed.moves.map((m) => [m.vm.ref, name(m.to)])).toEqual([[vmRef('a1'), 'C'], [vmRef('b1'), 'D']]);
  });

  it('nowhere allowed: XAPI\'s reason when it restricted the VM, else NO_HOSTS_AVAILABLE with the VM', () => {
    // a1 may run only on B (XAPI), b1 anywhere; A and B are down together and no other host exists.
    const answers = { evacuation: new Map([[hostRef('A'), { [vmRef('a1')]: ['VM_REQUIRES_NETWORK', vmRef('a1'), 'OpaqueRef:net'] }]]), bootHere: new Map([[vmRef('a1'), new Map([[hostRef('B'), []]])]]) };
    const state = CapacityState.of(modelOf([{ name: 'A', gib: 16 }, { name: 'B', gib: 16 }], [{ name: 'a1', host: 'A', gib: 2 }, { name: 'b1', host: 'B', gib: 1 }], answers));
    const placed = placeWave(state, [hostRef('A'), hostRef('B')], roles({ down: ['A', 'B'] }), { stay: none });
    expect(placed.moves).toEqual([]);
    expect(placed.unplaced.map((u) => [u.vm.name, name(u.host), u.code, u.params])).toEqual([
      ['a1', 'A', 'VM_REQUIRES_NETWORK', [vmRef('a1'), 'OpaqueRef:net']],
      ['b1', 'B', 'NO_HOSTS_AVAILABLE', [vmRef('b1')]],
    ]);
  });

  it('keeps a preferred destination that still fits; otherwise ranks', () => {
    // B and C upgraded, 15 free each: equal ranks, B by name. Preferred C: C.
    const pool = () => CapacityState.of(modelOf([{ name: 'A', gib: 16 }, { name: 'B', gib: 16 }, { name: 'C', gib: 16 }, { name: 'D', gib: 2 }], [{ name: 'a1', host: 'A', gib: 2 }]));
    const r = roles({ upgraded: ['B', 'C', 'D'], down: ['A'] });
    expect(show(placeWave(pool(), [hostRef('A')], r, { stay: none }).moves)).toEqual(['a1:A->B:final']);
    expect(show(placeWave(pool(), [hostRef('A')], r, { stay: none, preferred: new Map([[vmRef('a1'), hostRef('C')]]) }).moves)).toEqual(['a1:A->C:final']);
    // D has 1 free: no longer fits, ranked instead.
    expect(show(placeWave(pool(), [hostRef('A')], r, { stay: none, preferred: new Map([[vmRef('a1'), hostRef('D')]]) }).moves)).toEqual(['a1:A->B:final']);
  });

  it('equal ranks: the first name wins, wherever the host is listed; a better rank beats a smaller name', () => {
    // Y and Z upgraded with 15 free each. (buildPoolModel sorts hosts by name: listed as given here.)
    const place = (hosts: string[], r: WaveRoles) => {
      const model = modelOf(hosts.map((h) => ({ name: h, gib: 16 })), [{ name: 'a1', host: 'A', gib: 2 }]);
      const listed = { ...model, hosts: hosts.map((h) => model.hosts.find((x) => x.name === h)!) };
      return show(placeWave(CapacityState.of(listed), [hostRef('A')], r, { stay: none }).moves);
    };
    expect(place(['A', 'Z', 'Y'], roles({ upgraded: ['Y', 'Z'], down: ['A'] }))).toEqual(['a1:A->Y:final']);
    expect(place(['A', 'Y', 'Z'], roles({ upgraded: ['Y', 'Z'], down: ['A'] }))).toEqual(['a1:A->Y:final']);
    // X upgraded (final), W evacuated later: X, although W sorts first.
    expect(place(['A', 'X', 'W'], roles({ upgraded: ['X'], down: ['A'], later: ['W'] }))).toEqual(['a1:A->X:final']);
    // XAPI does not make host names unique: two hosts named Y, equal ranks: the first listed.
    const twins = buildPoolModel(smallPool(['A', 'Y1', 'Y2'].map((h) => ({ name: h, gib: 16 })), [{ name: 'a1', host: 'A', gib: 2 }]));
    const named = { ...twins, hosts: twins.hosts.map((h) => (h.name === 'A' ? h : { ...h, name: 'Y' })) };
    const placed = placeWave(CapacityState.of(named), [hostRef('A')], roles({ upgraded: ['Y1', 'Y2'], down: ['A'] }), { stay: none });
    expect(placed.moves.map((m) => m.to)).toEqual([hostRef('Y1')]);
  });
});

describe('makeRoom', () => {
  // S holds the large VM to place (it is being evacuated); R is an upgraded host with room for whatever moves.
  it('one guest big enough: the one that copies the fewest bytes', () => {
    // P 10: p (7, ballooned to 5) and q (4): 1 + 5 + 4 = 10 used, 0 free. big needs 4: a gap of 4.
    // p (5) and q (4) each cover it; q copies 4 GiB, p 7: q. (Largest first, p alone would do too.)
    const state = CapacityState.of(modelOf([{ name: 'S', gib: 16 }, { name: 'P', gib: 10 }, { name: 'R', gib: 16 }], [{ name: 'big', host: 'S', gib: 4 }, { name: 'p', host: 'P', gib: 7, minGib: 5 }, { name: 'q', host: 'P', gib: 4 }]));
    const room = makeRoom(state, vmOf(state, 'big'), [hostRef('P')], roles({ upgraded: ['P', 'R'], down: ['S'] }), none, none);
    expect(room && { host: name(room.host), moves: show(room.moves), bytes: room.bytes / GiB }).toEqual({ host: 'P', moves: ['q:P->R:final:room'], bytes: 4 });
  });

  it('no guest big enough: the largest first until the gap is covered, no more; each to its tightest home', () => {
    // P 10: g1 3, g2 2, g3 2 (1 + 7 = 8 used, 2 free). big 7: a gap of 5. g1 + g2 = 5 covers it.
    // Homes: R (5 free) takes g1 (1 left), then g2 (2) no longer fits R: T (15 free).
    const state = CapacityState.of(modelOf([{ name: 'S', gib: 16 }, { name: 'P', gib: 10 }, { name: 'R', gib: 5 }, { name: 'T', gib: 16 }], [
      { name: 'big', host: 'S', gib: 7 },
      { name: 'g1', host: 'P', gib: 3 },
      { name: 'g2', host: 'P', gib: 2 },
      { name: 'g3', host: 'P', gib: 2 },
    ]));
    const room = makeRoom(state, vmOf(state, 'big'), [hostRef('P')], roles({ upgraded: ['P', 'R', 'T'], down: ['S'] }), none, none);
    expect(room && { host: name(room.host), moves: show(room.moves), bytes: room.bytes / GiB }).toEqual({ host: 'P', moves: ['g1:P->R:final:room', 'g2:P->T:final:room'], bytes: 5 });
    // The state is not changed by the search.
    expect(state.free(hostRef('R'))).toBe(4 * GiB);
  });

  it('the tightest home for a guest moved away, the first listed among equals', () => {
    // P 10: g 3 (6 free); big 9: gap 3, g moves. R (15 free), T (4), U (4): T, tighter than R
    // (listed first) and listed before U.
    const state = CapacityState.of(modelOf([{ name: 'S', gib: 16 }, { name: 'P', gib: 10 }, { name: 'R', gib: 16 }, { name: 'T', gib: 5 }, { name: 'U', gib: 5 }], [{ name: 'big', host: 'S', gib: 9 }, { name: 'g', host: 'P', gib: 3 }]));
    const room = makeRoom(state, vmOf(state, 'big'), [hostRef('P')], roles({ upgraded: ['P', 'R', 'T', 'U'], down: ['S'] }), none, none);
    expect(room && show(room.moves)).toEqual(['g:P->T:final:room']);
  });

  it('equal cost: a final home before one evacuated later, the one with more free first; a cheaper host wins anyway', () => {
    // big 9. P1 12: x1 4 (7 free, gap 2). P2 10: x2 4 (5 free, gap 4). L 17 (evacuated later): x3 4,
    // y3 4 (8 free, gap 1). Every host needs one 4 GiB guest moved: a tie, so the first target is
    // kept: finals first (P1, P2 by free memory), then L. P2 and L are listed before P1. x1 goes to
    // the tightest upgraded host with 4 free: P2 (5 free) rather than R (15).
    const hosts = [{ name: 'S', gib: 16 }, { name: 'P2', gib: 10 }, { name: 'L', gib: 17 }, { name: 'P1', gib: 12 }, { name: 'R', gib: 16 }];
    const vms = [{ name: 'big', host: 'S', gib: 9 }, { name: 'x1', host: 'P1', gib: 4 }, { name: 'x2', host: 'P2', gib: 4 }, { name: 'x3', host: 'L', gib: 4 }, { name: 'y3', host: 'L', gib: 4 }];
    const r = roles({ upgraded: ['P1', 'P2', 'R'], down: ['S'], later: ['L'] });
    const allowed = [hostRef('P2'), hostRef('L'), hostRef('P1')];
    const tie = CapacityState.of(modelOf(hosts, vms));
    const room = makeRoom(tie, vmOf(tie, 'big'), allowed, r, none, none);
    expect(room && { host: name(room.host), moves: show(room.moves), bytes: room.bytes / GiB }).toEqual({ host: 'P1', moves: ['x1:P1->P2:final:room'], bytes: 4 });
    // x2 of 3 GiB instead (P2: 6 free, gap 3): P2 costs 3, less than 4, though tried after P1;
    // x2 goes to P1 (7 free) rather than R (15).
    const cheaper = CapacityState.of(modelOf(hosts, vms.map((v) => (v.name === 'x2' ? { ...v, gib: 3 } : v))));
    const room2 = makeRoom(cheaper, vmOf(cheaper, 'big'), allowed, r, none, none);
    expect(room2 && { host: name(room2.host), moves: show(room2.moves), bytes: room2.bytes / GiB }).toEqual({ host: 'P2', moves: ['x2:P2->P1:final:room'], bytes: 3 });
  });

  it('never moves a guest that stays, was already moved this wave, or XAPI says cannot move; none needed where it fits', () => {
    // P 10: g 4 (5 free); big 6: gap 1, g would do.
    const model = modelOf([{ name: 'S', gib: 16 }, { name: 'P', gib: 10 }, { name: 'R', gib: 16 }], [{ name: 'big', host: 'S', gib: 6 }, { name: 'g', host: 'P', gib: 4 }]);
    const r = roles({ upgraded: ['P', 'R'], down: ['S'] });
    const try_ = (m: PoolModel, stay: ReadonlySet<string>, moved: ReadonlySet<string>, size = 6) => {
      const state = CapacityState.of(m);
      return makeRoom(state, { ...vmOf(state, 'big'), requiredBytes: size * GiB }, [hostRef('P')], r, stay, moved);
    };
    expect(try_(model, none, none)?.moves.map((m) => m.vm.name)).toEqual(['g']);
    expect(try_(model, new Set([vmRef('g')]), none)).toBeUndefined();
    expect(try_(model, none, new Set([vmRef('g')]))).toBeUndefined();
    expect(try_(withVm(model, 'g', { immobile: ['VM_HAS_PCI_ATTACHED', vmRef('g')] }), none, none)).toBeUndefined();
    // big of 5 fits P exactly, of 4 with room to spare: no room to make.
    expect(try_(model, none, none, 5)).toBeUndefined();
    expect(try_(model, none, none, 4)).toBeUndefined();
  });
});

describe('CapacityState', () => {
  const model = modelOf([{ name: 'A', gib: 16 }, { name: 'B', gib: 16 }], [{ name: 'small', host: 'A', gib: 1 }, { name: 'large', host: 'A', gib: 4 }, { name: 'b1', host: 'B', gib: 2 }]);

  it('counts running guests and dom0; a halted VM that still names its host takes nothing', () => {
    // A: 1 + 1 + 4 = 6 used, 10 free. b1 halted: B has dom0 only.
    const state = CapacityState.of(withVm(model, 'b1', { powerState: 'Halted' }));
    expect([state.free(hostRef('A')), state.free(hostRef('B'))]).toEqual([10 * GiB, 15 * GiB]);
    expect(state.where(vmRef('b1'))).toBeUndefined();
    // Moving it is a no-op.
    state.move(vmRef('b1'), hostRef('A'));
    expect([state.free(hostRef('A')), state.where(vmRef('b1'))]).toEqual([10 * GiB, undefined]);
  });

  it('a guest resident on a host the pool does not list is not counted, and an unknown host has nothing', () => {
    const state = CapacityState.of(withVm(model, 'b1', { residentOn: 'OpaqueRef:h-gone' }));
    expect(state.where(vmRef('b1'))).toBeUndefined();
    expect(state.free('OpaqueRef:h-gone')).toBe(0);
    expect(state.guestsOn('OpaqueRef:h-gone')).toEqual([]);
  });

  it('lists guests largest first; moves a VM to a host it does not know and back; ignores an unknown VM', () => {
    const state = CapacityState.of(model);
    expect(state.guestsOn(hostRef('A')).map((v) => v.name)).toEqual(['large', 'small']);
    state.move(vmRef('large'), 'OpaqueRef:h-elsewhere');
    expect([state.where(vmRef('large')), state.free(hostRef('A'))]).toEqual(['OpaqueRef:h-elsewhere', 14 * GiB]);
    state.move(vmRef('large'), hostRef('B'));
    expect([state.where(vmRef('large')), state.free(hostRef('B')), state.guestsOn(hostRef('B')).map((v) => v.name)]).toEqual([hostRef('B'), 9 * GiB, ['large', 'b1']]);
    state.move('OpaqueRef:v-ghost', hostRef('A'));
    expect(state.free(hostRef('A'))).toBe(14 * GiB);
  });

  // Trials (begin/rollback/commit): A has 10 GiB free (dom0 1, small 1, large 4), B 13 (dom0 1, b1 2).
  const at = (state: CapacityState) => ({
    small: state.where(vmRef('small')),
    large: state.where(vmRef('large')),
    b1: state.where(vmRef('b1')),
    freeA: state.free(hostRef('A')) / GiB,
    freeB: state.free(hostRef('B')) / GiB,
    onA: state.guestsOn(hostRef('A')).map((v) => v.name),
    onB: state.guestsOn(hostRef('B')).map((v) => v.name),
  });
  const start = { small: hostRef('A'), large: hostRef('A'), b1: hostRef('B'), freeA: 10, freeB: 13, onA: ['large', 'small'], onB: ['b1'] };

  it('a trial undone puts every guest and figure back: a VM moved twice, one sent to an unknown host, a reservation', () => {
    const state = CapacityState.of(model);
    expect(at(state)).toEqual(start);
    const trial = state.begin();
    state.move(vmRef('large'), hostRef('B'));
    state.move(vmRef('small'), 'OpaqueRef:h-elsewhere');
    state.reserve(hostRef('B'), 3 * GiB);
    state.move(vmRef('large'), hostRef('A'));
    state.move(vmRef('b1'), hostRef('A'));
    // A: dom0 1 + large 4 + b1 2 = 7 used; B: dom0 1 + 3 reserved.
    expect(at(state)).toEqual({ small: 'OpaqueRef:h-elsewhere', large: hostRef('A'), b1: hostRef('A'), freeA: 9, freeB: 12, onA: ['large', 'b1'], onB: [] });
    state.rollback(trial);
    expect(at(state)).toEqual(start);
    expect(state.usedBytes('OpaqueRef:h-elsewhere')).toBe(0);
    state.commit();
  });

  it('a trial undone: a reservation on a host no move touched, and a VM moved on from a host the pool does not list', () => {
    const state = CapacityState.of(model);
    const trial = state.begin();
    state.reserve(hostRef('A'), 2 * GiB);
    state.move(vmRef('b1'), 'OpaqueRef:h-elsewhere');
    state.move(vmRef('b1'), hostRef('B'));
    expect(at(state)).toEqual({ ...start, freeA: 8 });
    state.rollback(trial);
    expect(at(state)).toEqual(start);
    state.commit();
  });

  it('trials nest: an inner trial undone leaves the outer one\'s moves; one kept is undone with the outer one', () => {
    const state = CapacityState.of(model);
    const outer = state.begin();
    state.move(vmRef('large'), hostRef('B'));
    const inner = state.begin();
    state.move(vmRef('small'), hostRef('B'));
    state.rollback(inner);
    expect(at(state)).toEqual({ ...start, large: hostRef('B'), freeA: 14, freeB: 9, onA: ['small'], onB: ['large', 'b1'] });
    state.move(vmRef('b1'), hostRef('A'));
    state.commit();
    state.rollback(outer);
    expect(at(state)).toEqual(start);
    state.commit();
  });

  it('once the last trial is kept its record is gone, and a move outside any trial is not recorded', () => {
    const state = CapacityState.of(model);
    const trial = state.begin();
    state.move(vmRef('large'), hostRef('B'));
    state.commit();
    state.move(vmRef('small'), hostRef('B'));
    state.reserve(hostRef('A'), 2 * GiB);
    state.rollback(trial);
    // B: dom0 1 + b1 2 + large 4 + small 1 = 8 used; A: dom0 1 + 2 reserved.
    expect(at(state)).toEqual({ small: hostRef('B'), large: hostRef('B'), b1: hostRef('B'), freeA: 13, freeB: 8, onA: [], onB: ['large', 'b1', 'small'] });
    expect(() => state.commit()).toThrow('CapacityState.commit without begin');
  });

  it('largestFirst: required bytes (descending), then name, then ref', () => {
    const vm = (ref: string, nm: string, gib: number) => ({ ...model.vms[0]!, ref, name: nm, requiredBytes: gib * GiB });
    const list = [vm('r3', 'b', 1), vm('r2', 'a', 1), vm('r1', 'a', 1), vm('r0', 'z', 2)];
    expect([...list].sort(largestFirst).map((v) => v.ref)).toEqual(['r0', 'r1', 'r2', 'r3']);
    expect(largestFirst(vm('x', 'a', 1), vm('x', 'a', 1))).toBe(0);
  });
});

describe('the sequence and its comparison', () => {
  const result = (unplaced: number, waves: number, gib: number, migrations: number): SequenceResult => ({ unplaced, waves: Array.from({ length: waves }, () => ({ wave: 0, hosts: [], moves: [], unplaced: [], freeAfter: new Map() })), migratedBytes: gib * GiB, migrations });

  it('compareResults: fewer unplaced, then fewer waves, then fewer bytes, then fewer migrations', () => {
    expect(compareResults(result(1, 2, 1, 1), result(2, 1, 0, 0))).toBeLessThan(0);
    expect(compareResults(result(1, 3, 1, 1), result(1, 5, 0, 0))).toBeLessThan(0);
    expect(compareResults(result(1, 5, 1, 1), result(1, 3, 0, 0))).toBeGreaterThan(0);
    expect(compareResults(result(1, 3, 2, 1), result(1, 3, 5, 0))).toBeLessThan(0);
    expect(compareResults(result(1, 3, 5, 1), result(1, 3, 2, 0))).toBeGreaterThan(0);
    expect(compareResults(result(1, 3, 2, 2), result(1, 3, 2, 4))).toBeLessThan(0);
    expect(compareResults(result(1, 3, 2, 4), result(1, 3, 2, 2))).toBeGreaterThan(0);
    expect(compareResults(result(1, 3, 2, 4), result(1, 3, 2, 4))).toBe(0);
  });

  it('playSequence counts migrations and copied bytes over all waves', () => {
    // A (master): a1 2 -> B (the only other host, evacuated later); then B: a1 and b1 (3) -> A.
    const model = modelOf([{ name: 'A', gib: 16 }, { name: 'B', gib: 16 }], [{ name: 'a1', host: 'A', gib: 2 }, { name: 'b1', host: 'B', gib: 3 }]);
    const played = playSequence(CapacityState.of(model), [hostRef('A')], [hostRef('B')], { upgraded: none, excluded: none, stay: none, dom0Growth: new Map(), maxHostsDown: 1, makeRoom: true });
    expect({ waves: played.waves.length, unplaced: played.unplaced, migrations: played.migrations, gib: played.migratedBytes / GiB }).toEqual({ waves: 2, unplaced: 0, migrations: 3, gib: 7 });
  });
});

describe('endStateOf', () => {
  it('leaves a host without memory out of the balance; an anti-affinity group that gathers is not kept; a halted member is nowhere', () => {
    // A 16 and B 8 (g1: a1 2, b1 2, h1 halted), Z reports no memory (0 GiB, only its 1 GiB dom0).
    const model = modelOf([{ name: 'A', gib: 16 }, { name: 'B', gib: 8 }, { name: 'Z', gib: 0 }], [{ name: 'a1', host: 'A', gib: 2, groups: ['g1'] }, { name: 'b1', host: 'B', gib: 2, groups: ['g1'] }, { name: 'h1', host: 'B', gib: 1, groups: ['g1'], powerState: 'Halted' }], undefined, ['g1']);
    const before = CapacityState.of(model);
    const after = CapacityState.of(model);
    after.move(vmRef('b1'), hostRef('A'));
    const end = endStateOf(model, before, after);
    expect(end.hosts).toEqual([
      { host: 'A', guests: 2, usedBytes: 5 * GiB, freeBytes: 11 * GiB, guestMemoryBytes: 16 * GiB, headroom: 0.688 },
      { host: 'B', guests: 0, usedBytes: 1 * GiB, freeBytes: 7 * GiB, guestMemoryBytes: 8 * GiB, headroom: 0.875 },
      { host: 'Z', guests: 0, usedBytes: 1 * GiB, freeBytes: -1 * GiB, guestMemoryBytes: 0, headroom: 0 },
    ]);
    // Fractions of A and B only: 5/16 = 0.3125 and 1/8 = 0.125; mean 0.21875, deviations 0.09375: stddev 0.094.
    expect(end.balance).toEqual({ minUsedFraction: 0.125, maxUsedFraction: 0.313, stddevUsedFraction: 0.094 });
    expect(end.antiAffinity).toEqual([{ group: 'g1', vms: 3, hostsBefore: 2, hostsAfter: 1, maxPerHostBefore: 1, maxPerHostAfter: 2, kept: false }]);
  });
});
