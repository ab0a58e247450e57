import { compareIntLists } from './versions.js';

/**
 * Memory as XAPI accounts it when it places a VM (ocaml/xapi/memory_check.ml):
 * - a host offers host_metrics.memory_total - host.memory_overhead (host_maximum_guest_memory);
 * - every VM resident on or scheduled to the host (dom0 included) takes its dynamic_min plus its
 *   memory_overhead (host_compute_free_memory_with_maximum_compression uses the Dynamic_min
 *   policy: guests are ballooned down to make room);
 * - a VM to start or migrate needs its start memory under the same policy
 *   (assert_enough_memory_available), i.e. dynamic_min plus overhead.
 * `static-max` is the stricter option: every VM at static_max plus overhead, as HA's planner and
 * an admin who does not trust ballooning count.
 */
export type MemoryPolicy = 'xapi' | 'static-max';
export const memoryPolicies: readonly MemoryPolicy[] = ['xapi', 'static-max'];

const MiB = 2 ** 20;
const GiB = 2 ** 30;

export interface VmMemory {
  staticMax: number;
  dynamicMin: number;
  dynamicMax: number;
  overhead: number;
}

/** XAPI's overhead for a guest when the record lacks it (dumps before memory_overhead existed): about 1%, at least 1 MiB. */
export function estimateOverheadBytes(staticMaxBytes: number): number {
  return Math.max(MiB, Math.ceil(staticMaxBytes / 100 / MiB) * MiB);
}

export function requiredBytes(m: VmMemory, policy: MemoryPolicy): number {
  const base = policy === 'static-max' ? m.staticMax : m.dynamicMin || m.dynamicMax || m.staticMax;
  return base + m.overhead;
}

/**
 * dom0's memory after an upgrade to `targetPlatform` on a host with `hostBytes` of RAM (as Xen
 * reports it: host_metrics.memory_total), as the installer sizes it by default
 * (xenserver/python-libs xcp/dom0.py default_memory_for_version, CP-29627/CP-30557):
 * - platform_version >= 2.9.0: 1 GiB + 5% of (host + 256 MiB), rounded down to 16 MiB, at most 8 GiB
 *   (default_memory_v3);
 * - earlier: by whole GiB of (host + 256 MiB): under 24 -> 752 MiB, under 48 -> 2 GiB, under 64 ->
 *   3 GiB, else 4 GiB (default_memory_v2).
 * The planner keeps dom0 at least where it is (an admin may have raised it; never count on it
 * shrinking) and reserves the growth on each upgraded host.
 */
export function dom0BytesAfterUpgrade(hostBytes: number, currentDom0Bytes: number, targetPlatform: readonly number[]): number {
  return Math.max(currentDom0Bytes, defaultDom0Bytes(hostBytes, targetPlatform));
}

/** xcp/dom0.py default_memory_for_version, in bytes. */
export function defaultDom0Bytes(hostBytes: number, platform: readonly number[]): number {
  // xcp/version.py ver_cmp is compareIntLists: the common arcs, then the longer one is greater.
  const v3 = compareIntLists(platform, [2, 9, 0]) >= 0;
  const hostMiB = Math.floor(hostBytes / MiB) + 256;
  if (v3) return Math.min((1024 + Math.floor(hostMiB * 0.05)) & ~0xf, 8192) * MiB;
  const gib = Math.floor(hostMiB / 1024);
  if (gib < 24) return 752 * MiB;
  if (gib < 48) return 2 * GiB;
  if (gib < 64) return 3 * GiB;
  return 4 * GiB;
}
