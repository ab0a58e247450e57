import type { ModelHost, ModelVm } from '../pool-model/pool-model.js';
import { migrationVersionKeys, notOlder, type SoftwareVersion } from '../pool-model/versions.js';
import type { CapacityState } from './capacity-state.js';

/** What each host is at one wave of the sequence. */
export interface WaveRoles {
  /** Upgraded before the run or by it, and enabled again: a final home (it is never evacuated again). */
  upgraded: ReadonlySet<string>;
  /** The hosts of this wave: they are being emptied. */
  down: ReadonlySet<string>;
  /** Hosts still to be evacuated after this wave, by position (larger = later). */
  later: ReadonlyMap<string, number>;
  /** Never evacuated by this run: also a final home. */
  excluded: ReadonlySet<string>;
}

/**
 * Whether `vm` may move from `from` to `to` at this wave, memory aside:
 * - not onto a host being emptied;
 * - an upgraded host takes anything (it runs the newest release and is enabled again before the
 *   next wave); from an upgraded host only to another upgraded host (never back to an older one);
 * - a host not upgraded must be live and enabled now, excluded or evacuated later, and not older
 *   than the source on platform_version, xapi_build and xen (XAPI's
 *   host_versions_not_decreasing, NOT_SUPPORTED_DURING_UPGRADE otherwise);
 * - when XAPI restricted the VM to some hosts (VM.assert_can_boot_here), one of those.
 */
export function mayGo(vm: ModelVm, from: ModelHost, to: ModelHost, roles: WaveRoles): boolean {
  if (to.ref === from.ref || roles.down.has(to.ref)) return false;
  if (vm.restrictedTo !== undefined && !vm.restrictedTo.hosts.has(to.ref)) return false;
  if (roles.upgraded.has(to.ref)) return true;
  if (roles.upgraded.has(from.ref)) return false;
  if (!to.live || !to.enabled) return false;
  if (!roles.later.has(to.ref) && !roles.excluded.has(to.ref)) return false;
  return migratesUp(to, from);
}

/**
 * notOlder on the migration keys, kept per pair of hosts' version records: the planner asks it
 * for every VM, candidate host, wave and order it tries (on a 64-host pool a quarter of the plan's
 * time went to comparing the same two records again). Keyed by the records themselves, which the
 * model never changes, and dropped with them.
 */
const migrates = new WeakMap<SoftwareVersion, WeakMap<SoftwareVersion, boolean>>();

function migratesUp(to: ModelHost, from: ModelHost): boolean {
  let row = migrates.get(to.software);
  if (row === undefined) {
    row = new WeakMap();
    migrates.set(to.software, row);
  }
  let ok = row.get(from.software);
  if (ok === undefined) {
    ok = notOlder(to.software, from.software, migrationVersionKeys);
    row.set(from.software, ok);
  }
  return ok;
}

/** A destination the VM never has to leave again. */
export function isFinal(host: string, roles: WaveRoles): boolean {
  return roles.upgraded.has(host) || roles.excluded.has(host);
}

/**
 * Destinations in order of preference: final homes first, then hosts evacuated as late as
 * possible; among equals the one with the fewest members of the VM's anti-affinity groups (as
 * XAPI's evacuation spreads such groups), then the tightest fit (large holes stay free for large VMs).
 */
export function rank(vm: ModelVm, host: string, roles: WaveRoles, state: CapacityState): [number, number, number, number] {
  const cls = isFinal(host, roles) ? 0 : 1;
  const lateness = cls === 0 ? 0 : -(roles.later.get(host) ?? 0);
  let spread = 0;
  for (const g of vm.antiAffinityGroups) spread += state.groupCount(host, g);
  return [cls, lateness, spread, state.free(host) - vm.requiredBytes];
}

export function compareRank(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  return 0;
}
