import { formatXapiDate } from '../../clock.js';
import type { MethodContext, MethodRegistry } from '../../method-registry.js';
import type { XapiDb } from '../../xapi-db.js';
import { XapiFailure } from '../../xapi-failure.js';
import { isLiveRef, NULL_REF, type XapiRecord } from '../../xapi-value.js';
import { stringArg, stringMapArg } from '../args.js';
import {
  assertHostLive,
  bootHereError,
  currentOperations,
  vmOperationError,
  versionsNotDecreasing,
  hostFreeMemory,
  hostRecord,
  invalidateSessions,
  matches,
  peekRow,
  peekRows,
  platformVersion,
  refreshMemoryFree,
  runningGuests,
  simLog,
  simSleep,
  softwareVersion,
  syncRollingUpgradeFlag,
  upgradeSimState,
  vmRequiredBytes,
  type Release,
} from './upgrade-sim-state.js';
import { migrateVm } from './vm-methods.js';
import { setXapiState, xapiState } from '../../xapi-process.js';

/**
 * host.* operations of a rolling upgrade, with XAPI's semantics and error codes:
 * disable/enable (HOST_OFFLINE, HOST_STILL_BOOTING, HOST_DISABLED_UNTIL_REBOOT, auto_enable),
 * evacuate and its planning (xapi_host.ml compute_evacuation_plan_no_wlb: every other enabled
 * host of the same or newer version is a target, dead or alive; per-VM errors; a memory bin-pack;
 * one Async.VM.pool_migrate subtask per VM, in batches), reboot (xapi_host.ml
 * shutdown_and_reboot_common: HOST_NOT_DISABLED; 10 s later prepare_for_poweroff shuts down what
 * cannot move and evacuates the rest, sets host_disabled_until_reboot, and the host goes down:
 * its xapi stops, so its socket refuses connections; boot_time and agent_start_time change; xapi
 * listens again before its startup completes; PBDs replug; consider_enabling_host), and the
 * update actions (updater.py, apply_updates, a simulated upgrade) that stage a release applied at
 * boot.
 */

type EvacuationPlan = Map<string, { host: string } | { error: XapiFailure }>;

/**
 * xapi_host.ml compute_evacuation_plan_no_wlb, with a worst-fit-decreasing memory bin-pack:
 * targets are the other enabled hosts whose versions are not older (Checks.Migration), live or
 * not, so a dead but enabled host makes every VM fail assert_can_boot_here with HOST_NOT_LIVE;
 * then each VM's pool_migrate operation error replaces whatever it had (OPERATION_BLOCKED,
 * OTHER_OPERATION_IN_PROGRESS, ...); VMs that do not fit get HOST_NOT_ENOUGH_FREE_MEMORY [vm];
 * placed VMs are checked again on their host.
 */
export function computeEvacuationPlan(db: XapiDb, hostRef: string): EvacuationPlan {
  const plan: EvacuationPlan = new Map();
  hostRecord(db, hostRef);
  const targets = db
    .refs('host')
    .filter((h) => h !== hostRef && peekRow(db, 'host', h)['enabled'] === true)
    // PR-1007: VMs only go to hosts of the same or a newer version.
    .filter((h) => versionsNotDecreasing(db, hostRef, h));
  // Copies of this host's guests only (db.find would copy every VM of the pool first).
  const guests: Array<[string, XapiRecord]> = peekRows(db, 'VM')
    .filter(([, v]) => v['resident_on'] === hostRef && v['is_control_domain'] !== true)
    .map(([vm]) => [vm, db.getRecord('VM', vm)]);
  if (targets.length === 0) {
    for (const [vm] of guests) plan.set(vm, { error: new XapiFailure('NO_HOSTS_AVAILABLE', [vm]) });
    return plan;
  }
  // With HA on, unprotected guests are reported as such and skip the boot checks. Protected is
  // ha_always_run AND restart priority "restart" (helpers.ml vm_should_always_run).
  const pool = db.getRecord('pool', db.poolRef());
  const protectedGuests = guests.filter(([vm, record]) => {
    if (pool['ha_enabled'] !== true || (record['ha_always_run'] === true && record['ha_restart_priority'] === 'restart')) return true;
    plan.set(vm, { error: new XapiFailure('HOST_EVACUATE_VM_NOT_HA_PROTECTED', [vm]) });
    return false;
  });
  const migratable: Array<[string, XapiRecord]> = [];
  for (const [vm, record] of protectedGuests) {
    const cannot = targets.map((t) => bootHereError(db, vm, t)).find((e) => e !== undefined);
    if (cannot !== undefined) plan.set(vm, { error: cannot });
    else migratable.push([vm, record]);
  }
  for (const [vm] of guests) {
    const opError = vmOperationError(db, vm, 'pool_migrate');
    if (opError !== undefined) plan.set(vm, { error: opError });
  }
  const free = new Map(targets.map((h) => [h, hostFreeMemory(db, h)]));
  const toPlace = migratable.filter(([vm]) => !plan.has(vm)).sort((a, b) => vmRequiredBytes(b[1]) - vmRequiredBytes(a[1]) || a[0].localeCompare(b[0]));
  for (const [vm, record] of toPlace) {
    const need = vmRequiredBytes(record);
    const best = [...free.entries()].filter(([, f]) => f >= need).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0];
    if (best === undefined) {
      plan.set(vm, { error: new XapiFailure('HOST_NOT_ENOUGH_FREE_MEMORY', [vm]) });
      continue;
    }
    free.set(best[0], best[1] - need);
    const cannot = bootHereError(db, vm, best[0]);
    plan.set(vm, cannot === undefined ? { host: best[0] } : { error: cannot });
  }
  return plan;
}

function withHostOperation<T>(ctx: MethodContext, hostRef: string, op: string, run: () => Promise<T> | T): Promise<T> {
  const host = hostRecord(ctx.db, hostRef);
  const ops = currentOperations(host);
  // xapi_host_helpers.ml valid_operations: ["host"; ref; op in progress; its task].
  const busy = Object.entries(ops)[0];
  if (busy !== undefined) throw new XapiFailure('OTHER_OPERATION_IN_PROGRESS', ['host', hostRef, busy[1], busy[0]]);
  const key = ctx.task?.ref ?? `OpaqueRef:op-${op}-${Date.now()}`;
  ctx.db.update('host', hostRef, { current_operations: { ...ops, [key]: op } });
  const clear = (): void => {
    if (!ctx.db.has('host', hostRef)) return;
    const now = { ...currentOperations(hostRecord(ctx.db, hostRef)) };
    delete now[key];
    ctx.db.update('host', hostRef, { current_operations: now });
  };
  return Promise.resolve()
    .then(run)
    .finally(clear);
}

/** The release an upgrade installs: configured, else the master's version with the last number bumped. */
export function nextRelease(db: XapiDb): Release {
  const configured = upgradeSimState(db).config.release;
  if (configured !== undefined) return configured;
  const master = hostRecord(db, db.masterRef());
  const sv = softwareVersion(master);
  const bump = (v: string): string => {
    const parts = v.split('.');
    const last = Number(parts[parts.length - 1]);
    parts[parts.length - 1] = String(Number.isFinite(last) ? last + 1 : 1);
    return parts.join('.');
  };
  const product = bump(sv['product_version'] ?? '1.0.0');
  const platform = bump(platformVersion(master) || '1.0.0');
  const hotfixes = hotfixNamesOf(db, db.masterRef());
  const release: Release = { productVersion: product, platformVersion: platform, buildNumber: `sim-${product}`, hotfixes: [...hotfixes, `SIM-${product}-001`], xen: newer(sv['xen'] ?? '4.7.0'), xapi: newer(sv['xapi'] ?? '1.0'), xapiBuild: newer(sv['xapi_build'] ?? sv['xapi'] ?? '1.0') };
  upgradeSimState(db).config.release = release;
  return release;
}
/** A version xapi's comparison (helpers.ml version_numbers_of_string) finds newer: the release part's last number + 1 ("4.7.1-1-d" -> "4.7.2-1"). */
function newer(v: string): string {
  const release = (v.split('-')[0] ?? '').split('.').map((x) => Number(x)).filter((x) => Number.isInteger(x));
  if (release.length === 0) return '1.0.0';
  release[release.length - 1] = (release[release.length - 1] ?? 0) + 1;
  return `${release.join('.')}-1`;
}

/**
 * What an XCP-ng `yum update` (updater.py) or a XenServer 8 apply_updates installs: the master's
 * release with a newer xen, xapi and xapi_build and one more update, platform_version and
 * product_version unchanged.
 */
export function nextUpdate(db: XapiDb): Release {
  const configured = upgradeSimState(db).config.update;
  if (configured !== undefined) return configured;
  const sv = softwareVersion(hostRecord(db, db.masterRef()));
  // A newer patch part (after '-'): "4.13.5-9.40" -> "4.13.5-10"; xapi compares release then patch numbers.
  const bumpPatch = (v: string): string => {
    const [release, patch] = v.split('-');
    const first = Number((patch ?? '0').split('.')[0]);
    return `${release ?? v}-${(Number.isInteger(first) ? first : 0) + 1}`;
  };
  const xen = bumpPatch(sv['xen'] ?? '4.13.5');
  const update: Release = {
    productVersion: sv['product_version'] ?? '',
    platformVersion: sv['platform_version'] ?? '',
    buildNumber: sv['build_number'] ?? '',
    hotfixes: [...hotfixNamesOf(db, db.masterRef()), `SIM-UPDATE-xen-${xen}`],
    xen,
    xapi: bumpPatch(sv['xapi'] ?? '1.0'),
    xapiBuild: bumpPatch(sv['xapi_build'] ?? sv['xapi'] ?? '1.0'),
  };
  upgradeSimState(db).config.update = update;
  return update;
}


export function hotfixNamesOf(db: XapiDb, hostRef: string): string[] {
  const names = new Set<string>();
  for (const u of (hostRecord(db, hostRef)['updates'] ?? []) as string[]) {
    const r = db.tryGetRecord('pool_update', u);
    if (r !== undefined) names.add(String(r['name_label']));
  }
  for (const [, hp] of db.find('host_patch', (p) => p['host'] === hostRef)) {
    const pp = hp['pool_patch'];
    const name = isLiveRef(pp) && db.has('pool_patch', pp) ? String(db.getRecord('pool_patch', pp)['name_label']) : String(hp['name_label']);
    names.add(name);
  }
  return [...names].sort();
}

// xapi does not look at HA for host.call_plugin (xapi_plugins.ml): a plugin runs whatever the pool's state.
async function stageRelease(ctx: MethodContext, hostRef: string, what: string, release: Release = nextRelease(ctx.db)): Promise<Release> {
  assertHostLive(ctx.db, hostRef);
  await withHostOperation(ctx, hostRef, 'apply_updates', async () => {
    const total = upgradeSimState(ctx.db).config.actionMs;
    for (let i = 1; i <= 4; i++) {
      await simSleep(ctx.db, total / 4, ctx.signal);
      ctx.task?.setProgress(i / 4);
    }
  });
  upgradeSimState(ctx.db).staged.set(hostRef, release);
  simLog(ctx.db, `${String(hostRecord(ctx.db, hostRef)['name_label'])}: ${what} staged ${release.productVersion}`);
  return release;
}

function applyRelease(db: XapiDb, hostRef: string, release: Release): void {
  const host = hostRecord(db, hostRef);
  db.update('host', hostRef, {
    software_version: {
      ...softwareVersion(host),
      product_version: release.productVersion,
      platform_version: release.platformVersion,
      build_number: release.buildNumber,
      ...(release.xen === undefined ? {} : { xen: release.xen }),
      ...(release.xapi === undefined ? {} : { xapi: release.xapi }),
      ...(release.xapiBuild === undefined ? {} : { xapi_build: release.xapiBuild }),
    },
    pending_guidances: [],
  });
  if (release.dom0MemoryBytes !== undefined) {
    const dom0 = hostRecord(db, hostRef)['control_domain'];
    const bytes = release.dom0MemoryBytes;
    if (isLiveRef(dom0) && db.has('VM', dom0)) db.update('VM', dom0, { memory_static_max: bytes, memory_dynamic_max: bytes, memory_dynamic_min: bytes, memory_target: bytes });
  }
  // The hotfix list after the upgrade: pool_update rows (7.1+) and host_patch twins, as XAPI keeps them.
  db.addClass('pool_update');
  const updates: string[] = [];
  for (const name of release.hotfixes) {
    let ref = db.find('pool_update', (u) => u['name_label'] === name)[0]?.[0];
    ref ??= db.create('pool_update', { uuid: `sim-${name}`, name_label: name, name_description: `Update ${name}`, version: '1.0', installation_size: 0, key: '', after_apply_guidance: ['restartHost'], vdi: NULL_REF, other_config: {}, enforce_homogeneity: false });
    updates.push(ref);
  }
  db.update('host', hostRef, { updates });
  if (db.hasClass('host_patch')) {
    for (const [ref, hp] of db.find('host_patch', (p) => p['host'] === hostRef)) if (!release.hotfixes.includes(String(hp['name_label']))) db.destroy('host_patch', ref);
    for (const name of release.hotfixes) {
      if (db.find('host_patch', (p) => p['host'] === hostRef && p['name_label'] === name).length > 0) continue;
      const pool = db.hasClass('pool_patch') ? db.find('pool_patch', (p) => p['name_label'] === name)[0]?.[0] : undefined;
      db.create('host_patch', { uuid: `sim-${name}-${hostRef.slice(-8)}`, name_label: name, name_description: '', version: '1.0', host: hostRef, applied: true, timestamp_applied: formatXapiDate(db.clock.now()), size: 0, pool_patch: pool ?? NULL_REF, other_config: {} });
    }
  }
}

function setPbdsAttached(db: XapiDb, hostRef: string, attached: boolean, missingPath: boolean): void {
  for (const [ref, pbd] of db.find('PBD', (p) => p['host'] === hostRef)) {
    const other = { ...((pbd['other_config'] ?? {}) as Record<string, string>) };
    for (const key of Object.keys(other)) {
      // XAPI's multipath status per LUN: mpath-<scsiid> = "[active, total]".
      if (!key.startsWith('mpath-')) continue;
      const m = /^\[(\d+), (\d+)\]$/.exec(other[key] ?? '');
      if (m === null) continue;
      const total = Number(m[2]);
      other[key] = `[${attached ? Math.max(0, total - (missingPath ? 1 : 0)) : 0}, ${total}]`;
    }
    db.update('PBD', ref, { currently_attached: attached, other_config: other });
  }
}

/**
 * The host stops (vm_evacuation.ml ensure_no_vms has run): anything still running dies, its
 * storage detaches, host_disabled_until_reboot is set (xapi_host.ml prepare_for_poweroff writes
 * it now, not when host.reboot was called), and its xapi is gone: the simulator closes that
 * host's listeners, so connections are refused; on the master every session ends.
 */
function goDown(db: XapiDb, hostRef: string): void {
  const host = hostRecord(db, hostRef);
  const state = upgradeSimState(db);
  state.disabledUntilReboot.add(hostRef);
  const metrics = host['metrics'];
  if (isLiveRef(metrics) && db.has('host_metrics', metrics)) db.update('host_metrics', metrics, { live: false });
  for (const [vm] of runningGuests(db, hostRef)) {
    db.update('VM', vm, { power_state: 'Halted', resident_on: NULL_REF, scheduled_to_be_resident_on: NULL_REF, current_operations: {} });
    simLog(db, `VM ${vm} halted: its host went down`);
  }
  setPbdsAttached(db, hostRef, false, false);
  if (hostRef === db.masterRef()) {
    state.masterDown = true;
    invalidateSessions(db);
  }
  setXapiState(db, hostRef, 'down');
}

/**
 * vm_evacuation.ml ensure_no_vms, run by prepare_for_poweroff: the VMs that prevent evacuation are
 * shut down (clean, then hard for those still live), the host is evacuated (Async.host.evacuate),
 * and what still runs is shut down; failures are logged and ignored. VMs with
 * other_config:auto_poweroff manage their own power-off and are left alone.
 */
async function ensureNoVms(ctx: MethodContext, hostRef: string): Promise<void> {
  const { db } = ctx;
  const selfManaged = (vm: string): boolean => 'auto_poweroff' in ((db.getRecord('VM', vm)['other_config'] ?? {}) as Record<string, string>);
  const shutDown = async (vms: string[]): Promise<void> => {
    for (const vm of vms) {
      if (!db.has('VM', vm) || db.getRecord('VM', vm)['power_state'] !== 'Running') continue;
      const cannot = vmOperationError(db, vm, 'clean_shutdown');
      if (cannot === undefined) await simSleep(db, cleanShutdownMs, ctx.signal);
      if (!db.has('VM', vm)) continue;
      const host = String(db.getRecord('VM', vm)['resident_on']);
      db.update('VM', vm, { power_state: 'Halted', resident_on: NULL_REF, scheduled_to_be_resident_on: NULL_REF, current_operations: {} });
      if (isLiveRef(host)) refreshMemoryFree(db, host);
      simLog(db, `VM ${vm} ${cannot === undefined ? 'cleanly' : 'hard'} shut down: its host reboots`);
    }
  };
  const blockers = [...computeEvacuationPlan(db, hostRef).entries()].filter(([vm, p]) => 'error' in p && !selfManaged(vm)).map(([vm]) => vm);
  await shutDown(blockers).catch(() => undefined);
  await evacuate(ctx, hostRef, 0).catch((e: unknown) => simLog(db, `evacuation before reboot failed: ${String(e)}`));
  await shutDown(runningGuests(db, hostRef).map(([vm]) => vm).filter((vm) => !selfManaged(vm))).catch(() => undefined);
}

const cleanShutdownMs = 20_000;

/**
 * Runs a host's reboot after host.reboot returned: xapi waits 10 s, prepare_for_poweroff empties
 * the host, the host goes down and boots. Its xapi then listens again (state `starting`:
 * xapi.ml brings the management interface up early) with boot_time, agent_start_time, live and
 * current_operations reset and host_disabled_until_reboot cleared (xapi.ml at start); its PBDs
 * plug; then startup completes and consider_enabling_host enables it unless
 * host.disable(auto_enable=false) asked to keep it disabled.
 */
async function rebootInBackground(ctx: MethodContext, hostRef: string): Promise<void> {
  const { db } = ctx;
  const state = upgradeSimState(db);
  const cfg = state.config;
  const name = String(hostRecord(db, hostRef)['name_label']);
  try {
    await simSleep(db, cfg.shutdownDelayMs);
    await ensureNoVms(ctx, hostRef);
    goDown(db, hostRef);
    simLog(db, `${name} down`);
    if (matches(db, 'host', hostRef, state.faults.neverBack)) {
      simLog(db, `${name} never comes back (fault)`);
      return;
    }
    await simSleep(db, cfg.rebootMs);
    const release = state.staged.get(hostRef);
    if (release !== undefined) {
      applyRelease(db, hostRef, release);
      state.staged.delete(hostRef);
    }
    const bootSeconds = Math.floor(db.clock.now() / 1000);
    const host = hostRecord(db, hostRef);
    db.update('host', hostRef, { other_config: { ...((host['other_config'] ?? {}) as Record<string, string>), boot_time: `${bootSeconds}.` }, current_operations: {} });
    await simSleep(db, cfg.agentStartMs);
    const agentStart = Math.floor(db.clock.now() / 1000);
    state.disabledUntilReboot.delete(hostRef);
    state.rebooting.delete(hostRef);
    if (hostRef === db.masterRef()) state.masterDown = false;
    const metrics = hostRecord(db, hostRef)['metrics'];
    if (isLiveRef(metrics) && db.has('host_metrics', metrics)) db.update('host_metrics', metrics, { live: true, last_updated: formatXapiDate(db.clock.now()) });
    db.update('host', hostRef, { other_config: { ...((hostRecord(db, hostRef)['other_config'] ?? {}) as Record<string, string>), agent_start_time: `${agentStart}.` } });
    setXapiState(db, hostRef, 'starting');
    syncRollingUpgradeFlag(db);
    await simSleep(db, cfg.storageMs);
    setPbdsAttached(db, hostRef, true, matches(db, 'host', hostRef, state.faults.missingPaths));
    refreshMemoryFree(db, hostRef);
    autoPowerOn(db, hostRef);
    setXapiState(db, hostRef, 'up');
    // xapi_host_helpers.ml consider_enabling_host: enabled unless auto_enable was turned off.
    if (state.autoEnable.get(hostRef) !== false) db.update('host', hostRef, { enabled: true });
    simLog(db, `${name} back (${platformVersion(hostRecord(db, hostRef))})`);
  } catch {
    // Simulator stopped.
  }
}

/** pool.other_config:auto_poweron=true starts, on boot, the halted VMs marked auto_poweron whose affinity is this host. */
function autoPowerOn(db: XapiDb, hostRef: string): void {
  const pool = db.getRecord('pool', db.poolRef());
  if (((pool['other_config'] ?? {}) as Record<string, string>)['auto_poweron'] !== 'true') return;
  for (const [vm, r] of db.find('VM', (v) => v['power_state'] === 'Halted' && v['affinity'] === hostRef && ((v['other_config'] ?? {}) as Record<string, string>)['auto_poweron'] === 'true')) {
    if (bootHereError(db, vm, hostRef) !== undefined || hostFreeMemory(db, hostRef) < vmRequiredBytes(r)) continue;
    db.update('VM', vm, { power_state: 'Running', resident_on: hostRef });
    simLog(db, `VM ${vm} auto powered on`);
  }
}


/**
 * xapi_host.ml evacuate: the plan must have no errors (the first one is raised); then one
 * Async.VM.pool_migrate per VM, `batch` at a time (evacuate_batch_size, else xapi.conf's
 * evacuation-batch-size), a new one started as soon as one finishes; each is a subtask of the
 * evacuation's task, so VM.current_operations is keyed by it; a VM_BAD_POWER_STATE failure is
 * ignored (the VM stopped meanwhile), any other ends the evacuation; finished subtasks are
 * destroyed; progress counts finished migrations.
 */
async function evacuate(ctx: MethodContext, host: string, batchSize: number): Promise<void> {
  const { db } = ctx;
  const plan = computeEvacuationPlan(db, host);
  for (const p of plan.values()) if ('error' in p) throw p.error;
  const moves = [...plan.entries()].flatMap(([vm, p]) => ('host' in p ? [[vm, p.host] as const] : []));
  const batch = Math.max(1, Math.abs(batchSize > 0 ? batchSize : upgradeSimState(db).config.evacuateBatchSize));
  const tasks = ctx.server.tasks;
  let next = 0;
  let done = 0;
  const migrateOne = async (vm: string, to: string): Promise<void> => {
    const ref = tasks.start(
      'Async.VM.pool_migrate',
      ctx.signal,
      (task, signal) => migrateVm({ ...ctx, signal, task, method: 'VM.pool_migrate' }, vm, to),
      { subtaskOf: ctx.task?.ref, release: ctx.release, session: ctx.sessionRef },
    );
    await tasks.whenSettled(ref);
    const record = db.tryGetRecord('task', ref);
    if (db.has('task', ref)) db.destroy('task', ref);
    if (record?.['status'] === 'failure') {
      const [code = 'INTERNAL_ERROR', ...params] = (record['error_info'] ?? []) as string[];
      if (code !== 'VM_BAD_POWER_STATE') throw new XapiFailure(code, params);
    } else if (record?.['status'] === 'cancelled') {
      throw new XapiFailure('TASK_CANCELLED', [ctx.task?.ref ?? ref]);
    }
    done++;
    ctx.task?.setProgress(done / plan.size);
  };
  const worker = async (): Promise<void> => {
    while (next < moves.length) {
      const [vm, to] = moves[next++]!;
      await migrateOne(vm, to);
    }
  };
  await Promise.all(Array.from({ length: Math.min(batch, moves.length) }, worker));
  ctx.task?.setProgress(1);
}

export function registerHostUpgradeMethods(registry: MethodRegistry): void {
  // (host, auto_enable=true): auto_enable exists from xapi 25.31.0; the datamodel's default fills it in.
  registry.register('host.disable', {
    handler: (ctx, args) => {
      const host = stringArg(args, 0);
      assertHostLive(ctx.db, host);
      // xapi_host.ml disable: only an enabled host is changed, and only then is auto_enable kept.
      if (hostRecord(ctx.db, host)['enabled'] !== true) return;
      ctx.db.update('host', host, { enabled: false });
      if (args[1] === false) upgradeSimState(ctx.db).autoEnable.set(host, false);
    },
  });

  registry.register('host.enable', {
    handler: (ctx, args) => {
      const host = stringArg(args, 0);
      assertHostLive(ctx.db, host);
      if (hostRecord(ctx.db, host)['enabled'] === true) return;
      // xapi_host.ml assert_safe_to_reenable: startup complete, then host_disabled_until_reboot.
      if (xapiState(ctx.db, host) === 'starting') throw new XapiFailure('HOST_STILL_BOOTING', []);
      if (upgradeSimState(ctx.db).disabledUntilReboot.has(host)) throw new XapiFailure('HOST_DISABLED_UNTIL_REBOOT', [host]);
      upgradeSimState(ctx.db).autoEnable.delete(host);
      ctx.db.update('host', host, { enabled: true });
    },
  });

  registry.register('host.compute_free_memory', {
    handler: (ctx, args) => hostFreeMemory(ctx.db, stringArg(args, 0)),
  });

  registry.register('host.get_vms_which_prevent_evacuation', {
    handler: (ctx, args) => {
      const out: Record<string, string[]> = {};
      for (const [vm, p] of computeEvacuationPlan(ctx.db, stringArg(args, 0))) if ('error' in p) out[vm] = [p.error.code, ...p.error.params];
      return out;
    },
  });

  registry.register('host.assert_can_evacuate', {
    handler: (ctx, args) => {
      const errors = [...computeEvacuationPlan(ctx.db, stringArg(args, 0)).values()].flatMap((p) => ('error' in p ? [[p.error.code, ...p.error.params].join(',')] : []));
      if (errors.length > 0) throw new XapiFailure('CANNOT_EVACUATE_HOST', [errors.join('|')]);
    },
  });

  // (host, network=NULL, evacuate_batch_size=0): the later two from xapi 1.297.0 / 23.27.0.
  registry.register('host.evacuate', {
    handler: async (ctx, args) => {
      const host = stringArg(args, 0);
      assertHostLive(ctx.db, host);
      await withHostOperation(ctx, host, 'evacuate', () => evacuate(ctx, host, typeof args[2] === 'number' ? args[2] : 0));
    },
  });

  registry.register('host.reboot', {
    handler: (ctx, args) => {
      const host = stringArg(args, 0);
      assertHostLive(ctx.db, host);
      const state = upgradeSimState(ctx.db);
      // xapi_host_helpers.ml valid_operations: a reboot or shutdown in progress blocks another.
      const busy = Object.entries(currentOperations(hostRecord(ctx.db, host))).find(([, op]) => op === 'shutdown' || op === 'reboot' || op === 'apply_updates');
      if (busy !== undefined) throw new XapiFailure('OTHER_OPERATION_IN_PROGRESS', ['host', host, busy[1], busy[0]]);
      if (hostRecord(ctx.db, host)['enabled'] === true) throw new XapiFailure('HOST_NOT_DISABLED', []);
      state.rebooting.add(host);
      state.stats.reboots++;
      // shutdown_and_reboot_common: a subtask "Host is rebooting" keys the host's
      // current_operations (operation `shutdown`, also for a reboot) until xapi restarts; the
      // subtask itself ends with the call (exec_with_new_task destroys its context).
      const sub = ctx.server.tasks.create('Host is rebooting', 'Host is rebooting', ctx.sessionRef, ctx.task?.ref);
      ctx.db.destroy('task', sub);
      ctx.db.update('host', host, { current_operations: { ...currentOperations(hostRecord(ctx.db, host)), [sub]: 'shutdown' } });
      simLog(ctx.db, `${String(hostRecord(ctx.db, host)['name_label'])} rebooting`);
      const background: MethodContext = { ...ctx, signal: state.background.signal, task: undefined };
      void rebootInBackground(background, host);
    },
  });


  // xe-toolstack-restart: xapi restarts (its socket refuses connections meanwhile; on the master every
  // session ends); an update staged with restart_toolstack guidance takes effect now.
  registry.register('host.restart_agent', {
    handler: (ctx, args) => {
      const host = stringArg(args, 0);
      assertHostLive(ctx.db, host);
      const state = upgradeSimState(ctx.db);
      const db = ctx.db;
      const restart = async (): Promise<void> => {
        try {
          await simSleep(db, 1_000);
          setXapiState(db, host, 'down');
          if (host === db.masterRef()) {
            state.masterDown = true;
            invalidateSessions(db);
          }
          await simSleep(db, state.config.agentStartMs);
          const staged = state.staged.get(host);
          if (staged !== undefined && staged.guidance === 'restart_toolstack') {
            applyRelease(db, host, staged);
            state.staged.delete(host);
            syncRollingUpgradeFlag(db);
          }
          const other = (hostRecord(db, host)['other_config'] ?? {}) as Record<string, string>;
          db.update('host', host, { other_config: { ...other, agent_start_time: `${Math.floor(db.clock.now() / 1000)}.` } });
          if (host === db.masterRef()) state.masterDown = false;
          setXapiState(db, host, 'up');
          // A restarted xapi runs consider_enabling_host too: the host is enabled unless auto_enable was turned off.
          if (state.autoEnable.get(host) !== false) db.update('host', host, { enabled: true });
          simLog(db, `${String(hostRecord(db, host)['name_label'])}: toolstack restarted`);
        } catch {
          // Simulator stopped.
        }
      };
      void restart();
    },
  });

  // PBD.plug (forwarded to the PBD's host: HOST_OFFLINE when it is down; an attached PBD: nothing)
  // is in ../storage/pbd-methods.ts with PBD.unplug and the storage manager's multipath status.

  // XCP-ng: yum through the updater.py plugin. XenServer 8: host.apply_updates after pool.sync_updates.
  registry.register('host.call_plugin', {
    arity: 4,
    async: true,
    handler: async (ctx, args) => {
      const host = stringArg(args, 0);
      const plugin = stringArg(args, 1);
      const fn = stringArg(args, 2);
      const fnArgs = stringMapArg(args, 3);
      assertHostLive(ctx.db, host);
      if (plugin === 'updater.py') {
        if (fn === 'check_update') {
          const update = nextUpdate(ctx.db);
          const current = softwareVersion(hostRecord(ctx.db, host))['xen'] ?? '';
          const staged = upgradeSimState(ctx.db).staged.has(host);
          return JSON.stringify(current === update.xen || staged ? [] : [{ name: 'xen-hypervisor', version: update.xen, release: '1', arch: 'x86_64', fullName: `xen-hypervisor-${update.xen ?? ''}-1.x86_64` }]);
        }
        if (fn === 'update') {
          const update = await stageRelease(ctx, host, 'updater.py update', nextUpdate(ctx.db));
          ctx.db.update('host', host, { pending_guidances: ['reboot_host'] });
          return `Installed: xen-hypervisor-${update.xen ?? ''}\nComplete!\n`;
        }
        // XenAPIPlugin.dispatch answers an unknown function this way (python3/examples/XenAPIPlugin.py).
        throw new XapiFailure('UNKNOWN_XENAPI_PLUGIN_FUNCTION', [fn]);
      }
      if (plugin === 'xsctl_simulated_upgrade.py' && fn === 'upgrade') {
        const wanted = fnArgs['product_version'];
        if (wanted !== undefined && wanted !== '') {
          const current = nextRelease(ctx.db);
          upgradeSimState(ctx.db).config.release = { ...current, productVersion: wanted, platformVersion: fnArgs['platform_version'] || current.platformVersion, buildNumber: `sim-${wanted}` };
        }
        const release = await stageRelease(ctx, host, 'simulated upgrade');
        return JSON.stringify({ staged: release.productVersion });
      }
      throw new XapiFailure('XENAPI_MISSING_PLUGIN', [plugin]);
    },
  });

  registry.register('host.apply_updates', {
    arity: 2,
    async: true,
    handler: async (ctx, args) => {
      const host = stringArg(args, 0);
      stringArg(args, 1);
      // xapi_host.ml apply_updates: refused with HA on; disables the host itself (auto_enable) if it is enabled.
      if (ctx.db.getRecord('pool', ctx.db.poolRef())['ha_enabled'] === true) throw new XapiFailure('HA_IS_ENABLED', []);
      if (hostRecord(ctx.db, host)['enabled'] === true) ctx.db.update('host', host, { enabled: false });
      const update = await stageRelease(ctx, host, 'apply_updates', nextUpdate(ctx.db));
      const guidance = update.guidance ?? 'reboot_host';
      // The host's pending guidance until it is followed (XenServer 8: host.pending_guidances).
      ctx.db.update('host', host, { pending_guidances: [guidance] });
      return [[guidance]];
    },
  });

  registry.register('pool.sync_updates', {
    arity: [1, 4],
    async: true,
    handler: (ctx) => `sim-${nextUpdate(ctx.db).xen ?? ''}`,
  });
}
