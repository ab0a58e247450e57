// Versions are compared with the planner's own helpers.ml port (one copy: a fix reaches both).
import { compareVersionKey, estimateOverheadBytes, migrationVersionKeys, notOlder, rpuVersionKeys } from '@xsctl/controller/pool-model/index';
import type { XapiDb } from '../../xapi-db.js';
import { handleInvalid, XapiFailure } from '../../xapi-failure.js';
import { isLiveRef, NULL_REF, type XapiRecord } from '../../xapi-value.js';

/**
 * What the simulator needs besides the database to play a rolling upgrade: how long things take
 * (in the simulator clock's time), which release an upgrade installs, the faults to inject, and
 * counters the benchmark reads. One per database.
 */
export interface UpgradeSimConfig {
  /** Live-migration throughput of one host's migration link (or of one migration, see `bandwidth`), bytes per second of simulated time. Default 1 GiB/s. */
  migrationBytesPerSecond: number;
  /** shared-links (default): migrations through one host share its link; per-migration: each gets the full rate. */
  bandwidth: 'shared-links' | 'per-migration';
  /** Fixed cost of a migration (suspend/resume, device handover). Default 2 s. */
  migrationSetupMs: number;
  /** Delay between host.reboot returning and the host going down (XAPI waits 10 s). */
  shutdownDelayMs: number;
  /** From going down to the hypervisor being up (boot_time). Default 180 s. */
  rebootMs: number;
  /** From boot to xapi answering (agent_start_time - boot_time). Default 40 s. */
  agentStartMs: number;
  /** From xapi start to the PBDs being plugged and multipath paths back. Default 5 s. */
  storageMs: number;
  /** Installing an update (updater.py update, host.apply_updates, the simulated upgrade). Default 60 s. */
  actionMs: number;
  /** Parallel migrations host.evacuate runs (XAPI's evacuation batch size). Default 10. */
  evacuateBatchSize: number;
  /** Simulated durations are divided by this (a fast run without a fast clock). Default 1, or XSCTL_SIM_CLOCK_FACTOR. */
  timeFactor: number;
  /** The release an upgrade installs; default: the master's version with its last number bumped. */
  release: Release | undefined;
  /** What updater.py / apply_updates install: the master's release with new xen, xapi and xapi_build (platform_version unchanged). */
  update: Release | undefined;
}

export interface Release {
  productVersion: string;
  platformVersion: string;
  buildNumber: string;
  /** The complete hotfix/update list a host has after installing it. */
  hotfixes: string[];
  /** software_version's xen, xapi and xapi_build after it (an update within a release changes these only). */
  xen?: string;
  xapi?: string;
  xapiBuild?: string;
  /** dom0's memory after it (the installer resizes dom0 across major releases). */
  dom0MemoryBytes?: number;
  /** What it takes to take effect (XenServer 8 update guidance): a reboot (default) or a toolstack restart. */
  guidance?: 'reboot_host' | 'restart_toolstack';
}

export interface UpgradeFaults {
  /** Hosts (name, uuid or ref) that never come back from a reboot. */
  neverBack: Set<string>;
  /** VMs (name, uuid or ref) whose live migration fails. */
  failMigration: Set<string>;
  /** Hosts that report no free memory for incoming VMs (as if something else took it). */
  fullHost: Set<string>;
  /** Hosts that come back with one multipath path missing per multipathed PBD. */
  missingPaths: Set<string>;
  /** VMs (name, uuid or ref) with a PCI device passed through (VM.attached_PCIs): pool_migrate refuses VM_HAS_PCI_ATTACHED. */
  pci: Set<string>;
  /** VMs with a vGPU that cannot be suspended: VM_HAS_VGPU. */
  vgpu: Set<string>;
  /** VMs with USB passthrough: VM_HAS_VUSBS. */
  vusb: Set<string>;
  /** VMs with an SR-IOV VIF (a VF passed through): VM_HAS_PCI_ATTACHED for pool_migrate, as XAPI counts the VF as a PCI. */
  sriov: Set<string>;
  /** VMs without PV drivers (or guest agent): VM_LACKS_FEATURE for a live migration. */
  noPvDrivers: Set<string>;
  /** VM -> hosts (name, uuid or ref) lacking a network it uses: VM_REQUIRES_NETWORK there. */
  networkMissing: Map<string, Set<string>>;
  /** VM -> hosts whose CPUs lack features it runs with: VM_INCOMPATIBLE_WITH_THIS_HOST there. */
  cpuIncompatible: Map<string, Set<string>>;
  /** VMs whose guest ignores a clean shutdown (the task runs until cancelled). */
  ignoreCleanShutdown: Set<string>;
}

export interface UpgradeSimStats {
  migrations: number;
  migratedBytes: number;
  reboots: number;
  /** Per VM ref: how many times it moved. */
  movesByVm: Map<string, number>;
  log: Array<{ at: number; what: string }>;
}

export interface UpgradeSimState {
  config: UpgradeSimConfig;
  faults: UpgradeFaults;
  stats: UpgradeSimStats;
  /** Hosts going through a reboot, by ref. */
  rebooting: Set<string>;
  /** Hosts gone down for a reboot: enable is refused until they boot (xapi's host_disabled_until_reboot). */
  disabledUntilReboot: Set<string>;
  /** host.disable(host, auto_enable=false): the host stays disabled across reboots (xapi's host_auto_enable). */
  autoEnable: Map<string, boolean>;
  /** Release staged on a host, applied when it boots. */
  staged: Map<string, Release>;
  /** The master's xapi is down: logins fail with HOST_STILL_BOOTING. */
  masterDown: boolean;
  /** Memory copies in flight (source and destination host refs), for the shared-link bandwidth. */
  flows: Set<{ from: string; to: string }>;
  /** Aborted by stopUpgradeSim: background reboots stop. */
  readonly background: AbortController;
}

const states = new WeakMap<XapiDb, UpgradeSimState>();
const GiB = 2 ** 30;

function defaultConfig(): UpgradeSimConfig {
  const factor = Number(process.env['XSCTL_SIM_CLOCK_FACTOR'] ?? '1');
  return {
    migrationBytesPerSecond: GiB,
    bandwidth: 'shared-links',
    migrationSetupMs: 2_000,
    shutdownDelayMs: 10_000,
    rebootMs: 180_000,
    agentStartMs: 40_000,
    storageMs: 5_000,
    actionMs: 60_000,
    evacuateBatchSize: 10,
    timeFactor: Number.isFinite(factor) && factor > 0 ? factor : 1,
    release: undefined,
    update: undefined,
  };
}

export function upgradeSimState(db: XapiDb): UpgradeSimState {
  let state = states.get(db);
  if (state === undefined) {
    state = {
      config: defaultConfig(),
      faults: {
        neverBack: new Set(),
        failMigration: new Set(),
        fullHost: new Set(),
        missingPaths: new Set(),
        pci: new Set(),
        vgpu: new Set(),
        vusb: new Set(),
        sriov: new Set(),
        noPvDrivers: new Set(),
        networkMissing: new Map(),
        cpuIncompatible: new Map(),
        ignoreCleanShutdown: new Set(),
      },
      stats: { migrations: 0, migratedBytes: 0, reboots: 0, movesByVm: new Map(), log: [] },
      rebooting: new Set(),
      disabledUntilReboot: new Set(),
      autoEnable: new Map(),
      staged: new Map(),
      masterDown: false,
      flows: new Set(),
      background: new AbortController(),
    };
    states.set(db, state);
  }
  return state;
}

export function configureUpgradeSim(db: XapiDb, config: Partial<UpgradeSimConfig>): UpgradeSimState {
  const state = upgradeSimState(db);
  Object.assign(state.config, config);
  return state;
}

/** Stops background work (reboots in flight) so a test can end. */
export function stopUpgradeSim(db: XapiDb): void {
  upgradeSimState(db).background.abort(new Error('simulator stopped'));
}

/** Sleeps `ms` of simulated time (divided by the time factor) on the database's clock. */
export function simSleep(db: XapiDb, ms: number, signal?: AbortSignal): Promise<void> {
  const state = upgradeSimState(db);
  return db.clock.sleep(ms / state.config.timeFactor, signal ?? state.background.signal);
}

export function simLog(db: XapiDb, what: string): void {
  const log = upgradeSimState(db).stats.log;
  log.push({ at: db.clock.now(), what });
  if (log.length > 5000) log.splice(0, log.length - 5000);
}

// ------------------------------------------------------------------ lookups

export function matches(db: XapiDb, cls: string, ref: string, keys: ReadonlySet<string>): boolean {
  if (keys.size === 0) return false;
  if (keys.has(ref)) return true;
  const r = db.peek(cls, ref);
  return r !== undefined && (keys.has(String(r['uuid'])) || keys.has(String(r['name_label'])));
}

export function hostRecord(db: XapiDb, ref: string): XapiRecord {
  return db.getRecord('host', ref);
}

/**
 * A row's stored fields without the copy getRecord makes (HANDLE_INVALID if absent), for the
 * read-only checks an evacuation plan runs per VM and host: on a 64-host pool one
 * get_vms_which_prevent_evacuation made ~8,000 such checks, and copying whole host and VM records
 * for each made the simulator, not the controller, the bottleneck of the fan-out benchmark.
 */
export function peekRow(db: XapiDb, cls: string, ref: string): Readonly<XapiRecord> {
  const row = db.peek(cls, ref);
  if (row === undefined) throw handleInvalid(cls, ref);
  return row;
}

/** Every row of `cls` as stored (no copies), in the database's order: for read-only scans. */
export function peekRows(db: XapiDb, cls: string): Array<[string, Readonly<XapiRecord>]> {
  const out: Array<[string, Readonly<XapiRecord>]> = [];
  for (const ref of db.refs(cls)) {
    const row = db.peek(cls, ref);
    if (row !== undefined) out.push([ref, row]);
  }
  return out;
}

export function softwareVersion(host: Readonly<XapiRecord>): Record<string, string> {
  return (host['software_version'] ?? {}) as Record<string, string>;
}

/** What XAPI compares for "versions not decreasing": the platform version, else the product version. */
export function platformVersion(host: XapiRecord): string {
  const sv = softwareVersion(host);
  return sv['platform_version'] ?? sv['product_version'] ?? '';
}

export function hostIsLive(db: XapiDb, hostRef: string): boolean {
  const metrics = peekRow(db, 'host', hostRef)['metrics'];
  if (!isLiveRef(metrics)) return false;
  return db.peek('host_metrics', metrics)?.['live'] === true;
}

/** Calls forwarded to a host that is down fail like XAPI's: HOST_OFFLINE [host]. */
export function assertHostLive(db: XapiDb, hostRef: string): void {
  if (!hostIsLive(db, hostRef)) throw new XapiFailure('HOST_OFFLINE', [hostRef]);
}

const num = (v: unknown): number => (typeof v === 'number' ? v : typeof v === 'string' ? Number(v) || 0 : 0);

/**
 * XAPI's memory accounting for a VM on a host (memory_check.ml): host_compute_free_memory counts
 * every resident and scheduled VM at dynamic_min + memory_overhead (the Dynamic_min policy: guests
 * balloon down to make room), and a VM to start or migrate needs its start memory under the same
 * policy (assert_enough_memory_available).
 */
export function vmRequiredBytes(vm: XapiRecord): number {
  const staticMax = num(vm['memory_static_max']);
  const dynamicMin = num(vm['memory_dynamic_min']) || num(vm['memory_dynamic_max']) || staticMax;
  const overhead = vm['memory_overhead'] === undefined ? estimateOverheadBytes(staticMax) : num(vm['memory_overhead']);
  return dynamicMin + overhead;
}

/** Memory a live migration copies: the guest's dynamic_max. */
export function vmCopiedBytes(vm: XapiRecord): number {
  return num(vm['memory_dynamic_max']) || num(vm['memory_static_max']);
}

/**
 * host.compute_free_memory as XAPI computes it from its own data: memory_total - host overhead -
 * every VM resident on or scheduled to the host. A host marked full (fault) has none.
 */
export function hostFreeMemory(db: XapiDb, hostRef: string, ignoreVm?: string): number {
  if (matches(db, 'host', hostRef, upgradeSimState(db).faults.fullHost)) return 0;
  const host = peekRow(db, 'host', hostRef);
  const metrics = host['metrics'];
  const total = isLiveRef(metrics) && db.has('host_metrics', metrics) ? num(db.peek('host_metrics', metrics)?.['memory_total']) : 0;
  let used = num(host['memory_overhead']);
  for (const [ref, vm] of storageIndex(db).vmsByHost.get(hostRef) ?? []) {
    if (ref === ignoreVm) continue;
    if (vm['power_state'] === 'Halted' || vm['power_state'] === 'Suspended') continue;
    used += vmRequiredBytes(vm);
  }
  return Math.max(0, total - used);
}

/** Keeps host_metrics.memory_free in line after VMs come and go (dynamic targets, as xenopsd reports). */
export function refreshMemoryFree(db: XapiDb, hostRef: string): void {
  const host = hostRecord(db, hostRef);
  const metrics = host['metrics'];
  if (!isLiveRef(metrics) || !db.has('host_metrics', metrics)) return;
  const total = num(db.getRecord('host_metrics', metrics)['memory_total']);
  let used = num(host['memory_overhead']);
  for (const [, vm] of db.find('VM', (v) => v['resident_on'] === hostRef && (v['power_state'] === 'Running' || v['power_state'] === 'Paused'))) {
    used += (num(vm['memory_target']) || num(vm['memory_dynamic_max'])) + num(vm['memory_overhead']);
  }
  db.update('host_metrics', metrics, { memory_free: Math.max(0, total - used) });
}

/** The classes the storage index is built from: it is rebuilt when a row of one of them changed. */
const storageIndexClasses = ['VBD', 'VDI', 'PBD', 'VM'] as const;
const storageIndexGenerations = (db: XapiDb): string => storageIndexClasses.map((cls) => db.classGeneration(cls)).join(',');

interface StorageIndex {
  generations: string;
  srsByVm: Map<string, string[]>;
  attachedByHost: Map<string, Set<string>>;
  /** VMs resident on or scheduled to each host (rows as stored: read, never change them). */
  vmsByHost: Map<string, Array<[string, Readonly<XapiRecord>]>>;
}

const storageIndexes = new WeakMap<XapiDb, StorageIndex>();

/** VM -> SRs of its disks and host -> attached SRs, rebuilt whenever a VBD, VDI, PBD or VM changed (evacuation checks ask them for every VM and host). */
function storageIndex(db: XapiDb): StorageIndex {
  const generations = storageIndexGenerations(db);
  const cached = storageIndexes.get(db);
  if (cached !== undefined && cached.generations === generations) return cached;
  const srsByVm = new Map<string, string[]>();
  // Rows as stored, not copied.
  for (const [, vbd] of peekRows(db, 'VBD')) {
    if (vbd['empty'] === true) continue;
    const vdi = vbd['VDI'];
    if (!isLiveRef(vdi) || !db.has('VDI', vdi)) continue;
    const sr = db.peek('VDI', vdi)?.['SR'];
    if (!isLiveRef(sr)) continue;
    const vm = String(vbd['VM']);
    const list = srsByVm.get(vm) ?? [];
    if (!list.includes(sr)) list.push(sr);
    srsByVm.set(vm, list);
  }
  const attachedByHost = new Map<string, Set<string>>();
  for (const [, pbd] of peekRows(db, 'PBD').filter(([, p]) => p['currently_attached'] === true)) {
    const host = String(pbd['host']);
    const set = attachedByHost.get(host) ?? new Set<string>();
    set.add(String(pbd['SR']));
    attachedByHost.set(host, set);
  }
  const vmsByHost = new Map<string, Array<[string, Readonly<XapiRecord>]>>();
  for (const [ref, vm] of peekRows(db, 'VM')) {
    for (const host of new Set([String(vm['resident_on']), String(vm['scheduled_to_be_resident_on'])])) {
      if (!isLiveRef(host)) continue;
      const list = vmsByHost.get(host) ?? [];
      list.push([ref, vm]);
      vmsByHost.set(host, list);
    }
  }
  const index = { generations, srsByVm, attachedByHost, vmsByHost };
  storageIndexes.set(db, index);
  return index;
}

/** SRs a VM's disks live on (empty CD drives excluded). */
export function vmSrs(db: XapiDb, vmRef: string): string[] {
  return [...(storageIndex(db).srsByVm.get(vmRef) ?? [])];
}

export function hostSeesSr(db: XapiDb, hostRef: string, srRef: string): boolean {
  return storageIndex(db).attachedByHost.get(hostRef)?.has(srRef) ?? false;
}

function faultHosts(db: XapiDb, vmRef: string, knob: ReadonlyMap<string, ReadonlySet<string>>): ReadonlySet<string> | undefined {
  for (const [key, hosts] of knob) if (matches(db, 'VM', vmRef, new Set([key]))) return hosts;
  return undefined;
}

/**
 * Why `vm` may not run on `host`, in the order of xapi_vm_helpers.ml assert_can_boot_here (memory
 * left to the caller): the host must be live (HOST_NOT_LIVE with no parameters), enabled unless
 * the VM is a control domain or already runs there (HOST_DISABLED [host]), offer the CPU features
 * it runs with (VM_INCOMPATIBLE_WITH_THIS_HOST, a fault knob), see every SR the VM's disks are on
 * (VM_REQUIRES_SR [vm; sr]) and have its networks (VM_REQUIRES_NETWORK [vm; network], a fault knob).
 */
export function bootHereError(db: XapiDb, vmRef: string, hostRef: string): XapiFailure | undefined {
  if (!hostIsLive(db, hostRef)) return new XapiFailure('HOST_NOT_LIVE', []);
  const vm = peekRow(db, 'VM', vmRef);
  const localLive = vm['power_state'] === 'Running' && vm['resident_on'] === hostRef;
  if (vm['is_control_domain'] !== true && !localLive && peekRow(db, 'host', hostRef)['enabled'] !== true) return new XapiFailure('HOST_DISABLED', [hostRef]);
  const faults = upgradeSimState(db).faults;
  const cpu = faultHosts(db, vmRef, faults.cpuIncompatible);
  if (cpu !== undefined && matches(db, 'host', hostRef, cpu)) return new XapiFailure('VM_INCOMPATIBLE_WITH_THIS_HOST', [vmRef, hostRef, 'Host CPU does not provide all required features']);
  for (const sr of vmSrs(db, vmRef)) if (!hostSeesSr(db, hostRef, sr)) return new XapiFailure('VM_REQUIRES_SR', [vmRef, sr]);
  const net = faultHosts(db, vmRef, faults.networkMissing);
  if (net !== undefined && matches(db, 'host', hostRef, net)) return new XapiFailure('VM_REQUIRES_NETWORK', [vmRef, `OpaqueRef:network-of-${vmRef.slice(-12)}`]);
  return undefined;
}

/** compare_all_versions: every key of `a` at least that of `b`. */
export function versionsAtLeast(a: Readonly<XapiRecord>, b: Readonly<XapiRecord>, keys: readonly string[]): boolean {
  return notOlder(softwareVersion(a), softwareVersion(b), keys);
}

/** Checks.Migration.host_versions_not_decreasing, from `from` to `to`. */
export function versionsNotDecreasing(db: XapiDb, from: string, to: string): boolean {
  return versionsAtLeast(peekRow(db, 'host', to), peekRow(db, 'host', from), migrationVersionKeys);
}

/** Checks.RPU.host_has_highest_version_in_pool. */
export function hostHasHighestVersion(db: XapiDb, hostRef: string): boolean {
  const host = hostRecord(db, hostRef);
  return db.refs('host').every((h) => versionsAtLeast(host, hostRecord(db, h), rpuVersionKeys));
}

/**
 * db_gc.ml detect_rolling_upgrade: pool.other_config:rolling_upgrade_in_progress while some host's
 * platform_version or xapi version differs from the master's
 * (Checks.RPU.pool_has_different_host_platform_versions).
 */
export function syncRollingUpgradeFlag(db: XapiDb): void {
  const master = hostRecord(db, db.masterRef());
  const sm = softwareVersion(master);
  const inProgress = db.refs('host').some((h) => {
    const sh = softwareVersion(hostRecord(db, h));
    return rpuVersionKeys.some((k) => compareVersionKey(k, sm, sh) !== 0);
  });
  const poolRef = db.poolRef();
  const other = { ...((db.getRecord('pool', poolRef)['other_config'] ?? {}) as Record<string, string>) };
  if (inProgress === 'rolling_upgrade_in_progress' in other) return;
  if (inProgress) other['rolling_upgrade_in_progress'] = 'true';
  else delete other['rolling_upgrade_in_progress'];
  db.update('pool', poolRef, { other_config: other });
}

/** helpers.ml rolling_upgrade_in_progress: the pool flag is there (whatever the hosts say). */
export function rollingUpgradeInProgress(db: XapiDb): boolean {
  const other = (db.getRecord('pool', db.poolRef())['other_config'] ?? {}) as Record<string, string>;
  return 'rolling_upgrade_in_progress' in other;
}

/** xapi_vm_lifecycle.ml allowed_power_states, for the operations the simulator runs. */
const allowedPowerStates: Readonly<Record<string, readonly string[]>> = {
  pool_migrate: ['Running'],
  clean_shutdown: ['Running'],
  hard_shutdown: ['Paused', 'Suspended', 'Running'],
  start: ['Halted'],
  start_on: ['Halted'],
};

/**
 * xapi_vm_lifecycle.ml check_operation_error for `op`, in its order: blocked_operations first
 * (OPERATION_BLOCKED [vm; reason]), then the power state (VM_BAD_POWER_STATE [vm; expected;
 * actual], lower case, comma-separated), then operations in progress (OTHER_OPERATION_IN_PROGRESS
 * ["VM"; vm; op; op's task], report_concurrent_operations_error). The operations modelled here
 * are all in Xapi_globs.rpu_allowed_vm_operations, so a rolling upgrade does not block them.
 */
export function vmOperationError(db: XapiDb, vmRef: string, op: keyof typeof allowedPowerStates): XapiFailure | undefined {
  const vm = db.getRecord('VM', vmRef);
  const blocked = (vm['blocked_operations'] ?? {}) as Record<string, string>;
  if (Object.hasOwn(blocked, op)) return new XapiFailure('OPERATION_BLOCKED', [vmRef, blocked[op] ?? '']);
  const states = allowedPowerStates[op] ?? [];
  const power = String(vm['power_state']);
  if (!states.includes(power)) return new XapiFailure('VM_BAD_POWER_STATE', [vmRef, states.map((p) => p.toLowerCase()).join(', '), power.toLowerCase()]);
  const ops = Object.entries(currentOperations(vm));
  if (ops.length === 1) return new XapiFailure('OTHER_OPERATION_IN_PROGRESS', ['VM', vmRef, ops[0]![1], ops[0]![0]]);
  if (ops.length > 1) return new XapiFailure('OTHER_OPERATION_IN_PROGRESS', ['VM', vmRef, `{${ops.map(([, o]) => o).join(',')}}`, `{${ops.map(([r]) => r).join(',')}}`]);
  if (op === 'pool_migrate') {
    // Later in check_operation_error: check_op_for_feature (no PV drivers: VM_LACKS_FEATURE, strict),
    // then PCI passthrough (an SR-IOV VF is a PCI too), vGPU, USB passthrough (fault knobs).
    const faults = upgradeSimState(db).faults;
    if (matches(db, 'VM', vmRef, faults.noPvDrivers)) return new XapiFailure('VM_LACKS_FEATURE', [vmRef]);
    if (matches(db, 'VM', vmRef, faults.pci) || matches(db, 'VM', vmRef, faults.sriov)) return new XapiFailure('VM_HAS_PCI_ATTACHED', [vmRef]);
    if (matches(db, 'VM', vmRef, faults.vgpu)) return new XapiFailure('VM_HAS_VGPU', [vmRef]);
    if (matches(db, 'VM', vmRef, faults.vusb)) return new XapiFailure('VM_HAS_VUSBS', [vmRef]);
  }
  return undefined;
}

/** Every session ends, as when xapi restarts on the master. */
export function invalidateSessions(db: XapiDb): void {
  if (!db.hasClass('session')) return;
  for (const ref of db.refs('session')) db.destroy('session', ref);
}

export function runningGuests(db: XapiDb, hostRef: string): Array<[string, Readonly<XapiRecord>]> {
  return (storageIndex(db).vmsByHost.get(hostRef) ?? []).filter(([, v]) => v['resident_on'] === hostRef && v['is_control_domain'] !== true && (v['power_state'] === 'Running' || v['power_state'] === 'Paused'));
}

export function currentOperations(record: XapiRecord): Record<string, string> {
  return (record['current_operations'] ?? {}) as Record<string, string>;
}

export { NULL_REF };
