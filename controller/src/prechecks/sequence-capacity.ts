import { compareVersions, isRunningGuest, type PoolSnapshot, type SnapshotHost, type SnapshotVm } from '../workflows/rolling-upgrade/pool-records.js';

/**
 * Whole-sequence capacity for a rolling upgrade. Pure, deterministic, no I/O.
 *
 * The master goes first, then one host at a time is out of the pool. At every step each running
 * agile VM of the host going out needs a destination that (a) is up and enabled, or already
 * upgraded (the run re-enables it), (b) is not older than the VM's current host (XAPI refuses
 * migrations to older hosts during an upgrade), (c) sees every SR the VM's disks are on, and
 * (d) has the memory, by XAPI's accounting: memory_total - host.memory_overhead minus, for every
 * VM placed there at that step (dom0 included), memory_static_max + memory_overhead. VMs that are
 * not agile (local storage, blocked operations) stay and are reported by the evacuation check.
 *
 * "can this host evacuate now" is a different, weaker question: after the master is upgraded
 * only it may receive VMs from a host still on the old version, so the field report's worst case
 * ("initially, only the master will be potentially able to take on VMs") is checked too, with
 * destinations limited to hosts already upgraded from the second step on.
 *
 * Placement is first-fit decreasing (largest VM first) on the destination left with the least
 * room, preferring upgraded hosts: a "feasible" answer is a concrete plan, an infeasible one is
 * what this heuristic could not place (bin packing is NP-hard; the shortfall says by how much).
 * The rolling-upgrade planner asks the same question with its own order search.
 */

export type DestinationPolicy = 'any' | 'upgraded-only';

export interface CapacityOptions {
  /** Non-master hosts (refs, uuids or names) in the order to try; the master always goes first. */
  order?: readonly string[];
  destinations?: DestinationPolicy;
  /** Try every order of the non-master hosts up to this many (default 6); beyond, lightest first. */
  maxExhaustiveHosts?: number;
}

export interface CapacityMove {
  vm: string;
  vmRef: string;
  fromRef: string;
  toRef: string;
  requiredBytes: number;
}

export interface CapacityShortfall {
  vm: string;
  vmRef: string;
  hostRef: string;
  code: 'HOST_NOT_ENOUGH_FREE_MEMORY' | 'NO_HOSTS_AVAILABLE' | 'VM_REQUIRES_SR';
  requiredBytes: number;
  /** The most memory any allowed destination had free when the VM was tried. */
  bestFreeBytes: number;
}

export interface CapacityStep {
  step: number;
  hostRef: string;
  host: string;
  moves: CapacityMove[];
  shortfalls: CapacityShortfall[];
  /** Free memory (XAPI accounting) per host name once this host is empty. */
  freeAfter: Record<string, number>;
}

export interface CapacityResult {
  feasible: boolean;
  destinations: DestinationPolicy;
  /** Host refs, master first. */
  order: string[];
  steps: CapacityStep[];
  ordersTried: number;
}

const NULL_REF = 'OpaqueRef:NULL';

/** Whether `vm` may live on `host` storage-wise: every SR of its disks attached there. */
export function seesStorage(vm: SnapshotVm, host: SnapshotHost): boolean {
  return vm.srs.every((sr) => host.attachedSrs.has(sr));
}

/** Agile: running, not blocked, and some other host sees all its storage. */
export function isAgile(snapshot: PoolSnapshot, vm: SnapshotVm): boolean {
  if (!isRunningGuest(vm) || vm.migrateBlockedReason !== undefined) return false;
  return snapshot.hosts.some((h) => h.ref !== vm.residentOn && seesStorage(vm, h));
}

class Placement {
  readonly used = new Map<string, number>();
  readonly residence = new Map<string, string>();

  constructor(readonly snapshot: PoolSnapshot) {
    for (const h of snapshot.hosts) this.used.set(h.ref, 0);
    for (const vm of snapshot.vms) {
      const running = vm.isControlDomain || isRunningGuest(vm);
      if (!running || vm.residentOn === NULL_REF || !this.used.has(vm.residentOn)) continue;
      this.residence.set(vm.ref, vm.residentOn);
      this.used.set(vm.residentOn, (this.used.get(vm.residentOn) ?? 0) + vm.requiredBytes);
    }
  }

  free(host: SnapshotHost): number {
    return host.guestMemoryBytes - (this.used.get(host.ref) ?? 0);
  }

  move(vm: SnapshotVm, to: string): void {
    const from = this.residence.get(vm.ref);
    if (from === undefined) return;
    this.used.set(from, (this.used.get(from) ?? 0) - vm.requiredBytes);
    this.used.set(to, (this.used.get(to) ?? 0) + vm.requiredBytes);
    this.residence.set(vm.ref, to);
  }

  guestsOn(hostRef: string): SnapshotVm[] {
    return this.snapshot.vms
      .filter((vm) => !vm.isControlDomain && this.residence.get(vm.ref) === hostRef)
      .sort((a, b) => b.requiredBytes - a.requiredBytes || a.name.localeCompare(b.name));
  }
}

function simulate(snapshot: PoolSnapshot, order: readonly string[], policy: DestinationPolicy): CapacityStep[] {
  const state = new Placement(snapshot);
  const byRef = new Map(snapshot.hosts.map((h) => [h.ref, h]));
  const upgraded = new Set<string>();
  const steps: CapacityStep[] = [];
  order.forEach((hostRef, index) => {
    const source = byRef.get(hostRef) as SnapshotHost;
    const moves: CapacityMove[] = [];
    const shortfalls: CapacityShortfall[] = [];
    for (const vm of state.guestsOn(hostRef)) {
      if (!isAgile(snapshot, vm)) continue;
      const allowed = snapshot.hosts.filter((h) => {
        if (h.ref === hostRef) return false;
        const done = upgraded.has(h.ref);
        if (policy === 'upgraded-only' && index > 0 && !done) return false;
        if (!done && (!h.live || !h.enabled)) return false;
        return done || compareVersions(h.version, source.version) >= 0;
      });
      const fitsStorage = allowed.filter((h) => seesStorage(vm, h));
      const roomy = fitsStorage.filter((h) => state.free(h) >= vm.requiredBytes);
      if (roomy.length === 0) {
        const code = allowed.length === 0 ? 'NO_HOSTS_AVAILABLE' : fitsStorage.length === 0 ? 'VM_REQUIRES_SR' : 'HOST_NOT_ENOUGH_FREE_MEMORY';
        shortfalls.push({ vm: vm.name, vmRef: vm.ref, hostRef, code, requiredBytes: vm.requiredBytes, bestFreeBytes: Math.max(0, ...fitsStorage.map((h) => state.free(h))) });
        continue;
      }
      // Upgraded hosts first (the VM never moves again), then the tightest fit.
      const best = [...roomy].sort(
        (a, b) => Number(upgraded.has(b.ref)) - Number(upgraded.has(a.ref)) || state.free(a) - state.free(b) || a.name.localeCompare(b.name),
      )[0] as SnapshotHost;
      state.move(vm, best.ref);
      moves.push({ vm: vm.name, vmRef: vm.ref, fromRef: hostRef, toRef: best.ref, requiredBytes: vm.requiredBytes });
    }
    const freeAfter: Record<string, number> = {};
    for (const h of snapshot.hosts) freeAfter[h.name] = state.free(h);
    steps.push({ step: index + 1, hostRef, host: source.name, moves, shortfalls, freeAfter });
    upgraded.add(hostRef);
  });
  return steps;
}

function* permutations<T>(items: readonly T[]): Generator<T[]> {
  if (items.length <= 1) {
    yield [...items];
    return;
  }
  for (let i = 0; i < items.length; i++) {
    for (const rest of permutations([...items.slice(0, i), ...items.slice(i + 1)])) yield [items[i] as T, ...rest];
  }
}

function matchHost(hosts: readonly SnapshotHost[], key: string): SnapshotHost | undefined {
  return hosts.find((h) => h.ref === key || h.uuid === key || h.name === key);
}

/**
 * Simulates the whole upgrade sequence and says whether every running agile VM has somewhere to
 * go at every step. Without an order, searches the orders of the non-master hosts for one that
 * works (all of them up to `maxExhaustiveHosts`, lightest-loaded first beyond).
 */
export function simulateRollingCapacity(snapshot: PoolSnapshot, options: CapacityOptions = {}): CapacityResult {
  const policy = options.destinations ?? 'any';
  const master = snapshot.hosts.find((h) => h.ref === snapshot.masterRef);
  if (master === undefined) throw new Error(`the master ${snapshot.masterRef} is not among the pool's hosts`);
  const others = snapshot.hosts.filter((h) => h.ref !== master.ref);
  const shortfallCount = (steps: CapacityStep[]): number => steps.reduce((s, x) => s + x.shortfalls.length, 0);

  let candidates: Iterable<string[]>;
  if (options.order !== undefined) {
    const given = options.order.map((key) => {
      const h = matchHost(others, key);
      if (h === undefined) throw new Error(`no non-master host ${key} in pool ${snapshot.poolName}`);
      return h.ref;
    });
    candidates = [[...given, ...others.map((h) => h.ref).filter((r) => !given.includes(r))]];
  } else if (others.length <= (options.maxExhaustiveHosts ?? 6)) {
    candidates = permutations([...others].sort((a, b) => a.name.localeCompare(b.name)).map((h) => h.ref));
  } else {
    const state = new Placement(snapshot);
    const load = (h: SnapshotHost): number => state.guestsOn(h.ref).reduce((s, vm) => s + vm.requiredBytes, 0);
    candidates = [[...others].sort((a, b) => load(a) - load(b) || a.name.localeCompare(b.name)).map((h) => h.ref)];
  }

  let best: { order: string[]; steps: CapacityStep[] } | undefined;
  let tried = 0;
  for (const tail of candidates) {
    const order = [master.ref, ...tail];
    const steps = simulate(snapshot, order, policy);
    tried++;
    if (best === undefined || shortfallCount(steps) < shortfallCount(best.steps)) best = { order, steps };
    if (shortfallCount(steps) === 0) break;
  }
  const chosen = best ?? { order: [master.ref], steps: simulate(snapshot, [master.ref], policy) };
  return { feasible: shortfallCount(chosen.steps) === 0, destinations: policy, order: chosen.order, steps: chosen.steps, ordersTried: Math.max(tried, 1) };
}
