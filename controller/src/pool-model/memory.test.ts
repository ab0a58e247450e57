import { describe, expect, it } from 'vitest';
import { defaultDom0Bytes, dom0BytesAfterUpgrade } from './memory.js';

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
    expect(defaultDom0Bytes(256 * GiB, [2, 8, 9])).toBe(4 * GiB);
  });

  it('an upgrade never counts on dom0 shrinking', () => {
    expect(dom0BytesAfterUpgrade(64 * GiB, 6 * GiB, [3, 2, 1])).toBe(6 * GiB);
    expect(dom0BytesAfterUpgrade(64 * GiB, 752 * MiB, [3, 2, 1])).toBe(4304 * MiB);
  });
});
