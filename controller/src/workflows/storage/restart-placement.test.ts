import { describe, expect, it } from 'vitest';
import { hostRef, smallPool, vmRef } from '@xsctl/test/pools/small-pool';
import { buildPoolModel, recordsFromRaw } from '../../pool-model/index.js';
import { placeRestarts } from './restart-placement.js';

/**
 * Hand-computed: small-pool hosts have a 1 GiB dom0 and no overhead; VMs take exactly their GiB.
 * xs1 died (not live); its VMs were reset to Halted. xs2 has 8 GiB: 1 for dom0, 2 for its own
 * VM `own`, so 5 GiB left. xs3 has 32 GiB but is disabled (host.disable): xapi starts nothing there.
 */
const GiB = 2 ** 30;

describe("where a dead host's VMs start again (the capacity engine's accounting)", () => {
  it('largest first while they fit on the survivor; the rest stay Halted with the reason', () => {
    const model = buildPoolModel(
      smallPool(
        [
          { name: 'xs1', gib: 16, live: false },
          { name: 'xs2', gib: 8 },
          { name: 'xs3', gib: 32, enabled: false },
        ],
        [
          { name: 'own', host: 'xs2', gib: 2 },
          { name: 'a', host: 'xs1', gib: 4, powerState: 'Halted' },
          { name: 'b', host: 'xs1', gib: 2, powerState: 'Halted' },
          { name: 'c', host: 'xs1', gib: 3, powerState: 'Halted' },
        ],
      ),
    );
    const r = placeRestarts(model, [vmRef('b'), vmRef('a'), vmRef('c')], hostRef('xs1'));
    // 5 GiB left on xs2: a (4) first, then c (3) and b (2) no longer fit (1 GiB left).
    expect(r.placed).toEqual([{ vm: vmRef('a'), vmName: 'a', host: hostRef('xs2'), hostName: 'xs2', requiredBytes: 4 * GiB }]);
    expect(r.unplaced.map((u) => u.vmName)).toEqual(['c', 'b']);
    expect(r.unplaced[0]!.reason).toBe(`needs ${3 * GiB} bytes, the most any live host has left is ${1 * GiB} (xs2); it stays Halted`);
  });

  it('spreads over the live hosts by the memory each has left, and never onto the dead one', () => {
    const model = buildPoolModel(
      smallPool(
        [
          { name: 'xs1', gib: 64, live: false },
          { name: 'xs2', gib: 8 },
          { name: 'xs3', gib: 6 },
        ],
        [
          { name: 'a', host: 'xs1', gib: 4, powerState: 'Halted' },
          { name: 'b', host: 'xs1', gib: 3, powerState: 'Halted' },
          { name: 'c', host: 'xs1', gib: 2, powerState: 'Halted' },
        ],
      ),
    );
    // Left: xs2 7, xs3 5. a (4) -> xs2 (7 -> 3); b (3) -> xs3 (5 -> 2); c (2) -> xs2 (3 -> 1).
    const r = placeRestarts(model, [vmRef('a'), vmRef('b'), vmRef('c')], hostRef('xs1'));
    expect(r.placed.map((p) => [p.vmName, p.hostName])).toEqual([
      ['a', 'xs2'],
      ['b', 'xs3'],
      ['c', 'xs2'],
    ]);
    expect(r.unplaced).toEqual([]);
  });

  it("a VM whose disk is on the dead host's local SR cannot start elsewhere", () => {
    const model = buildPoolModel(
      smallPool(
        [
          { name: 'xs1', gib: 16, live: false },
          { name: 'xs2', gib: 16 },
        ],
        [{ name: 'local', host: 'xs1', gib: 1, local: true, powerState: 'Halted' }],
      ),
    );
    const r = placeRestarts(model, [vmRef('local')], hostRef('xs1'));
    expect(r.placed).toEqual([]);
    expect(r.unplaced).toEqual([{ vm: vmRef('local'), vmName: 'local', reason: 'no live, enabled host has all its SRs attached (1 SR(s)); it stays Halted' }]);
  });
  it('a dead host that XAPI still reports live and enabled gets nothing, though it has the most memory left', () => {
    // xapi marks a host dead only after its heartbeat times out; the failover may run before that.
    const model = buildPoolModel(
      smallPool(
        [
          { name: 'xs1', gib: 64 },
          { name: 'xs2', gib: 8 },
        ],
        [{ name: 'a', host: 'xs1', gib: 4, powerState: 'Halted' }],
      ),
    );
    // Left: xs1 63 GiB (excluded: it is the dead host), xs2 7 GiB: a (4) -> xs2.
    const r = placeRestarts(model, [vmRef('a')], hostRef('xs1'));
    expect(r.placed.map((p) => [p.vmName, p.hostName])).toEqual([['a', 'xs2']]);
    expect(r.unplaced).toEqual([]);
  });

  it('a VM destroyed since the failover started is named as gone; the others still start', () => {
    const model = buildPoolModel(
      smallPool(
        [
          { name: 'xs1', gib: 16, live: false },
          { name: 'xs2', gib: 8 },
        ],
        [{ name: 'a', host: 'xs1', gib: 2, powerState: 'Halted' }],
      ),
    );
    const r = placeRestarts(model, [vmRef('gone'), vmRef('a')], hostRef('xs1'));
    expect(r.placed.map((p) => [p.vmName, p.hostName])).toEqual([['a', 'xs2']]);
    expect(r.unplaced).toEqual([{ vm: vmRef('gone'), vmName: vmRef('gone'), reason: 'not in the pool any more' }]);
  });

  it('a VM with one disk on the shared SR and one on the dead host\'s local SR stays Halted: every SR must be attached', () => {
    const input = smallPool(
      [
        { name: 'xs1', gib: 16, live: false },
        { name: 'xs2', gib: 16 },
      ],
      [{ name: 'a', host: 'xs1', gib: 1, powerState: 'Halted' }],
    );
    // The second disk, on xs1's local SR (only xs1 has a PBD for it).
    const extra = recordsFromRaw({
      VDI: { 'OpaqueRef:vdi-a-local': { SR: 'OpaqueRef:sr-local-xs1' } },
      VBD: { 'OpaqueRef:vbd-a-local': { VM: vmRef('a'), VDI: 'OpaqueRef:vdi-a-local', type: 'Disk', empty: false } },
    });
    for (const cls of ['VDI', 'VBD'] as const) for (const [ref, rec] of extra[cls]) (input.records[cls] as Map<unknown, unknown>).set(ref, rec);
    const r = placeRestarts(buildPoolModel(input), [vmRef('a')], hostRef('xs1'));
    expect(r.placed).toEqual([]);
    expect(r.unplaced).toEqual([{ vm: vmRef('a'), vmName: 'a', reason: 'no live, enabled host has all its SRs attached (2 SR(s)); it stays Halted' }]);
  });

  it('a VM that needs exactly the memory left starts there', () => {
    const model = buildPoolModel(
      smallPool(
        [
          { name: 'xs1', gib: 16, live: false },
          { name: 'xs2', gib: 8 },
        ],
        [{ name: 'a', host: 'xs1', gib: 7, powerState: 'Halted' }],
      ),
    );
    // xs2: 8 GiB - 1 GiB dom0 = 7 GiB left; a needs 7 GiB: it fits, with 0 left.
    const r = placeRestarts(model, [vmRef('a')], hostRef('xs1'));
    expect(r.placed).toEqual([{ vm: vmRef('a'), vmName: 'a', host: hostRef('xs2'), hostName: 'xs2', requiredBytes: 7 * GiB }]);
    expect(r.unplaced).toEqual([]);
  });
});
