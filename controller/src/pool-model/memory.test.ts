import { describe, expect, it } from 'vitest';
import { defaultDom0Bytes, dom0BytesAfterUpgrade, estimateOverheadBytes, requiredBytes } from './memory.js';

const MiB = 2 ** 20;
const GiB = 2 ** 30;

// Expected values worked by hand from xenserver/python-libs xcp/dom0.py (default_memory_v2/v3).
describe('dom0 memory the installer gives a release', () => {
  it('platform 2.9.0 and later: 1 GiB + 5% of (host + 256 MiB), down to 16 MiB, at most 8 GiB', () => {
    // 64 GiB: 65,792 MiB * 0.05 = 3,289 -> 4,313 -> 4,304 MiB (multiple of 16).
    expect(defaultDom0Bytes(64 * GiB, [3, 2, 1])).toBe(4304 * MiB);
    // 16 GiB: 16,640 * 0.05 = 832 -> 1,856 MiB (already a multiple of 16).
    expect(defaultDom0Bytes(16 * GiB, [2, 9, 0])).toBe(1856 * MiB);
    // 256 GiB: 1,024 + 13,120 = 14,144 MiB, capped at 8,192.
    expect(defaultDom0Bytes(256 * GiB, [3, 0, 0])).toBe(8 * GiB);
  });

  it('before 2.9.0: steps by whole GiB of (host + 256 MiB)', () => {
    expect(defaultDom0Bytes(16 * GiB, [2, 8, 0])).toBe(752 * MiB);
    // 23.75 GiB + 256 MiB = 24 GiB: the 2 GiB step.
    expect(defaultDom0Bytes(23 * GiB + 768 * MiB, [2, 1, 0])).toBe(2 * GiB);
    expect(defaultDom0Bytes(47 * GiB, [1, 9, 0])).toBe(2 * GiB);
    expect(defaultDom0Bytes(48 * GiB, [1, 9, 0])).toBe(3 * GiB);
    // 63 GiB + 256 MiB = 63.25 -> 63: still 3 GiB; 64 GiB + 256 MiB = 64.25 -> 64: 4 GiB.
    expect(defaultDom0Bytes(63 * GiB, [1, 9, 0])).toBe(3 * GiB);
    expect(defaultDom0Bytes(64 * GiB, [1, 9, 0])).toBe(4 * GiB);
    expect(defaultDom0Bytes(256 * GiB, [2, 8, 9])).toBe(4 * GiB);
    // xcp/version.py ver_cmp compares the common arcs, then the lengths: [2, 9] < [2, 9, 0], so v2.
    expect(defaultDom0Bytes(16 * GiB, [2, 9])).toBe(752 * MiB);
    // [2, 9, 0, 1] > [2, 9, 0]: v3, 1,856 MiB as for 2.9.0 above.
    expect(defaultDom0Bytes(16 * GiB, [2, 9, 0, 1])).toBe(1856 * MiB);
  });

  it('an upgrade never counts on dom0 shrinking', () => {
    expect(dom0BytesAfterUpgrade(64 * GiB, 6 * GiB, [3, 2, 1])).toBe(6 * GiB);
    expect(dom0BytesAfterUpgrade(64 * GiB, 752 * MiB, [3, 2, 1])).toBe(4304 * MiB);
  });
});

describe('what a VM needs on a host', () => {
  const vm = { staticMax: 4 * GiB, dynamicMin: 1 * GiB, dynamicMax: 2 * GiB, overhead: 40 * MiB };
  it('xapi: dynamic_min + overhead (dynamic_max, then static_max when unset); static-max: static_max + overhead', () => {
    expect(requiredBytes(vm, 'xapi')).toBe(1 * GiB + 40 * MiB);
    expect(requiredBytes({ ...vm, dynamicMin: 0 }, 'xapi')).toBe(2 * GiB + 40 * MiB);
    expect(requiredBytes({ ...vm, dynamicMin: 0, dynamicMax: 0 }, 'xapi')).toBe(4 * GiB + 40 * MiB);
    expect(requiredBytes(vm, 'static-max')).toBe(4 * GiB + 40 * MiB);
  });

  it('an overhead missing from the record: 1% of static_max rounded up to a MiB, at least 1 MiB', () => {
    // 8,192 MiB / 100 = 81.92 -> 82 MiB.
    expect(estimateOverheadBytes(8 * GiB)).toBe(82 * MiB);
    // 50 MiB / 100 = 0.5 -> 1 MiB; nothing at all still costs 1 MiB.
    expect(estimateOverheadBytes(50 * MiB)).toBe(1 * MiB);
    expect(estimateOverheadBytes(0)).toBe(1 * MiB);
  });
});
