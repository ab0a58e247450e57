import type { ModelHost, ModelVm, PoolModel } from '../pool-model/pool-model.js';
import { compareVersionKey, uniformityVersionKeys } from '../pool-model/versions.js';
import { capacityCodes } from '../pool-model/xapi-reasons.js';
import { CapacityState } from './capacity-state.js';
import { endStateOf } from './end-state.js';
import type { Move } from './place-wave.js';
import { searchSequence } from './search.js';
import {
  PlanInputError,
  type HostAction,
  type PinnedVm,
  type PlanBlocker,
  type PlannedHost,
  type PlannedMigration,
  type PlanOptions,
  type PlanStep,
  type PlanWave,
  type RollingPlan,
} from './plan-types.js';

/**
 * The rolling-upgrade planner: pure, deterministic, no I/O; the prechecks' capacity verdict and
 * `--from-dump` come from it too, so they cannot disagree with `upgrade --plan`.
 *
 * The master goes first and alone (slaves may not run a newer version than their master). A VM may
 * only move to a host that is not older (NOT_SUPPORTED_DURING_UPGRADE), so evacuated VMs go to
 * upgraded hosts when they have room, and overflow to hosts evacuated as late as possible (they
 * then move again). The master's VMs have no upgraded host to go to. Then the other hosts go in
 * waves of up to `maxHostsDown`, whenever the whole sequence's capacity allows it (sequence.ts);
 * XAPI's own answers decide which VMs can move at all and where (pool-model/xapi-reasons.ts).
 */
export function planRollingUpgrade(model: PoolModel, options: PlanOptions = {}): RollingPlan {
  const overrides = new Set(options.overrides ?? []);
  const blockers: PlanBlocker[] = [];
  const warnings: string[] = [];
  const hard = (code: string, host: string, message: string, params: string[] = []): void => {
    blockers.push({ vm: '', vmRef: '', code, host, params, check: '', overridden: false, message });
  };
  const byRef = new Map(model.hosts.map((h) => [h.ref, h]));
  const nameOf = (ref: string): string => byRef.get(ref)?.name ?? ref;

  const excluded = new Set<string>();
  for (const key of options.exclude ?? []) {
    const h = model.hosts.find((x) => x.ref === key || x.uuid === key || x.name === key);
    if (h === undefined) throw new PlanInputError(`--exclude ${key}: no such host in pool ${model.poolName}`);
    excluded.add(h.ref);
  }
  const master = byRef.get(model.masterRef);
  if (master === undefined) throw new PlanInputError(`the pool's master ${model.masterRef} is not among its hosts`);
  if (excluded.has(master.ref)) hard('MASTER_EXCLUDED', master.name, 'the master cannot be excluded: it must be upgraded first');

  // A pool part-way through an upgrade: hosts already at the newest release are done, and the master must be one of them.
  const done = new Set(options.doneHosts ?? []);
  const newest = newestHosts(model.hosts);
  if (newest.length < model.hosts.length) {
    for (const h of newest) done.add(h.ref);
    if (!done.has(master.ref)) hard('MASTER_NOT_NEWEST', master.name, `hosts run different releases and the master (${master.version}) is not at the newest: upgrade the master first`);
  }
  for (const h of model.hosts) {
    if (excluded.has(h.ref) || done.has(h.ref)) continue;
    if (!h.live) hard('HOST_OFFLINE', h.name, `${h.name} is not live (host_metrics.live=false): bring it back or --exclude it`, [h.ref]);
  }
  for (const [host, error] of model.unanswered) warnings.push(`XAPI did not say which VMs keep ${host} from evacuating: ${error}`);

  const toUpgrade = model.hosts.filter((h) => !excluded.has(h.ref) && !done.has(h.ref));
  if (toUpgrade.length === 0) throw new PlanInputError('nothing to upgrade: every host is excluded or already at the newest release');

  // VMs XAPI says cannot leave (a host-bound device, missing drivers, blocked...) or can run on no
  // other host at all (VM.assert_can_boot_here refused every one, e.g. disks on a local SR).
  const state0 = CapacityState.of(model);
  const stay = new Set<string>();
  const pinnedCode = new Map<string, string>();
  for (const h of toUpgrade) {
    for (const vm of state0.guestsOn(h.ref)) {
      const nowhere = vm.restrictedTo !== undefined && ![...vm.restrictedTo.hosts].some((t) => t !== h.ref && byRef.has(t));
      const reason = vm.immobile ?? (nowhere ? vm.restrictedTo?.reason : undefined);
      if (reason === undefined) continue;
      const code = reason[0] ?? 'UNKNOWN';
      const overridden = overrides.has(code);
      stay.add(vm.ref);
      if (overridden) pinnedCode.set(vm.ref, code);
      blockers.push({ vm: vm.name, vmRef: vm.ref, code, host: h.name, params: [...reason.slice(1)], check: code, overridden, message: blockerMessage(code, vm.name, h.name, 0) });
    }
  }

  const head = done.has(master.ref) || excluded.has(master.ref) ? [] : [master.ref];
  const others = toUpgrade.filter((h) => h.ref !== master.ref).map((h) => h.ref);
  const maxHostsDown = Math.max(1, Math.floor(options.maxHostsDown ?? 1));
  const makeRoom = options.makeRoom !== false;
  const setup = { upgraded: done, excluded, stay, dom0Growth: options.dom0Growth ?? new Map<string, number>(), maxHostsDown, makeRoom };
  const searched = searchSequence(state0, head, others, setup, {
    ...(options.maxExhaustiveHosts === undefined ? {} : { exhaustiveUpTo: options.maxExhaustiveHosts }),
    ...(options.fixedOrder === undefined ? {} : { fixedOrder: options.fixedOrder }),
  });
  const result = searched.result;

  const sequence = result.waves.flatMap((w) => w.hosts);
  const position = new Map(sequence.map((ref, i) => [ref, i + 1]));
  const waveOf = new Map(result.waves.flatMap((w) => w.hosts.map((h) => [h, w.wave] as const)));

  // Capacity blockers: VMs with nowhere to go at their wave. Overridden: they stay (shut down during the reboot).
  for (const w of result.waves) {
    for (const u of w.unplaced) {
      // Pinned where it is at its wave (below), not on the host it started on: it may have left that one earlier.
      // Never a second blocker for one VM: a VM with nowhere to go stays on its host, which is
      // upgraded with its wave and never evacuated again; blocked and pinned VMs never move.
      const overridden = overrides.has(u.code);
      blockers.push({ vm: u.vm.name, vmRef: u.vm.ref, code: u.code, host: nameOf(u.host), params: u.params, check: u.code, overridden, message: blockerMessage(u.code, u.vm.name, nameOf(u.host), position.get(u.host) ?? 0) });
    }
  }

  const toMigration = (m: Move, wave: number): PlannedMigration => ({
    step: m.room ? 0 : (position.get(m.from) ?? 0),
    wave,
    vm: m.vm.name,
    vmRef: m.vm.ref,
    vmUuid: m.vm.uuid,
    from: nameOf(m.from),
    fromRef: m.from,
    to: nameOf(m.to),
    toRef: m.to,
    memoryBytes: m.vm.migrateBytes,
    requiredBytes: m.vm.requiredBytes,
    final: m.final,
    room: m.room,
  });
  const migrations: PlannedMigration[] = [];
  const steps: PlanStep[] = [];
  const waves: PlanWave[] = [];
  for (const w of result.waves) {
    const wm = w.moves.map((m) => toMigration(m, w.wave));
    // Room moves first: a large VM's destination must be free before it arrives.
    migrations.push(...wm.filter((m) => m.room), ...wm.filter((m) => !m.room));
    const freeAfter: Record<string, number> = {};
    for (const [ref, free] of w.freeAfter) freeAfter[nameOf(ref)] = free;
    let tightestHost = '';
    let tightestFreeBytes = Infinity;
    for (const h of model.hosts) {
      if (w.hosts.includes(h.ref)) continue;
      const free = w.freeAfter.get(h.ref) ?? 0;
      if (free < tightestFreeBytes) {
        tightestFreeBytes = free;
        tightestHost = h.name;
      }
    }
    waves.push({
      wave: w.wave,
      hosts: w.hosts.map(nameOf),
      hostRefs: [...w.hosts],
      migrations: wm.filter((m) => !m.room).length,
      roomMoves: wm.filter((m) => m.room).length,
      migratedBytes: wm.reduce((s, m) => s + m.memoryBytes, 0),
      unplaced: w.unplaced.length,
      tightestHost,
      tightestFreeBytes: Number.isFinite(tightestFreeBytes) ? tightestFreeBytes : 0,
      freeAfter,
    });
    for (const hostRef of w.hosts) {
      const pinned: PinnedVm[] = [];
      for (const vm of state0.guestsOn(hostRef)) {
        const code = pinnedCode.get(vm.ref);
        if (code !== undefined) pinned.push({ vm: vm.name, vmRef: vm.ref, vmUuid: vm.uuid, host: nameOf(hostRef), hostRef, code, reason: 'shut down during the reboot, started again after' });
      }
      // VMs with nowhere to go from this host at its wave, overridden: whether they started here or
      // arrived earlier in the run (those left their first host, which must not pin them).
      // (Blocked and pinned VMs above never move, so they are never among the unplaced.)
      for (const u of w.unplaced) {
        if (u.host !== hostRef || !overrides.has(u.code)) continue;
        pinned.push({ vm: u.vm.name, vmRef: u.vm.ref, vmUuid: u.vm.uuid, host: nameOf(hostRef), hostRef, code: u.code, reason: 'shut down during the reboot, started again after' });
      }
      steps.push({ step: position.get(hostRef) ?? 0, wave: w.wave, hostRef, host: nameOf(hostRef), migrations: wm.filter((m) => !m.room && m.fromRef === hostRef), pinned, freeAfterEvacuation: freeAfter });
    }
  }

  const hosts: PlannedHost[] = model.hosts
    .map((h): PlannedHost => {
      const action: HostAction = excluded.has(h.ref) ? 'excluded' : done.has(h.ref) ? 'done' : 'upgrade';
      return {
        ref: h.ref,
        uuid: h.uuid,
        name: h.name,
        role: h.ref === model.masterRef ? 'master' : 'slave',
        order: position.get(h.ref) ?? 0,
        wave: waveOf.get(h.ref) ?? 0,
        action,
        version: h.version,
        reason: action === 'excluded' ? 'excluded by the admin' : action === 'done' ? 'already at the newest release' : '',
      };
    })
    .sort((a, b) => (a.order || 1e9) - (b.order || 1e9) || a.name.localeCompare(b.name));

  // The bound: every running guest of a host to upgrade that can move at all moves once. A VM
  // XAPI allows on no other host cannot move at all (e.g. its disks on a local SR): it is in
  // `stay` (blocked or pinned) with the VMs XAPI says cannot leave, and not in the bound.
  const canMove = (vm: ModelVm): boolean => !stay.has(vm.ref);
  const movable = toUpgrade.flatMap((h) => state0.guestsOn(h.ref)).filter(canMove);
  const lowerBoundBytes = movable.reduce((s, vm) => s + vm.migrateBytes, 0);
  const masterSecond = head.length === 0 ? 0 : state0.guestsOn(master.ref).filter((vm) => canMove(vm) && ![...excluded].some((e) => canLiveOn(vm, byRef.get(e)!, master))).reduce((s, vm) => s + vm.migrateBytes, 0);
  const moves = new Map<string, number>();
  for (const m of migrations) moves.set(m.vmRef, (moves.get(m.vmRef) ?? 0) + 1);
  const unplacedAll = result.waves.flatMap((w) => w.unplaced);

  const endStateSource = CapacityState.of(model);
  for (const m of migrations) endStateSource.move(m.vmRef, m.toRef);
  for (const ref of sequence) endStateSource.reserve(ref, setup.dom0Growth.get(ref) ?? 0);

  return {
    pool: model.poolName,
    poolRef: model.poolRef,
    hosts,
    steps,
    waves,
    blockers,
    migrations,
    totals: {
      migratedBytes: result.migratedBytes,
      lowerBoundBytes,
      achievableLowerBoundBytes: lowerBoundBytes + masterSecond,
      migrations: migrations.length,
      vmsMovedMoreThanOnce: [...moves.values()].filter((n) => n > 1).length,
      waves: waves.length,
      roomMoves: migrations.filter((m) => m.room).length,
    },
    capacity: {
      // Memory only: VMs XAPI keeps on their host for other reasons are blockers of their own.
      holds: unplacedAll.every((u) => overrides.has(u.code) || !capacityCodes.has(u.code)),
      maxHostsDown,
      memoryPolicy: model.memoryPolicy,
      makeRoom,
      waves: waves.map((w) => ({ wave: w.wave, hostsDown: w.hosts, placed: w.migrations + w.roomMoves, unplaced: w.unplaced, tightestHost: w.tightestHost, tightestFreeBytes: w.tightestFreeBytes })),
    },
    endState: endStateOf(model, state0, endStateSource),
    runnable: blockers.every((b) => b.overridden),
    search: { ordersEvaluated: searched.evaluated, exhaustive: searched.exhaustive },
    warnings,
  };
}

/** Hosts whose release is the newest in the pool (every uniformity key not older than any other host's). */
function newestHosts(hosts: readonly ModelHost[]): ModelHost[] {
  // Not older than every other host on every key is not older than the highest on each key (the
  // comparison is a total order): one pass per key instead of every pair of hosts.
  const keys = uniformityVersionKeys.filter((k) => k !== 'build_number');
  // (An empty list: no host to filter, so `highest` is never read.)
  const highest = keys.map((k) => hosts.reduce((top, o) => (compareVersionKey(k, o.software, top.software) > 0 ? o : top), hosts[0]!));
  return hosts.filter((h) => keys.every((k, i) => compareVersionKey(k, h.software, highest[i]!.software) >= 0));
}

/** Whether an excluded host could take the VM for good (so a master VM need not move twice). */
function canLiveOn(vm: ModelVm, host: ModelHost, from: ModelHost): boolean {
  if (vm.restrictedTo !== undefined && !vm.restrictedTo.hosts.has(host.ref)) return false;
  return host.live && host.enabled && compareVersionKey('platform_version', host.software, from.software) >= 0;
}

export function blockerMessage(code: string, vm: string, host: string, step: number): string {
  switch (code) {
    case 'VM_REQUIRES_SR':
      return `${vm} has a disk on storage no other host can reach (local SR): it cannot leave ${host}`;
    case 'HOST_NOT_ENOUGH_FREE_MEMORY':
      return `no host has room for ${vm} when ${host} is evacuated (step ${step})`;
    case 'NO_HOSTS_AVAILABLE':
      return `no other host can take ${vm} from ${host}`;
    case 'OPERATION_BLOCKED':
      return `${vm} has pool_migrate in blocked_operations`;
    case 'OTHER_OPERATION_IN_PROGRESS':
      return `${vm} is busy with another operation`;
    case 'VM_HAS_PCI_ATTACHED':
      return `${vm} has a PCI device passed through: it cannot be live-migrated off ${host}`;
    case 'VM_HAS_VGPU':
      return `${vm} has a vGPU: it cannot be live-migrated off ${host}`;
    case 'VM_HAS_VUSBS':
      return `${vm} has USB passthrough: it cannot be live-migrated off ${host}`;
    case 'VM_HAS_SRIOV_VIF':
    case 'NETWORK_SRIOV_INSUFFICIENT_CAPACITY':
      return `${vm} has an SR-IOV interface no other host can give it`;
    case 'VM_LACKS_FEATURE':
    case 'VM_LACKS_FEATURE_SUSPEND':
      return `${vm} lacks PV drivers (or a guest agent) that live migration needs`;
    case 'VM_REQUIRES_NETWORK':
      return `${vm} uses a network no other host has`;
    case 'VM_INCOMPATIBLE_WITH_THIS_HOST':
      return `${vm} needs CPU features no other host offers`;
    case 'VM_BAD_POWER_STATE':
      return `${vm} is not running (paused?): it cannot be live-migrated off ${host}`;
    default:
      // (Both capacity codes have their sentence above.)
      return `${vm} cannot leave ${host}: ${code}`;
  }
}
