import { describe, expect, it } from 'vitest';
import { hostRef, smallPool, vmRef, type HostSpec } from '@xsctl/test/pools/small-pool';
import { buildPoolModel, type ModelHost, type ModelVm } from '../pool-model/pool-model.js';
import { CapacityState } from './capacity-state.js';
import { compareRank, isFinal, mayGo, rank, type WaveRoles } from './roles.js';

/**
 * The target filter one rule at a time: each row changes exactly one fact about the destination
 * (or the source, or the VM), so weakening any single check of mayGo flips exactly the rows that
 * name it. The verdicts are the rules of DESIGN.md's rolling upgrade (and XAPI's
 * host_versions_not_decreasing), worked out by hand, not read from the code.
 *
 * S is the host being emptied (with D in the same wave). U is upgraded, X excluded, L1 and L2 are
 * evacuated later (L2 last). N is none of these: not upgraded, not excluded, not evacuated later
 * (emptied in an earlier wave of a run that did not upgrade it yet): no home at all.
 */
const GiB = 2 ** 30;
const names = ['S', 'D', 'U', 'U2', 'X', 'L1', 'L2', 'N', 'OFF', 'DIS', 'OLDXEN', 'OLDBUILD', 'OLDPLAT', 'NEWXEN', 'UDIS'] as const;
const model = buildPoolModel(
  smallPool(
    names.map((name): HostSpec => ({
      name,
      gib: 16,
      ...(name === 'OFF' ? { live: false } : {}),
      ...(name === 'DIS' || name === 'UDIS' ? { enabled: false } : {}),
      ...(name === 'OLDXEN' ? { software: { xen: '4.13.5-9.39' } } : {}),
      ...(name === 'OLDBUILD' ? { software: { xapi_build: '1.249.40' } } : {}),
      ...(name === 'OLDPLAT' ? { version: '8.2.0' } : {}),
      ...(name === 'NEWXEN' ? { software: { xen: '4.13.5-9.41' } } : {}),
    })),
    [{ name: 'v', host: 'S', gib: 2 }, { name: 'u', host: 'U', gib: 2 }],
  ),
);
const host = (name: string): ModelHost => model.hosts.find((h) => h.name === name)!;
const vm = (name: string): ModelVm => model.vms.find((v) => v.name === name)!;
const refs = (...n: string[]) => new Set(n.map(hostRef));
const roles: WaveRoles = {
  upgraded: refs('U', 'U2', 'UDIS'),
  down: refs('S', 'D'),
  later: new Map([[hostRef('L1'), 1], [hostRef('L2'), 2], [hostRef('OFF'), 3], [hostRef('DIS'), 4], [hostRef('OLDXEN'), 5], [hostRef('OLDBUILD'), 6], [hostRef('OLDPLAT'), 7], [hostRef('NEWXEN'), 8]]),
  excluded: refs('X'),
};

describe('mayGo: where a VM may move at a wave, memory aside', () => {
  it.each([
    ['S', false, 'its own host'],
    ['D', false, 'a host of the same wave (being emptied)'],
    ['U', true, 'an upgraded host'],
    ['UDIS', true, 'an upgraded host that is disabled now: it is enabled again before the next wave'],
    ['X', true, 'an excluded host (live, enabled, same versions)'],
    ['L1', true, 'a host evacuated later'],
    ['L2', true, 'a host evacuated last'],
    ['N', false, 'a host neither upgraded, excluded nor evacuated later'],
    ['OFF', false, 'a host evacuated later that is not live'],
    ['DIS', false, 'a host evacuated later that is disabled'],
    ['OLDXEN', false, 'a host evacuated later with an older xen (9.39 < 9.40)'],
    ['OLDBUILD', false, 'a host evacuated later with an older xapi_build (1.249.40 < 1.249.41)'],
    ['OLDPLAT', false, 'a host evacuated later with an older platform_version (8.2.0 < 8.2.1)'],
    ['NEWXEN', true, 'a host evacuated later with a newer xen'],
  ])('from S to %s: %s (%s)', (to, verdict) => {
    expect(mayGo(vm('v'), host('S'), host(to), roles)).toBe(verdict);
  });

  it('from an upgraded host only to another upgraded host, never back to an older one', () => {
    for (const [to, verdict] of [['U2', true], ['UDIS', true], ['X', false], ['L1', false], ['L2', false], ['NEWXEN', false], ['U', false], ['S', false]] as const) {
      expect(mayGo(vm('u'), host('U'), host(to), roles), to).toBe(verdict);
    }
  });

  it('a VM XAPI restricted (VM.assert_can_boot_here) goes only to the hosts XAPI named, upgraded ones included', () => {
    const restricted: ModelVm = { ...vm('v'), restrictedTo: { hosts: refs('L1', 'X'), reason: ['VM_REQUIRES_NETWORK', vmRef('v'), 'OpaqueRef:net'] } };
    for (const [to, verdict] of [['L1', true], ['X', true], ['L2', false], ['U', false], ['U2', false], ['D', false]] as const) {
      expect(mayGo(restricted, host('S'), host(to), roles), to).toBe(verdict);
    }
  });

  it('one host that is both older and disabled, and one that is each, are refused for each reason alone', () => {
    // The point: a test with one host that is both cannot tell which check is there.
    const both = { ...host('DIS'), software: host('OLDXEN').software };
    expect(mayGo(vm('v'), host('S'), both, roles)).toBe(false);
    expect(mayGo(vm('v'), host('S'), { ...host('L1'), enabled: false }, roles)).toBe(false);
    expect(mayGo(vm('v'), host('S'), { ...host('L1'), live: false }, roles)).toBe(false);
    expect(mayGo(vm('v'), host('S'), { ...host('L1'), software: host('OLDXEN').software }, roles)).toBe(false);
    expect(mayGo(vm('v'), host('S'), host('L1'), roles)).toBe(true);
  });
});

describe('isFinal and rank: final homes first, then the host evacuated last, then anti-affinity, then the tightest fit', () => {
  it('upgraded and excluded hosts are final; later and other hosts are not', () => {
    expect(['U', 'UDIS', 'X', 'L1', 'L2', 'N', 'S'].map((h) => isFinal(hostRef(h), roles))).toEqual([true, true, true, false, false, false, false]);
  });

  it('ranks by hand: [final?0:1, -(position when not final), group members there, free - required]', () => {
    const state = CapacityState.of(model);
    // Every host offers 15 GiB; U holds u (2 GiB); v needs 2 GiB.
    expect(rank(vm('v'), hostRef('U'), roles, state)).toEqual([0, 0, 0, 11 * GiB]);
    expect(rank(vm('v'), hostRef('X'), roles, state)).toEqual([0, 0, 0, 13 * GiB]);
    expect(rank(vm('v'), hostRef('L1'), roles, state)).toEqual([1, -1, 0, 13 * GiB]);
    expect(rank(vm('v'), hostRef('L2'), roles, state)).toEqual([1, -2, 0, 13 * GiB]);
    // A host missing from `later` (not a destination mayGo allows) ranks as position 0.
    expect(rank(vm('v'), hostRef('N'), roles, state)).toEqual([1, -0, 0, 13 * GiB]);
  });

  it('counts the members of each of the VM anti-affinity groups already on the host', () => {
    const grouped = buildPoolModel(
      smallPool(
        [{ name: 'A', gib: 16 }, { name: 'B', gib: 16 }],
        [
          { name: 'v', host: 'A', gib: 1, groups: ['g1', 'g2'] },
          { name: 'b1', host: 'B', gib: 1, groups: ['g1'] },
          { name: 'b2', host: 'B', gib: 1, groups: ['g1', 'g2'] },
          { name: 'b3', host: 'B', gib: 1, groups: ['g3'] },
        ],
        undefined,
        ['g1', 'g2', 'g3'],
      ),
    );
    const r: WaveRoles = { upgraded: new Set([hostRef('B')]), down: new Set([hostRef('A')]), later: new Map(), excluded: new Set() };
    const v = grouped.vms.find((x) => x.name === 'v')!;
    // g1: b1, b2; g2: b2 -> 3. B offers 15 and holds 3: 12 free, 11 after v.
    expect(rank(v, hostRef('B'), r, CapacityState.of(grouped))).toEqual([0, 0, 3, 11 * GiB]);
  });

  it('compareRank orders element by element, the first difference deciding', () => {
    expect(compareRank([0, 0, 0, 5], [1, -9, 0, 0])).toBeLessThan(0);
    expect(compareRank([1, -2, 0, 9], [1, -1, 0, 0])).toBeLessThan(0);
    expect(compareRank([1, -1, 0, 0], [1, -2, 0, 9])).toBeGreaterThan(0);
    expect(compareRank([0, 0, 1, 0], [0, 0, 2, 0])).toBeLessThan(0);
    expect(compareRank([0, 0, 0, 3], [0, 0, 0, 7])).toBe(-4);
    expect(compareRank([0, 0, 0, 7], [0, 0, 0, 3])).toBe(4);
    expect(compareRank([1, -1, 2, 3], [1, -1, 2, 3])).toBe(0);
  });
});
