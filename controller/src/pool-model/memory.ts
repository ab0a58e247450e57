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
 * dom0's memory after an upgrade to `platformVersion` on a host with `hostBytes` of RAM, as the
 * installer sizes it: XenServer 7.x and later (platform 2.x and later, XCP-ng 7.4+) give dom0
 * 1 GiB plus 5% of the host's memory, capped at 8 GiB; earlier releases a fixed 752 MiB. An
 * upgrade never shrinks dom0. The planner reserves the growth on each upgraded host.
 */
export function dom0BytesAfterUpgrade(hostBytes: number, currentDom0Bytes: number, platformMajor: number): number {
  const sized = platformMajor >= 2 ? Math.min(8 * GiB, GiB + Math.ceil((hostBytes * 0.05) / MiB) * MiB) : 752 * MiB;
  return Math.max(currentDom0Bytes, sized);
}
