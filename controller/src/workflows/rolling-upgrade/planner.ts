import { compareVersions, isRunningGuest, type PoolSnapshot, type SnapshotHost, type SnapshotVm } from './pool-records.js';

/**
 * The rolling-upgrade planner: pure, deterministic, no I/O.
 *
 * The master goes first (XAPI requires it: slaves may not run a newer version than their master).
 * A VM may only move to a host of the same or a newer version (XAPI: NOT_SUPPORTED_DURING_UPGRADE),
 * so a VM that lands on an already upgraded host never has to move again, and one that lands on a
 * host still waiting for its turn moves a second time. The planner therefore sends every evacuated
 * VM to an upgraded host when one has room (best fit), and only overflows to a waiting host,
 * preferring hosts that are never evacuated (excluded) and then the ones evacuated last. The master's
 * VMs have no upgraded host to go to and always move twice; that is the price of "master first".
 * Among the orders of the other hosts it picks the one with the least memory migrated in total
 * (all orders up to `maxExhaustiveHosts` (6), local search beyond).
 *
 * Capacity is XAPI's own accounting: a host offers memory_total - host.memory_overhead, each
 * resident VM (dom0 included) takes its static_max (or dynamic_max) + memory_overhead, and a
 * destination must hold every VM placed on it at that step at once.
 */

export interface PlanOptions {
  /** Hosts (name, uuid or ref) that are not upgraded and not evacuated; they may still receive VMs from old hosts. */
  exclude?: readonly string[];
  /** Named checks (XAPI codes) the admin overrides: VMs blocked by them are shut down while their host reboots and started again after. */
  overrides?: readonly string[];
  /** Hosts (refs) already upgraded by this workflow (resume). */
  doneHosts?: readonly string[];
  /** Search every order of the non-master hosts up to this many; local search beyond. Default 6. */
  maxExhaustiveHosts?: number;
  /** Keep this order for the non-master hosts (refs); used when re-planning a running workflow. */
  fixedOrder?: readonly string[];
}

export type HostAction = 'upgrade' | 'done' | 'excluded';

export interface PlannedHost {
  ref: string;
  uuid: string;
  name: string;
  role: 'master' | 'slave';
  /** 1-based position in the upgrade sequence; 0 for hosts not upgraded by this run. */
  order: number;
  action: HostAction;
  version: string;
  reason: string;
}

export interface PlannedMigration {
  step: number;
  vm: string;
  vmRef: string;
  vmUuid: string;
  from: string;
  fromRef: string;
  to: string;
  toRef: string;
  /** Memory copied by the migration (dynamic_max). */
  memoryBytes: number;
  /** Memory reserved on the destination (XAPI accounting). */
  requiredBytes: number;
  /** False when the destination is itself evacuated later, so the VM moves again. */
  final: boolean;
}

export interface PlanBlocker {
  vm: string;
  vmRef: string;
  code: string;
  host: string;
  params: string[];
  /** The named check an admin may override (`--override CODE`); '' when it cannot be overridden. */
  check: string;
  overridden: boolean;
  message: string;
}

export interface PinnedVm {
  vm: string;
  vmRef: string;
  host: string;
  hostRef: string;
  reason: string;
}

export interface PlanStep {
  step: number;
  hostRef: string;
  host: string;
  migrations: PlannedMigration[];
  /** VMs that cannot leave: shut down before the reboot, started again after (overridden blockers only). */
  pinned: PinnedVm[];
  /** Free memory (XAPI accounting) per host name right after this host is evacuated. */
  freeAfterEvacuation: Record<string, number>;
}

export interface PlanTotals {
  migratedBytes: number;
  lowerBoundBytes: number;
  /** Master VMs must move twice: the least any plan can migrate. */
  achievableLowerBoundBytes: number;
  migrations: number;
  vmsMovedMoreThanOnce: number;
}

export interface RollingPlan {
  pool: string;
  poolRef: string;
  hosts: PlannedHost[];
  steps: PlanStep[];
  blockers: PlanBlocker[];
  migrations: PlannedMigration[];
  totals: PlanTotals;
  /** No blocker that is not overridden. */
  runnable: boolean;
  search: { ordersEvaluated: number; exhaustive: boolean };
}

const NULL_REF = 'OpaqueRef:NULL';

// ------------------------------------------------------------------ placement model

/** Mutable capacity/residence state used while simulating a sequence. */
export class PlacementState {
  readonly used = new Map<string, number>();
  readonly residence = new Map<string, string>();
  readonly hostsByRef = new Map<string, SnapshotHost>();
  readonly vmsByRef = new Map<string, SnapshotVm>();

  constructor(readonly snapshot: PoolSnapshot) {
    for (const h of snapshot.hosts) {
      this.hostsByRef.set(h.ref, h);
      this.used.set(h.ref, 0);
    }
    for (const vm of snapshot.vms) {
      this.vmsByRef.set(vm.ref, vm);
      const onHost = vm.residentOn !== NULL_REF && this.hostsByRef.has(vm.residentOn);
      const running = vm.isControlDomain || isRunningGuest(vm);
      if (!onHost || !running) continue;
      this.residence.set(vm.ref, vm.residentOn);
      this.used.set(vm.residentOn, (this.used.get(vm.residentOn) ?? 0) + vm.requiredBytes);
    }
  }

  free(hostRef: string): number {
    return (this.hostsByRef.get(hostRef)?.guestMemoryBytes ?? 0) - (this.used.get(hostRef) ?? 0);
  }

  move(vmRef: string, to: string): void {
    const vm = this.vmsByRef.get(vmRef);
    const from = this.residence.get(vmRef);
    if (vm === undefined || from === undefined) return;
    this.used.set(from, (this.used.get(from) ?? 0) - vm.requiredBytes);
    this.used.set(to, (this.used.get(to) ?? 0) + vm.requiredBytes);
    this.residence.set(vmRef, to);
  }

  guestsOn(hostRef: string): SnapshotVm[] {
    const out: SnapshotVm[] = [];
    for (const [vmRef, h] of this.residence) {
      if (h !== hostRef) continue;
      const vm = this.vmsByRef.get(vmRef);
      if (vm !== undefined && !vm.isControlDomain) out.push(vm);
    }
    return out.sort(byMemoryThenName);
  }
}

function byMemoryThenName(a: SnapshotVm, b: SnapshotVm): number {
  return b.requiredBytes - a.requiredBytes || a.name.localeCompare(b.name) || a.ref.localeCompare(b.ref);
}

/** Why `vm` cannot run on `host` for reasons other than memory; undefined when it can. */
export function storageOrStateReason(vm: SnapshotVm, host: SnapshotHost): { code: string; params: string[] } | undefined {
  for (const sr of vm.srs) {
    if (!host.attachedSrs.has(sr)) return { code: 'VM_REQUIRES_SR', params: [vm.ref, sr] };
  }
  return undefined;
}

/** The roles hosts play at one step of the sequence. */
export interface StepRoles {
  /** Hosts already upgraded (by this run or before it). */
  upgraded: ReadonlySet<string>;
  /** Position in the sequence of hosts still to be evacuated (larger = later). */
  laterPosition: ReadonlyMap<string, number>;
  /** Hosts never evacuated by this run. */
  excluded: ReadonlySet<string>;
}

export interface EvacuationResult {
  migrations: Array<{ vm: SnapshotVm; fromRef: string; toRef: string; final: boolean }>;
  unplaced: Array<{ vm: SnapshotVm; code: string; params: string[] }>;
}

/**
 * Chooses a destination for every running guest of `hostRef` (except `pinned`), applying the moves
 * to `state`. Destinations: upgraded hosts first (best fit), then hosts never evacuated, then
 * hosts evacuated last. `preferred` keeps earlier decisions when they are still valid.
 */
export function placeEvacuation(
  state: PlacementState,
  hostRef: string,
  roles: StepRoles,
  pinned: ReadonlySet<string> = new Set(),
  preferred: ReadonlyMap<string, string> = new Map(),
): EvacuationResult {
  const source = state.hostsByRef.get(hostRef);
  if (source === undefined) throw new Error(`unknown host ${hostRef}`);
  const result: EvacuationResult = { migrations: [], unplaced: [] };
  const versionOf = (h: SnapshotHost): string => h.version;
  const candidates = [...state.hostsByRef.values()].filter((h) => h.ref !== hostRef);

  for (const vm of state.guestsOn(hostRef)) {
    if (pinned.has(vm.ref)) continue;
    if (vm.migrateBlockedReason !== undefined) {
      result.unplaced.push({ vm, code: vm.migrateBlockedReason, params: [vm.ref, 'pool_migrate'] });
      continue;
    }
    let storageReason: { code: string; params: string[] } | undefined;
    const usable: SnapshotHost[] = [];
    for (const h of candidates) {
      const isUpgraded = roles.upgraded.has(h.ref);
      if (!isUpgraded) {
        // A host still waiting for its turn (or excluded) must be up and enabled to take VMs; an
        // upgraded one is enabled again by the run before the next host is evacuated.
        if (!h.live || !h.enabled) continue;
        if (!roles.laterPosition.has(h.ref) && !roles.excluded.has(h.ref)) continue;
        // Never back to an older host: from an upgraded host only to upgraded ones, and a waiting
        // host must not be older than the source.
        if (roles.upgraded.has(hostRef) || compareVersions(versionOf(h), versionOf(source)) < 0) continue;
      }
      const reason = storageOrStateReason(vm, h);
      if (reason !== undefined) {
        storageReason ??= reason;
        continue;
      }
      usable.push(h);
    }
    if (usable.length === 0) {
      result.unplaced.push({ vm, ...(storageReason ?? { code: 'NO_HOSTS_AVAILABLE', params: [vm.ref] }) });
      continue;
    }
    const fits = usable.filter((h) => state.free(h.ref) >= vm.requiredBytes);
    if (fits.length === 0) {
      result.unplaced.push({ vm, code: 'HOST_NOT_ENOUGH_FREE_MEMORY', params: [String(vm.requiredBytes), String(Math.max(0, ...usable.map((h) => state.free(h.ref))))] });
      continue;
    }
    const want = preferred.get(vm.ref);
    let chosen = want === undefined ? undefined : fits.find((h) => h.ref === want);
    if (chosen === undefined) {
      const rank = (h: SnapshotHost): number[] => {
        const after = state.free(h.ref) - vm.requiredBytes;
        if (roles.upgraded.has(h.ref)) return [0, 0, after];
        if (roles.excluded.has(h.ref)) return [1, 0, after];
        return [2, -(roles.laterPosition.get(h.ref) ?? 0), after];
      };
      chosen = [...fits].sort((a, b) => {
        const ra = rank(a);
        const rb = rank(b);
        for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return (ra[i] as number) - (rb[i] as number);
        return a.name.localeCompare(b.name);
      })[0] as SnapshotHost;
    }
    const final = roles.upgraded.has(chosen.ref) || roles.excluded.has(chosen.ref);
    state.move(vm.ref, chosen.ref);
    result.migrations.push({ vm, fromRef: hostRef, toRef: chosen.ref, final });
  }
  return result;
}

// ------------------------------------------------------------------ whole-sequence simulation

interface SequenceOutcome {
  steps: PlanStep[];
  migrations: PlannedMigration[];
  capacityBlockers: PlanBlocker[];
  unplacedCount: number;
  migratedBytes: number;
}

function simulateSequence(
  snapshot: PoolSnapshot,
  order: readonly string[],
  initiallyUpgraded: ReadonlySet<string>,
  excluded: ReadonlySet<string>,
  pinned: ReadonlySet<string>,
  overrides: ReadonlySet<string>,
): SequenceOutcome {
  const state = new PlacementState(snapshot);
  const upgraded = new Set(initiallyUpgraded);
  const steps: PlanStep[] = [];
  const migrations: PlannedMigration[] = [];
  const capacityBlockers: PlanBlocker[] = [];
  const pinnedNow = new Set(pinned);
  let unplacedCount = 0;
  let migratedBytes = 0;
  const hostName = (ref: string): string => state.hostsByRef.get(ref)?.name ?? ref;

  order.forEach((hostRef, index) => {
    const laterPosition = new Map<string, number>();
    order.slice(index + 1).forEach((h, i) => laterPosition.set(h, i + 1));
    const result = placeEvacuation(state, hostRef, { upgraded, laterPosition, excluded }, pinnedNow);
    const stepNo = index + 1;
    const stepMigrations = result.migrations.map(
      (m): PlannedMigration => ({
        step: stepNo,
        vm: m.vm.name,
        vmRef: m.vm.ref,
        vmUuid: m.vm.uuid,
        from: hostName(m.fromRef),
        fromRef: m.fromRef,
        to: hostName(m.toRef),
        toRef: m.toRef,
        memoryBytes: m.vm.migrateBytes,
        requiredBytes: m.vm.requiredBytes,
        final: m.final,
      }),
    );
    for (const u of result.unplaced) {
      const overridden = overrides.has(u.code);
      if (overridden) pinnedNow.add(u.vm.ref);
      else unplacedCount++;
      capacityBlockers.push({
        vm: u.vm.name,
        vmRef: u.vm.ref,
        code: u.code,
        host: hostName(hostRef),
        params: u.params,
        check: u.code,
        overridden,
        message: blockerMessage(u.code, u.vm.name, hostName(hostRef), stepNo),
      });
    }
    const pinnedHere = state
      .guestsOn(hostRef)
      .filter((vm) => pinnedNow.has(vm.ref))
      .map((vm): PinnedVm => ({ vm: vm.name, vmRef: vm.ref, host: hostName(hostRef), hostRef, reason: 'shut down during the reboot, started again after' }));
    const freeAfterEvacuation: Record<string, number> = {};
    for (const h of snapshot.hosts) freeAfterEvacuation[h.name] = state.free(h.ref);
    steps.push({ step: stepNo, hostRef, host: hostName(hostRef), migrations: stepMigrations, pinned: pinnedHere, freeAfterEvacuation });
    migrations.push(...stepMigrations);
    for (const m of stepMigrations) migratedBytes += m.memoryBytes;
    upgraded.add(hostRef);
  });
  return { steps, migrations, capacityBlockers, unplacedCount, migratedBytes };
}

function blockerMessage(code: string, vm: string, host: string, step: number): string {
  switch (code) {
    case 'VM_REQUIRES_SR':
      return `${vm} has a disk on storage that no other host can reach (local SR): it cannot leave ${host}`;
    case 'HOST_NOT_ENOUGH_FREE_MEMORY':
      return `no host has room for ${vm} when ${host} is evacuated (step ${step})`;
    case 'NO_HOSTS_AVAILABLE':
      return `no other host can take ${vm} from ${host}`;
    case 'OPERATION_BLOCKED':
      return `${vm} has pool_migrate in blocked_operations`;
    case 'OTHER_OPERATION_IN_PROGRESS':
      return `${vm} is busy with another operation`;
    default:
      return `${vm} cannot leave ${host}: ${code}`;
  }
}

function compareOutcome(a: SequenceOutcome, b: SequenceOutcome): number {
  return a.unplacedCount - b.unplacedCount || a.migratedBytes - b.migratedBytes || a.migrations.length - b.migrations.length;
}

function* permutations<T>(items: readonly T[]): Generator<T[]> {
  if (items.length <= 1) {
    yield [...items];
    return;
  }
  for (let i = 0; i < items.length; i++) {
    const rest = [...items.slice(0, i), ...items.slice(i + 1)];
    for (const p of permutations(rest)) yield [items[i] as T, ...p];
  }
}

// ------------------------------------------------------------------ the plan

function matchHost(hosts: readonly SnapshotHost[], key: string): SnapshotHost | undefined {
  return hosts.find((h) => h.ref === key || h.uuid === key || h.name === key);
}

export class PlanInputError extends Error {}

export function planRollingUpgrade(snapshot: PoolSnapshot, options: PlanOptions = {}): RollingPlan {
  const overrides = new Set(options.overrides ?? []);
  const blockers: PlanBlocker[] = [];
  const hardBlocker = (code: string, host: string, message: string, params: string[] = []): void => {
    blockers.push({ vm: '', vmRef: '', code, host, params, check: '', overridden: false, message });
  };

  const excluded = new Set<string>();
  for (const key of options.exclude ?? []) {
    const h = matchHost(snapshot.hosts, key);
    if (h === undefined) throw new PlanInputError(`--exclude ${key}: no such host in pool ${snapshot.poolName}`);
    excluded.add(h.ref);
  }
  const master = snapshot.hosts.find((h) => h.ref === snapshot.masterRef);
  if (master === undefined) throw new PlanInputError(`the pool's master ${snapshot.masterRef} is not among its hosts`);
  if (excluded.has(master.ref)) hardBlocker('MASTER_EXCLUDED', master.name, 'the master cannot be excluded: it must be upgraded first');

  // A pool already part-way through an upgrade: hosts at the newest version are done, and the
  // master must be one of them.
  const done = new Set(options.doneHosts ?? []);
  const newest = snapshot.hosts.reduce((v, h) => (compareVersions(h.version, v) > 0 ? h.version : v), '');
  const mixed = snapshot.hosts.some((h) => compareVersions(h.version, newest) !== 0);
  if (mixed) {
    for (const h of snapshot.hosts) if (compareVersions(h.version, newest) === 0) done.add(h.ref);
    if (!done.has(master.ref)) hardBlocker('MASTER_NOT_NEWEST', master.name, `hosts run different versions and the master (${master.version}) is not at the newest (${newest}): upgrade the master first`);
  }

  for (const h of snapshot.hosts) {
    if (excluded.has(h.ref) || done.has(h.ref)) continue;
    if (!h.live) hardBlocker('HOST_OFFLINE', h.name, `${h.name} is not live (host_metrics.live=false): bring it back or --exclude it`, [h.ref]);
  }

  const toUpgrade = snapshot.hosts.filter((h) => !excluded.has(h.ref) && !done.has(h.ref));
  if (toUpgrade.length === 0) throw new PlanInputError('nothing to upgrade: every host is excluded or already at the newest version');

  // VMs that cannot leave their host at all, whatever the order.
  const pinned = new Set<string>();
  const state0 = new PlacementState(snapshot);
  for (const h of toUpgrade) {
    for (const vm of state0.guestsOn(h.ref)) {
      const others = snapshot.hosts.filter((o) => o.ref !== h.ref);
      let reason: { code: string; params: string[] } | undefined;
      if (vm.migrateBlockedReason !== undefined) reason = { code: vm.migrateBlockedReason, params: [vm.ref, 'pool_migrate'] };
      else if (others.length === 0) reason = { code: 'NO_HOSTS_AVAILABLE', params: [vm.ref] };
      else {
        const reasons = others.map((o) => storageOrStateReason(vm, o));
        if (reasons.every((r) => r !== undefined)) reason = reasons[0];
      }
      if (reason === undefined) continue;
      const overridden = overrides.has(reason.code);
      if (overridden) pinned.add(vm.ref);
      blockers.push({ vm: vm.name, vmRef: vm.ref, code: reason.code, host: h.name, params: reason.params, check: reason.code, overridden, message: blockerMessage(reason.code, vm.name, h.name, 0) });
    }
  }

  // The order: master first (unless already done), then the order with the least migrated memory.
  const initiallyUpgraded = new Set(done);
  const head = done.has(master.ref) || excluded.has(master.ref) ? [] : [master.ref];
  const others = toUpgrade.filter((h) => h.ref !== master.ref).map((h) => h.ref);
  const maxExhaustive = options.maxExhaustiveHosts ?? 6;
  let best: { order: string[]; outcome: SequenceOutcome } | undefined;
  let evaluated = 0;
  const consider = (tail: readonly string[]): void => {
    const order = [...head, ...tail];
    const outcome = simulateSequence(snapshot, order, initiallyUpgraded, excluded, pinned, overrides);
    evaluated++;
    if (best === undefined || compareOutcome(outcome, best.outcome) < 0) best = { order, outcome };
  };
  let exhaustive = false;
  if (options.fixedOrder !== undefined) {
    const fixed = options.fixedOrder.filter((r) => others.includes(r));
    consider([...fixed, ...others.filter((r) => !fixed.includes(r))]);
  } else if (others.length <= maxExhaustive) {
    exhaustive = true;
    const sorted = [...others].sort((a, b) => nameOf(snapshot, a).localeCompare(nameOf(snapshot, b)));
    for (const p of permutations(sorted)) consider(p);
  } else {
    // Start from the lightest hosts first (little to evacuate while few hosts are upgraded), then improve by swaps.
    const load = (ref: string): number => state0.guestsOn(ref).reduce((s, vm) => s + vm.requiredBytes, 0);
    let current = [...others].sort((a, b) => load(a) - load(b) || nameOf(snapshot, a).localeCompare(nameOf(snapshot, b)));
    consider(current);
    let improved = true;
    const budget = 4000;
    while (improved && evaluated < budget) {
      improved = false;
      for (let i = 0; i < current.length && evaluated < budget; i++) {
        for (let j = i + 1; j < current.length && evaluated < budget; j++) {
          const candidate = [...current];
          [candidate[i], candidate[j]] = [candidate[j] as string, candidate[i] as string];
          const before = best;
          consider(candidate);
          if (best !== before) {
            current = candidate;
            improved = true;
          }
        }
      }
    }
  }
  const chosen = best as { order: string[]; outcome: SequenceOutcome };
  blockers.push(...chosen.outcome.capacityBlockers.filter((b) => !blockers.some((x) => x.vmRef === b.vmRef && x.code === b.code)));

  const position = new Map(chosen.order.map((ref, i) => [ref, i + 1]));
  const hosts: PlannedHost[] = snapshot.hosts
    .map((h): PlannedHost => {
      const action: HostAction = excluded.has(h.ref) ? 'excluded' : done.has(h.ref) ? 'done' : 'upgrade';
      return {
        ref: h.ref,
        uuid: h.uuid,
        name: h.name,
        role: h.ref === snapshot.masterRef ? 'master' : 'slave',
        order: position.get(h.ref) ?? 0,
        action,
        version: h.version,
        reason: action === 'excluded' ? 'excluded by the admin' : action === 'done' ? 'already at the newest version' : '',
      };
    })
    .sort((a, b) => (a.order || 1e9) - (b.order || 1e9) || a.name.localeCompare(b.name));

  const agile = new Set<string>();
  for (const h of toUpgrade) for (const vm of state0.guestsOn(h.ref)) if (!pinned.has(vm.ref) && !blockers.some((b) => b.vmRef === vm.ref && b.check !== 'HOST_NOT_ENOUGH_FREE_MEMORY')) agile.add(vm.ref);
  const lowerBoundBytes = [...agile].reduce((s, ref) => s + (state0.vmsByRef.get(ref)?.migrateBytes ?? 0), 0);
  const masterSecond = head.length === 0 ? 0 : state0.guestsOn(master.ref).filter((vm) => agile.has(vm.ref) && !excludedCanTake(snapshot, vm, excluded)).reduce((s, vm) => s + vm.migrateBytes, 0);
  const moves = new Map<string, number>();
  for (const m of chosen.outcome.migrations) moves.set(m.vmRef, (moves.get(m.vmRef) ?? 0) + 1);

  return {
    pool: snapshot.poolName,
    poolRef: snapshot.poolRef,
    hosts,
    steps: chosen.outcome.steps,
    blockers,
    migrations: chosen.outcome.migrations,
    totals: {
      migratedBytes: chosen.outcome.migratedBytes,
      lowerBoundBytes,
      achievableLowerBoundBytes: lowerBoundBytes + masterSecond,
      migrations: chosen.outcome.migrations.length,
      vmsMovedMoreThanOnce: [...moves.values()].filter((n) => n > 1).length,
    },
    runnable: blockers.every((b) => b.overridden),
    search: { ordersEvaluated: evaluated, exhaustive },
  };
}

/** A master VM avoids its second move only if an excluded (never evacuated) host can take it. */
function excludedCanTake(snapshot: PoolSnapshot, vm: SnapshotVm, excluded: ReadonlySet<string>): boolean {
  return snapshot.hosts.some((h) => excluded.has(h.ref) && storageOrStateReason(vm, h) === undefined);
}

function nameOf(snapshot: PoolSnapshot, ref: string): string {
  return snapshot.hosts.find((h) => h.ref === ref)?.name ?? ref;
}

/** The JSON `xsctl upgrade --rolling --plan --json` prints; field names are a contract. */
export function planReport(plan: RollingPlan): {
  pool: string;
  runnable: boolean;
  hosts: Array<{ name: string; uuid: string; role: string; order: number; action: string; version: string }>;
  blockers: Array<{ vm: string; code: string; host: string; overridden: boolean; message: string }>;
  migrations: Array<{ step: number; vm: string; from: string; to: string; memoryBytes: number; final: boolean }>;
  pinned: Array<{ step: number; vm: string; host: string }>;
  totals: PlanTotals;
} {
  return {
    pool: plan.pool,
    runnable: plan.runnable,
    hosts: plan.hosts.map((h) => ({ name: h.name, uuid: h.uuid, role: h.role, order: h.order, action: h.action, version: h.version })),
    blockers: plan.blockers.map((b) => ({ vm: b.vm, code: b.code, host: b.host, overridden: b.overridden, message: b.message })),
    migrations: plan.migrations.map((m) => ({ step: m.step, vm: m.vm, from: m.from, to: m.to, memoryBytes: m.memoryBytes, final: m.final })),
    pinned: plan.steps.flatMap((s) => s.pinned.map((p) => ({ step: s.step, vm: p.vm, host: p.host }))),
    totals: plan.totals,
  };
}
