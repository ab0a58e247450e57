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
  hostFreeMemory,
  hostIsLive,
  hostRecord,
  invalidateSessions,
  matches,
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
import { compareVersions } from '@xsctl/controller/workflows/rolling-upgrade/pool-records';

/**
 * host.* operations of a rolling upgrade, with XAPI's semantics and error codes:
 * disable/enable (HOST_OFFLINE, HOST_DISABLED_UNTIL_REBOOT), evacuate and its planning
 * (compute_evacuation_plan: enabled hosts of the same or newer version, storage visibility, a
 * memory bin-pack; CANNOT_EVACUATE_HOST, HOST_NOT_ENOUGH_FREE_MEMORY, VM_REQUIRES_SR,
 * NO_HOSTS_AVAILABLE), reboot (HOST_NOT_DISABLED; the host goes down after XAPI's 10 s delay, the
 * master's sessions end and logins answer HOST_STILL_BOOTING until it is back; boot_time and
 * agent_start_time change; PBDs replug; xapi re-enables the host), and the update actions
 * (updater.py, apply_updates, a simulated upgrade) that stage a release applied at boot.
 */

type EvacuationPlan = Map<string, { host: string } | { error: XapiFailure }>;

/** XAPI's compute_evacuation_plan_no_wlb, with a worst-fit-decreasing memory bin-pack. */
export function computeEvacuationPlan(db: XapiDb, hostRef: string): EvacuationPlan {
  const plan: EvacuationPlan = new Map();
  const source = hostRecord(db, hostRef);
  const targets = db
    .refs('host')
    .filter((h) => h !== hostRef && hostRecord(db, h)['enabled'] === true && hostIsLive(db, h))
    // PR-1007: during a rolling upgrade VMs only go to hosts of the same or a newer version.
    .filter((h) => compareVersions(platformVersion(hostRecord(db, h)), platformVersion(source)) >= 0);
  const guests = runningGuests(db, hostRef);
  if (targets.length === 0) {
    for (const [vm] of guests) plan.set(vm, { error: new XapiFailure('NO_HOSTS_AVAILABLE', [vm]) });
    return plan;
  }
  const free = new Map(targets.map((h) => [h, hostFreeMemory(db, h)]));
  const migratable: Array<[string, XapiRecord]> = [];
  for (const [vm, record] of guests) {
    const blocked = (record['blocked_operations'] ?? {}) as Record<string, string>;
    if ('pool_migrate' in blocked) {
      plan.set(vm, { error: new XapiFailure('OPERATION_BLOCKED', [vm, blocked['pool_migrate'] ?? '']) });
      continue;
    }
    if (Object.keys(currentOperations(record)).length > 0) {
      plan.set(vm, { error: new XapiFailure('OTHER_OPERATION_IN_PROGRESS', ['VM', vm]) });
      continue;
    }
    // A VM must be able to boot on every target (storage), as XAPI checks before bin-packing.
    const storage = targets.map((t) => bootHereError(db, vm, t)).find((e) => e !== undefined);
    if (storage !== undefined) {
      plan.set(vm, { error: storage });
      continue;
    }
    migratable.push([vm, record]);
  }
  migratable.sort((a, b) => vmRequiredBytes(b[1]) - vmRequiredBytes(a[1]) || a[0].localeCompare(b[0]));
  for (const [vm, record] of migratable) {
    const need = vmRequiredBytes(record);
    const best = [...free.entries()].filter(([, f]) => f >= need).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0];
    if (best === undefined) {
      plan.set(vm, { error: new XapiFailure('HOST_NOT_ENOUGH_FREE_MEMORY', [vm]) });
      continue;
    }
    free.set(best[0], best[1] - need);
    plan.set(vm, { host: best[0] });
  }
  return plan;
}

function withHostOperation<T>(ctx: MethodContext, hostRef: string, op: string, run: () => Promise<T> | T): Promise<T> {
  const host = hostRecord(ctx.db, hostRef);
  const ops = currentOperations(host);
  if (Object.keys(ops).length > 0) throw new XapiFailure('OTHER_OPERATION_IN_PROGRESS', ['host', hostRef, Object.values(ops)[0] ?? '']);
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
  const release: Release = { productVersion: product, platformVersion: platform, buildNumber: `sim-${product}`, hotfixes: [...hotfixes, `SIM-${product}-001`] };
  upgradeSimState(db).config.release = release;
  return release;
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

function assertHaDisabledForUpgrade(db: XapiDb): void {
  // Modelling choice: like XenCenter's rolling-upgrade precheck, an upgrade refuses to start with HA on.
  if (db.getRecord('pool', db.poolRef())['ha_enabled'] === true) throw new XapiFailure('HA_IS_ENABLED', []);
}

async function stageRelease(ctx: MethodContext, hostRef: string, what: string): Promise<Release> {
  assertHostLive(ctx.db, hostRef);
  assertHaDisabledForUpgrade(ctx.db);
  const release = nextRelease(ctx.db);
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
    software_version: { ...softwareVersion(host), product_version: release.productVersion, platform_version: release.platformVersion, build_number: release.buildNumber },
  });
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

/** The host goes down now: guests still on it die, its storage detaches, the master's xapi stops. */
function goDown(db: XapiDb, hostRef: string): void {
  const host = hostRecord(db, hostRef);
  const metrics = host['metrics'];
  if (isLiveRef(metrics) && db.has('host_metrics', metrics)) db.update('host_metrics', metrics, { live: false });
  for (const [vm] of runningGuests(db, hostRef)) {
    // A guest left on a host that reboots is gone: XAPI resets it to Halted.
    db.update('VM', vm, { power_state: 'Halted', resident_on: NULL_REF, scheduled_to_be_resident_on: NULL_REF, current_operations: {} });
    simLog(db, `VM ${vm} halted: its host rebooted`);
  }
  setPbdsAttached(db, hostRef, false, false);
  if (hostRef === db.masterRef()) {
    const state = upgradeSimState(db);
    state.masterDown = true;
    invalidateSessions(db);
  }
}

async function rebootInBackground(db: XapiDb, hostRef: string): Promise<void> {
  const state = upgradeSimState(db);
  const cfg = state.config;
  const name = String(hostRecord(db, hostRef)['name_label']);
  try {
    await simSleep(db, cfg.shutdownDelayMs);
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
    const metrics = hostRecord(db, hostRef)['metrics'];
    if (isLiveRef(metrics) && db.has('host_metrics', metrics)) db.update('host_metrics', metrics, { live: true, last_updated: formatXapiDate(db.clock.now()) });
    db.update('host', hostRef, { other_config: { ...((hostRecord(db, hostRef)['other_config'] ?? {}) as Record<string, string>), agent_start_time: `${agentStart}.` } });
    if (hostRef === db.masterRef()) state.masterDown = false;
    state.disabledUntilReboot.delete(hostRef);
    state.rebooting.delete(hostRef);
    syncRollingUpgradeFlag(db);
    await simSleep(db, cfg.storageMs);
    setPbdsAttached(db, hostRef, true, matches(db, 'host', hostRef, state.faults.missingPaths));
    refreshMemoryFree(db, hostRef);
    autoPowerOn(db, hostRef);
    // xapi enables the host once its storage is plugged (consider_enabling_host).
    db.update('host', hostRef, { enabled: true });
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

export function registerHostUpgradeMethods(registry: MethodRegistry): void {
  registry.register('host.disable', {
    arity: 1,
    async: true,
    handler: (ctx, args) => {
      const host = stringArg(args, 0);
      assertHostLive(ctx.db, host);
      if (hostRecord(ctx.db, host)['enabled'] === true) ctx.db.update('host', host, { enabled: false });
    },
  });

  registry.register('host.enable', {
    arity: 1,
    async: true,
    handler: (ctx, args) => {
      const host = stringArg(args, 0);
      assertHostLive(ctx.db, host);
      if (hostRecord(ctx.db, host)['enabled'] === true) return;
      if (upgradeSimState(ctx.db).disabledUntilReboot.has(host)) throw new XapiFailure('HOST_DISABLED_UNTIL_REBOOT', [host]);
      ctx.db.update('host', host, { enabled: true });
    },
  });

  registry.register('host.compute_free_memory', {
    arity: 1,
    handler: (ctx, args) => hostFreeMemory(ctx.db, stringArg(args, 0)),
  });

  registry.register('host.get_vms_which_prevent_evacuation', {
    arity: 1,
    async: true,
    handler: (ctx, args) => {
      const out: Record<string, string[]> = {};
      for (const [vm, p] of computeEvacuationPlan(ctx.db, stringArg(args, 0))) if ('error' in p) out[vm] = [p.error.code, ...p.error.params];
      return out;
    },
  });

  registry.register('host.assert_can_evacuate', {
    arity: 1,
    async: true,
    handler: (ctx, args) => {
      const errors = [...computeEvacuationPlan(ctx.db, stringArg(args, 0)).values()].flatMap((p) => ('error' in p ? [[p.error.code, ...p.error.params].join(',')] : []));
      if (errors.length > 0) throw new XapiFailure('CANNOT_EVACUATE_HOST', [errors.join('|')]);
    },
  });

  registry.register('host.evacuate', {
    arity: 1,
    async: true,
    handler: async (ctx, args) => {
      const host = stringArg(args, 0);
      assertHostLive(ctx.db, host);
      await withHostOperation(ctx, host, 'evacuate', async () => {
        const plan = computeEvacuationPlan(ctx.db, host);
        for (const p of plan.values()) if ('error' in p) throw p.error;
        const moves = [...plan.entries()].flatMap(([vm, p]) => ('host' in p ? [[vm, p.host] as const] : []));
        const batch = Math.max(1, upgradeSimState(ctx.db).config.evacuateBatchSize);
        let done = 0;
        for (let i = 0; i < moves.length; i += batch) {
          await Promise.all(
            moves.slice(i, i + batch).map(async ([vm, to]) => {
              await migrateVm(ctx, vm, to);
              done++;
              ctx.task?.setProgress(done / moves.length);
            }),
          );
        }
        const left = runningGuests(ctx.db, host).length;
        if (left > 0) throw new XapiFailure('INTERNAL_ERROR', [`evacuate: ${left} VMs are still resident on ${host}`]);
      });
    },
  });

  registry.register('host.reboot', {
    arity: 1,
    async: true,
    handler: (ctx, args) => {
      const host = stringArg(args, 0);
      assertHostLive(ctx.db, host);
      const state = upgradeSimState(ctx.db);
      if (state.rebooting.has(host)) throw new XapiFailure('OTHER_OPERATION_IN_PROGRESS', ['host', host, 'shutdown']);
      if (hostRecord(ctx.db, host)['enabled'] === true) throw new XapiFailure('HOST_NOT_DISABLED', []);
      state.rebooting.add(host);
      state.disabledUntilReboot.add(host);
      state.stats.reboots++;
      ctx.db.update('host', host, { current_operations: { ...currentOperations(hostRecord(ctx.db, host)), [ctx.task?.ref ?? 'OpaqueRef:reboot']: 'shutdown' } });
      simLog(ctx.db, `${String(hostRecord(ctx.db, host)['name_label'])} rebooting`);
      void rebootInBackground(ctx.db, host);
    },
  });

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
          const release = nextRelease(ctx.db);
          const current = softwareVersion(hostRecord(ctx.db, host))['product_version'] ?? '';
          const staged = upgradeSimState(ctx.db).staged.has(host);
          return JSON.stringify(current === release.productVersion || staged ? [] : [{ name: 'xapi-core', version: release.productVersion, release: '1', arch: 'x86_64', fullName: `xapi-core-${release.productVersion}-1.x86_64` }]);
        }
        if (fn === 'update') {
          const release = await stageRelease(ctx, host, 'updater.py update');
          return `Installed: xapi-core-${release.productVersion}\nComplete!\n`;
        }
        throw new XapiFailure('XENAPI_PLUGIN_FAILURE', [fn, 'UnknownFunction', `updater.py has no function ${fn}`]);
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
      await stageRelease(ctx, host, 'apply_updates');
      return [];
    },
  });

  registry.register('pool.sync_updates', {
    arity: [1, 4],
    async: true,
    handler: (ctx) => `sim-${nextRelease(ctx.db).productVersion}`,
  });
}
