import type { PoolModel } from '../pool-model/pool-model.js';
import type { CapacityState } from './capacity-state.js';
import type { EndState } from './plan-types.js';

/**
 * The pool after the plan: memory used and left per host, how even the hosts are, and whether
 * each anti-affinity group is at least as spread as before (no more of its VMs on one host).
 */
export function endStateOf(model: PoolModel, before: CapacityState, after: CapacityState): EndState {
  const hosts = model.hosts.map((h) => {
    const free = after.free(h.ref);
    return {
      host: h.name,
      guests: after.guestsOn(h.ref).length,
      usedBytes: after.usedBytes(h.ref),
      freeBytes: free,
      guestMemoryBytes: h.guestMemoryBytes,
      headroom: h.guestMemoryBytes > 0 ? round(free / h.guestMemoryBytes) : 0,
    };
  });
  const fractions = hosts.filter((h) => h.guestMemoryBytes > 0).map((h) => h.usedBytes / h.guestMemoryBytes);
  const mean = fractions.reduce((s, f) => s + f, 0) / Math.max(1, fractions.length);
  const stddev = Math.sqrt(fractions.reduce((s, f) => s + (f - mean) ** 2, 0) / Math.max(1, fractions.length));
  const spread = (state: CapacityState, vms: readonly string[]): { hosts: number; max: number } => {
    const per = new Map<string, number>();
    for (const vm of vms) {
      const h = state.where(vm);
      if (h !== undefined) per.set(h, (per.get(h) ?? 0) + 1);
    }
    return { hosts: per.size, max: Math.max(0, ...per.values()) };
  };
  return {
    hosts,
    balance: { minUsedFraction: round(Math.min(...fractions, 1)), maxUsedFraction: round(Math.max(...fractions, 0)), stddevUsedFraction: round(stddev) },
    antiAffinity: [...model.antiAffinityGroups.values()].map((g) => {
      const b = spread(before, g.vms);
      const a = spread(after, g.vms);
      return { group: g.name, vms: g.vms.length, hostsBefore: b.hosts, hostsAfter: a.hosts, maxPerHostBefore: b.max, maxPerHostAfter: a.max, kept: a.max <= b.max };
    }),
  };
}

const round = (x: number): number => Math.round(x * 1000) / 1000;
