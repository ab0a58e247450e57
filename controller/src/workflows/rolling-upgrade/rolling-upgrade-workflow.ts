import { WorkflowHalted } from '../engine/workflow-errors.js';
import type { CompensationContext, StepIo, WorkflowContext, WorkflowKind } from '../engine/workflow-engine.js';
import { planReport, planRollingUpgrade, PlacementState, placeEvacuation, type RollingPlan } from './planner.js';
import { snapshotFromRecords, type PoolRecords, type XapiRecordLike } from './pool-records.js';
import { ConfirmationRequired, upgradeActionNames, upgradeActions, type ActionContext, type UpgradeActionName } from './upgrade-actions.js';
import { CannotEvacuateError, HostBootTimeoutError, StorageNotBackError, UpgradeBlockedError, UpgradeNotUniformError } from './upgrade-errors.js';
import { isTransient, precheckIdsHandledByTheWorkflow, realSleep, xapiCode, type RollingUpgradeDeps, type UpgradeXapi } from './upgrade-ports.js';

export const ROLLING_UPGRADE = 'rolling-upgrade';

export interface RollingUpgradeParams {
  action: UpgradeActionName;
  /** Migrations run at once. */
  maxParallel: number;
  exclude: string[];
  /** Named checks the admin overrides (precheck names, XAPI codes of plan blockers). */
  overrides: string[];
  hostBootTimeoutSeconds: number;
  storageTimeoutSeconds: number;
  pollIntervalMs: number;
  /** Wait for the host's agent to answer after the reboot. */
  agentCheck: boolean;
  /** Action options, e.g. `version` for the simulated upgrade. */
  actionOptions: Record<string, string>;
}

export function normalizeParams(raw: unknown): RollingUpgradeParams {
  const p = (raw ?? {}) as Partial<RollingUpgradeParams>;
  const action = (p.action ?? 'xcp-ng-update') as UpgradeActionName;
  if (!upgradeActionNames.includes(action)) throw new Error(`unknown upgrade action ${String(action)}`);
  return {
    action,
    maxParallel: Math.max(1, Math.min(16, Math.floor(p.maxParallel ?? 2))),
    exclude: [...(p.exclude ?? [])],
    overrides: [...(p.overrides ?? [])],
    hostBootTimeoutSeconds: p.hostBootTimeoutSeconds ?? 1800,
    storageTimeoutSeconds: p.storageTimeoutSeconds ?? 600,
    pollIntervalMs: p.pollIntervalMs ?? 2000,
    agentCheck: p.agentCheck ?? true,
    actionOptions: { ...(p.actionOptions ?? {}) },
  };
}

interface PlannedMove {
  vmRef: string;
  vmUuid: string;
  vm: string;
  toRef: string;
  to: string;
  bytes: number;
  final: boolean;
}

interface PbdBaseline {
  ref: string;
  sr: string;
  attached: boolean;
  /** mpath-<scsiid> -> active path count before the reboot. */
  paths: Record<string, number>;
}

interface Recheck {
  migrations: PlannedMove[];
  pinned: Array<{ vmRef: string; vmUuid: string; vm: string }>;
  baseline: { bootTime: string; agentStartTime: string; version: string; productVersion: string; hotfixes: string[]; pbds: PbdBaseline[] };
  xapiView: Record<string, string[]>;
}

interface MoveOutcome {
  moved: boolean;
  vm: string;
  from: string;
  to: string;
  bytes: number;
  note?: string;
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const strMap = (v: unknown): Record<string, string> => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, string>) : {});

function onlyPool(records: PoolRecords): [string, XapiRecordLike] {
  const entry = Object.entries(records.pool ?? {})[0];
  if (entry === undefined) throw new Error('XAPI returned no pool record');
  return entry;
}

function parsePaths(other: Record<string, string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(other)) {
    const m = /^mpath-.*/.test(k) ? /^\[(\d+),\s*(\d+)\]$/.exec(v) : null;
    if (m !== null) out[k] = Number(m[1]);
  }
  return out;
}

/** Runs `fn` over `items`, at most `limit` at once; the first failure stops new starts and is rethrown. */
async function inParallel<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: unknown;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const item = items[next++] as T;
      try {
        await fn(item);
      } catch (err) {
        failure ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== undefined) throw failure;
}

/** Retries a call while XAPI is unreachable (master rebooting, xapi restarting). */
async function retrying<T>(fn: () => Promise<T>, signal: AbortSignal, sleep: (ms: number, s: AbortSignal) => Promise<void>, timeoutMs = 600_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!isTransient(err) || Date.now() - start > timeoutMs || signal.aborted) throw err;
      await sleep(1000, signal);
    }
  }
}

export function rollingUpgradeKind(deps: RollingUpgradeDeps): WorkflowKind {
  return {
    kind: ROLLING_UPGRADE,
    run: (ctx) => runRollingUpgrade(ctx, deps),
    compensate: (name, args, cctx) => compensate(deps, name, args, cctx),
  };
}

async function runRollingUpgrade(ctx: WorkflowContext, deps: RollingUpgradeDeps): Promise<unknown> {
  const params = normalizeParams(ctx.params);
  const sleep = deps.sleep ?? realSleep;
  const signal = ctx.signal;
  const xapi = await retrying(() => deps.openXapi(ctx.pool, signal), signal, sleep);
  const call = (method: string, args: readonly unknown[]): Promise<unknown> => retrying(() => xapi.call(method, args, signal), signal, sleep);
  try {
    // ---------------------------------------------------------------- backup, prechecks and plan
    if (deps.takeMetadataBackup !== undefined) {
      const backup = await ctx.step('metadata-backup', {
        run: async () => {
          try {
            return { ok: true, ...(await deps.takeMetadataBackup!(ctx.pool, signal)) };
          } catch (err) {
            return { ok: false, error: err instanceof Error ? err.message : String(err) };
          }
        },
      });
      if (!backup.ok) ctx.emit('warning', { message: `no metadata backup: ${'error' in backup ? backup.error : ''}` });
    }
    const prechecks = await ctx.step('prechecks', {
      run: async () => ({ ran: deps.runPrechecks !== undefined, findings: deps.runPrechecks === undefined ? [] : await deps.runPrechecks(ctx.pool, signal) }),
    });
    const precheckBlockers = prechecks.findings.filter((f) => f.severity === 'blocker' && !params.overrides.includes(f.check) && !precheckIdsHandledByTheWorkflow.has(f.check));
    if (precheckBlockers.length > 0) throw new UpgradeBlockedError(precheckBlockers.map((f) => ({ check: f.check, host: f.host, vm: f.vm ?? '', message: f.message })));

    const freshPlan = ctx.outcome('plan') === undefined;
    const plan = await ctx.step<RollingPlan>('plan', {
      run: async () => planRollingUpgrade(snapshotFromRecords(await xapi.readRecords(signal)), { exclude: params.exclude, overrides: params.overrides }),
    });
    if (freshPlan) ctx.emit('plan', planReport(plan) as unknown as Record<string, unknown>);
    if (!plan.runnable) throw new UpgradeBlockedError(plan.blockers.filter((b) => !b.overridden).map((b) => ({ check: b.code, host: b.host, vm: b.vm, message: b.message })));

    // ---------------------------------------------------------------- around the whole run
    const records0 = await retrying(() => xapi.readRecords(signal), signal, sleep);
    const [poolRef, pool] = onlyPool(records0);
    // HA is re-enabled on the SRs holding its statefiles now (or the default SR when XAPI does not say).
    let statefileSrs = ((pool['ha_statefiles'] ?? []) as string[]).map((vdi) => str(records0.VDI?.[vdi]?.['SR'])).filter((sr) => sr !== '');
    if (statefileSrs.length === 0 && records0.SR?.[str(pool['default_SR'])]?.['shared'] === true) statefileSrs = [str(pool['default_SR'])];
    const readPool = async (): Promise<XapiRecordLike> => (await call('pool.get_record', [poolRef])) as XapiRecordLike;

    await ctx.step('pool:disable-ha', {
      intent: { haEnabled: pool['ha_enabled'] === true, srs: statefileSrs, configuration: strMap(pool['ha_configuration']) },
      check: async (recorded) => ((await readPool())['ha_enabled'] === true ? undefined : { wasEnabled: recorded['haEnabled'] === true, srs: recorded['srs'], configuration: recorded['configuration'] }),
      run: async (io) => {
        if (pool['ha_enabled'] !== true) return { wasEnabled: false, srs: [], configuration: {} };
        await xapi.callAsync('pool.disable_ha', [], { signal, onTask: (task) => io.note({ task }) });
        return { wasEnabled: true, srs: statefileSrs, configuration: strMap(pool['ha_configuration']) };
      },
      compensation: (o) => (o.wasEnabled ? { name: 'restore-ha', args: { srs: o.srs, configuration: o.configuration } } : undefined),
    });
    await ctx.step('pool:disable-wlb', {
      intent: { wlbEnabled: pool['wlb_enabled'] === true },
      check: async (recorded) => ((await readPool())['wlb_enabled'] === true ? undefined : { wasEnabled: recorded['wlbEnabled'] === true }),
      run: async () => {
        if (pool['wlb_enabled'] !== true) return { wasEnabled: false };
        await call('pool.set_wlb_enabled', [poolRef, false]);
        return { wasEnabled: true };
      },
      compensation: (o) => (o.wasEnabled ? { name: 'restore-wlb', args: {} } : undefined),
    });
    // Auto power-on would start halted VMs on each host as it boots, behind the plan's back.
    await ctx.step('pool:auto-poweron-off', {
      intent: { autoPowerOn: strMap(pool['other_config'])['auto_poweron'] === 'true' },
      check: async (recorded) => (strMap((await readPool())['other_config'])['auto_poweron'] === 'true' ? undefined : { wasOn: recorded['autoPowerOn'] === true }),
      run: async () => {
        if (strMap(pool['other_config'])['auto_poweron'] !== 'true') return { wasOn: false };
        await call('pool.remove_from_other_config', [poolRef, 'auto_poweron']);
        return { wasOn: true };
      },
      compensation: (o) => (o.wasOn ? { name: 'restore-auto-poweron', args: {} } : undefined),
    });

    // ---------------------------------------------------------------- host by host
    const order = plan.hosts.filter((h) => h.action === 'upgrade').sort((a, b) => a.order - b.order);
    const action = upgradeActions[params.action];
    const moves: Array<MoveOutcome & { step: number }> = [];
    const hostResults: Array<{ name: string; order: number; versionBefore: string; versionAfter: string }> = [];

    for (const [index, host] of order.entries()) {
      const key = `host:${host.uuid}`;
      ctx.safePoint();
      if (ctx.outcome(`${key}:recheck`) === undefined) ctx.emit('host-started', { host: host.name, order: host.order, total: order.length });

      // 1. can it still be emptied, and where does each VM go now?
      const recheck = await ctx.step<Recheck>(`${key}:recheck`, {
        host: host.name,
        intent: { order: host.order },
        run: async () => {
          const records = await retrying(() => xapi.readRecords(signal), signal, sleep);
          const snap = snapshotFromRecords(records);
          const me = snap.hosts.find((h) => h.ref === host.ref);
          if (me === undefined) throw new CannotEvacuateError(host.name, ['the host is no longer in the pool']);
          if (!me.live) throw new CannotEvacuateError(host.name, ['the host is not live']);
          const upgraded = new Set(plan.hosts.filter((h) => h.action === 'done').map((h) => h.ref));
          for (const h of order.slice(0, index)) upgraded.add(h.ref);
          const laterPosition = new Map(order.slice(index + 1).map((h, i) => [h.ref, i + 1]));
          const excluded = new Set(plan.hosts.filter((h) => h.action === 'excluded').map((h) => h.ref));
          const planned = plan.steps.find((s) => s.hostRef === host.ref);
          const pinned = new Set(planned?.pinned.map((p) => p.vmRef) ?? []);
          const preferred = new Map((planned?.migrations ?? []).map((m) => [m.vmRef, m.toRef]));
          const placement = placeEvacuation(new PlacementState(snap), host.ref, { upgraded, laterPosition, excluded }, pinned, preferred);
          const refused = placement.unplaced.filter((u) => !params.overrides.includes(u.code));
          if (refused.length > 0) throw new CannotEvacuateError(host.name, refused.map((u) => `${u.vm.name}: ${u.code}`));
          for (const u of placement.unplaced) pinned.add(u.vm.ref);
          const xapiView = (await call('host.get_vms_which_prevent_evacuation', [host.ref])) as Record<string, string[]>;
          const pbds = Object.entries(records.PBD ?? {})
            .filter(([, p]) => p['host'] === host.ref)
            .map(([ref, p]): PbdBaseline => ({ ref, sr: str(p['SR']), attached: p['currently_attached'] === true, paths: parsePaths(strMap(p['other_config'])) }));
          const vmName = (ref: string): string => snap.vms.find((v) => v.ref === ref)?.name ?? ref;
          return {
            migrations: placement.migrations.map((m) => ({ vmRef: m.vm.ref, vmUuid: m.vm.uuid, vm: m.vm.name, toRef: m.toRef, to: snap.hosts.find((h) => h.ref === m.toRef)?.name ?? m.toRef, bytes: m.vm.migrateBytes, final: m.final })),
            pinned: [...pinned].map((ref) => ({ vmRef: ref, vmUuid: snap.vms.find((v) => v.ref === ref)?.uuid ?? ref, vm: vmName(ref) })),
            baseline: { bootTime: me.otherConfig['boot_time'] ?? '', agentStartTime: me.otherConfig['agent_start_time'] ?? '', version: me.version, productVersion: me.productVersion, hotfixes: me.hotfixes, pbds },
            xapiView,
          };
        },
      });
      if (ctx.outcome(`${key}:disable`) === undefined) {
        // XAPI's own evacuation check, for the admin: reasons other than memory that we did not plan for.
        const pinnedRefs = new Set(recheck.pinned.map((p) => p.vmRef));
        const surprises = Object.entries(recheck.xapiView).filter(([vm, why]) => !pinnedRefs.has(vm) && !['HOST_NOT_ENOUGH_FREE_MEMORY', 'NO_HOSTS_AVAILABLE'].includes(why[0] ?? ''));
        if (surprises.length > 0) ctx.emit('warning', { host: host.name, message: `XAPI reports ${surprises.map(([vm, why]) => `${vm}: ${why.join(',')}`).join('; ')}` });
      }
      const deviating = recheck.migrations.filter((m) => plan.migrations.some((p) => p.vmRef === m.vmRef && p.step === host.order && p.toRef !== m.toRef));
      if (deviating.length > 0 && ctx.outcome(`${key}:disable`) === undefined) ctx.emit('plan-adjusted', { host: host.name, moves: deviating.map((m) => `${m.vm} -> ${m.to}`) });

      // 2. no new VMs on it
      await ctx.step(`${key}:disable`, {
        host: host.name,
        check: async () => (((await call('host.get_record', [host.ref])) as XapiRecordLike)['enabled'] === true ? undefined : { disabled: true }),
        run: async () => {
          await call('host.disable', [host.ref]);
          return { disabled: true };
        },
        compensation: () => ({ name: `enable-host:${host.uuid}`, args: { hostRef: host.ref, host: host.name } }),
      });

      const waitVmIdle = async (vmRef: string): Promise<void> => {
        const start = Date.now();
        for (;;) {
          const ops = strMap(await call('VM.get_current_operations', [vmRef]));
          if (Object.keys(ops).length === 0) return;
          if (Date.now() - start > 3_600_000) throw new CannotEvacuateError(host.name, [`VM ${vmRef} stays busy with ${Object.values(ops).join(', ')}`]);
          await sleep(params.pollIntervalMs, signal);
        }
      };

      // 3. its VMs to their planned destinations, several at once
      await inParallel(recheck.migrations, params.maxParallel, async (m) => {
        const outcome = await ctx.step<MoveOutcome>(`${key}:migrate:${m.vmUuid}`, {
          host: host.name,
          intent: { vm: m.vm, from: host.name, to: m.to, bytes: m.bytes },
          check: async (recorded, io) => {
            const task = recorded['task'];
            if (typeof task === 'string') {
              const status = await xapi.taskStatus(task, signal);
              if (status?.status === 'pending') await xapi.awaitTask(task, { signal, onProgress: (f) => io.progress({ phase: 'migrate', vm: m.vm, to: m.to, fraction: f }) }).catch(() => undefined);
            }
            // The controller may have died after XAPI started the migration but before noting its
            // task: while the VM is busy, wait for that operation to end, then look where it is.
            await waitVmIdle(m.vmRef);
            const vm = (await call('VM.get_record', [m.vmRef])) as XapiRecordLike;
            const where = str(vm['resident_on']);
            if (vm['power_state'] === 'Running' && where === m.toRef) return { moved: true, vm: m.vm, from: host.name, to: m.to, bytes: m.bytes };
            if (vm['power_state'] !== 'Running' || where !== host.ref) return { moved: false, vm: m.vm, from: host.name, to: m.to, bytes: 0, note: `not moved: the VM is ${String(vm['power_state'])} elsewhere` };
            return undefined;
          },
          run: async (io) => {
            const vm = (await call('VM.get_record', [m.vmRef])) as XapiRecordLike;
            if (vm['power_state'] !== 'Running' || str(vm['resident_on']) !== host.ref) return { moved: false, vm: m.vm, from: host.name, to: m.to, bytes: 0, note: `not moved: the VM is ${String(vm['power_state'])} elsewhere` };
            io.progress({ phase: 'migrate', vm: m.vm, to: m.to, fraction: 0 });
            await xapi.callAsync('VM.pool_migrate', [m.vmRef, m.toRef, { live: 'true' }], {
              signal,
              onTask: (task) => io.note({ task }),
              onProgress: (f) => io.progress({ phase: 'migrate', vm: m.vm, to: m.to, fraction: f }),
            });
            return { moved: true, vm: m.vm, from: host.name, to: m.to, bytes: m.bytes };
          },
        });
        if (outcome.moved) moves.push({ ...outcome, step: host.order });
      });

      // VMs that cannot leave (overridden blockers): shut down now, started again after.
      for (const p of recheck.pinned) {
        await ctx.step(`${key}:shutdown:${p.vmUuid}`, {
          host: host.name,
          intent: { vm: p.vm },
          check: async () => (((await call('VM.get_record', [p.vmRef])) as XapiRecordLike)['power_state'] === 'Running' ? undefined : { halted: true }),
          run: async () => {
            const vm = (await call('VM.get_record', [p.vmRef])) as XapiRecordLike;
            if (vm['power_state'] === 'Running') await xapi.callAsync('VM.clean_shutdown', [p.vmRef], { signal });
            return { halted: true, wasRunning: vm['power_state'] === 'Running' };
          },
          compensation: () => ({ name: `start-vm:${p.vmUuid}`, args: { vmRef: p.vmRef, hostRef: host.ref, vm: p.vm } }),
        });
      }

      // 4. the upgrade itself
      const actionCtx = (io: StepIo): ActionContext => ({ xapi, poolRef, io, options: params.actionOptions, confirmedAfter: (since) => ctx.resumedSince(since) });
      await ctx.step(`${key}:action`, {
        host: host.name,
        intent: { action: action.name },
        check: (recorded, io) => action.check(host, recorded, actionCtx(io)),
        run: async (io) => {
          try {
            return await action.run(host, actionCtx(io));
          } catch (err) {
            if (err instanceof ConfirmationRequired) {
              ctx.emit('confirmation-required', { host: host.name, message: err.instructions });
              throw new WorkflowHalted('paused');
            }
            throw err;
          }
        },
      });

      // 5. reboot
      const base = recheck.baseline;
      const hostState = async (): Promise<{ host: XapiRecordLike; live: boolean }> => {
        const h = (await xapi.call('host.get_record', [host.ref], signal)) as XapiRecordLike;
        const metrics = str(h['metrics']);
        const m = metrics === '' ? undefined : ((await xapi.call('host_metrics.get_record', [metrics], signal)) as XapiRecordLike);
        return { host: h, live: m?.['live'] === true };
      };
      const rebooted = (h: XapiRecordLike): boolean => {
        const oc = strMap(h['other_config']);
        return base.bootTime !== '' ? (oc['boot_time'] ?? '') !== base.bootTime : (oc['agent_start_time'] ?? '') !== base.agentStartTime;
      };
      await ctx.step(`${key}:reboot`, {
        host: host.name,
        check: async () => {
          const s = await retrying(hostState, signal, sleep);
          const ops = Object.values(strMap(s.host['current_operations']));
          return rebooted(s.host) || !s.live || ops.includes('shutdown') ? { requested: true } : undefined;
        },
        run: async () => {
          if (!action.rebootAfter) return { requested: false, note: 'the installer rebooted the host' };
          const records = await retrying(() => xapi.readRecords(signal), signal, sleep);
          const still = Object.values(records.VM ?? {}).filter((v) => v['resident_on'] === host.ref && v['is_control_domain'] !== true && v['power_state'] === 'Running');
          if (still.length > 0) throw new CannotEvacuateError(host.name, [`still running before the reboot: ${still.map((v) => str(v['name_label'])).join(', ')}`]);
          await call('host.reboot', [host.ref]);
          return { requested: true };
        },
      });

      // 6. back: boot_time (or agent_start_time) changed, live, agent answering
      const backCheck = async (): Promise<{ ok: boolean; message: string; outcome?: Record<string, unknown> }> => {
        let s: { host: XapiRecordLike; live: boolean };
        try {
          s = await hostState();
        } catch (err) {
          if (isTransient(err)) return { ok: false, message: `XAPI is not answering (${xapiCode(err)})${host.role === 'master' ? ': the master is restarting' : ''}` };
          throw err;
        }
        if (!rebooted(s.host)) return { ok: false, message: s.live ? 'not rebooted yet' : 'going down' };
        if (!s.live) return { ok: false, message: 'booted, XAPI not live yet' };
        if (params.agentCheck && deps.probeAgent !== undefined) {
          try {
            await deps.probeAgent(ctx.pool, { uuid: host.uuid, name: host.name, address: str(s.host['address']) }, signal);
          } catch (err) {
            return { ok: false, message: `live, waiting for its agent (${err instanceof Error ? err.message : String(err)})` };
          }
        }
        const sv = strMap(s.host['software_version']);
        return { ok: true, message: 'back', outcome: { bootTime: strMap(s.host['other_config'])['boot_time'] ?? '', version: sv['platform_version'] ?? sv['product_version'] ?? '', productVersion: sv['product_version'] ?? '' } };
      };
      await ctx.step(`${key}:wait-boot`, {
        host: host.name,
        check: async () => (await backCheck()).outcome,
        run: async (io) => {
          const start = Date.now();
          let last = '';
          for (;;) {
            const r = await backCheck();
            if (r.ok) return { ...r.outcome, waitedSeconds: Math.round((Date.now() - start) / 1000) };
            const waited = Math.round((Date.now() - start) / 1000);
            if (r.message !== last) ctx.emit('waiting', { host: host.name, message: r.message, waitedSeconds: waited }, { persist: false });
            last = r.message;
            io.progress({ phase: 'wait-boot', message: r.message, waitedSeconds: waited, timeoutSeconds: params.hostBootTimeoutSeconds });
            if (waited >= params.hostBootTimeoutSeconds) throw new HostBootTimeoutError(host.name, waited, r.message);
            await sleep(params.pollIntervalMs, signal);
          }
        },
      });

      // 7. storage back: PBDs plugged, multipath paths as many as before
      const storageCheck = async (): Promise<string[]> => {
        const missing: string[] = [];
        for (const pbd of base.pbds) {
          if (!pbd.attached) continue;
          const now = (await xapi.call('PBD.get_record', [pbd.ref], signal)) as XapiRecordLike;
          if (now['currently_attached'] !== true) {
            missing.push(`PBD of SR ${pbd.sr} not plugged`);
            continue;
          }
          const paths = parsePaths(strMap(now['other_config']));
          for (const [lun, before] of Object.entries(pbd.paths)) if ((paths[lun] ?? 0) < before) missing.push(`${lun}: ${paths[lun] ?? 0} of ${before} paths`);
        }
        return missing;
      };
      await ctx.step(`${key}:storage`, {
        host: host.name,
        check: async () => ((await retrying(storageCheck, signal, sleep)).length === 0 ? { pbds: base.pbds.length } : undefined),
        run: async (io) => {
          const start = Date.now();
          for (;;) {
            const missing = await retrying(storageCheck, signal, sleep);
            if (missing.length === 0) return { pbds: base.pbds.length };
            const waited = Math.round((Date.now() - start) / 1000);
            io.progress({ phase: 'storage', message: missing.join('; '), waitedSeconds: waited });
            if (waited >= params.storageTimeoutSeconds) throw new StorageNotBackError(host.name, missing);
            await sleep(params.pollIntervalMs, signal);
          }
        },
      });

      // 8. enable
      const enableFresh = ctx.outcome(`${key}:enable`) === undefined;
      await ctx.step(`${key}:enable`, {
        host: host.name,
        check: async () => (((await call('host.get_record', [host.ref])) as XapiRecordLike)['enabled'] === true ? { enabled: true } : undefined),
        run: async () => {
          await call('host.enable', [host.ref]);
          return { enabled: true };
        },
        releases: [`enable-host:${host.uuid}`],
      });
      for (const p of recheck.pinned) {
        await ctx.step(`${key}:start:${p.vmUuid}`, {
          host: host.name,
          intent: { vm: p.vm },
          check: async () => (((await call('VM.get_record', [p.vmRef])) as XapiRecordLike)['power_state'] === 'Running' ? { started: true } : undefined),
          run: async () => {
            await retrying(() => xapi.callAsync('VM.start_on', [p.vmRef, host.ref, false, false], { signal }), signal, sleep);
            return { started: true };
          },
          releases: [`start-vm:${p.vmUuid}`],
        });
      }
      const after = (await call('host.get_record', [host.ref])) as XapiRecordLike;
      const sv = strMap(after['software_version']);
      hostResults.push({ name: host.name, order: host.order, versionBefore: base.productVersion || base.version, versionAfter: sv['product_version'] ?? sv['platform_version'] ?? '' });
      if (enableFresh) ctx.emit('host-done', { host: host.name, order: host.order, total: order.length, version: sv['product_version'] ?? '' }, { persist: false });
    }

    // ---------------------------------------------------------------- same version and hotfixes everywhere
    const uniformity = await ctx.step('uniformity', {
      run: async () => {
        const snap = snapshotFromRecords(await retrying(() => xapi.readRecords(signal), signal, sleep));
        const describeHost = (h: (typeof snap.hosts)[number]): string => `${h.productBrand} ${h.productVersion} build ${h.buildNumber} [${h.hotfixes.join(', ')}]`;
        const excluded = new Set(plan.hosts.filter((h) => h.action === 'excluded').map((h) => h.ref));
        const states = Object.fromEntries(snap.hosts.map((h) => [h.name, describeHost(h)]));
        const reference = snap.hosts.find((h) => h.ref === snap.masterRef);
        const differences = snap.hosts.filter((h) => reference !== undefined && describeHost(h) !== describeHost(reference)).map((h) => `${h.name}: ${describeHost(h)} (master: ${describeHost(reference!)})`);
        const unexplained = snap.hosts.filter((h) => !excluded.has(h.ref) && reference !== undefined && describeHost(h) !== describeHost(reference));
        return { uniform: differences.length === 0, hosts: states, differences, unexplained: unexplained.map((h) => h.name) };
      },
    });
    if (uniformity.unexplained.length > 0) throw new UpgradeNotUniformError(uniformity.differences);
    if (!uniformity.uniform) ctx.emit('warning', { message: `excluded hosts keep their version: ${uniformity.differences.join('; ')}` });

    return {
      pool: ctx.pool,
      action: params.action,
      hosts: hostResults,
      moves,
      pinned: plan.steps.flatMap((s) => s.pinned.map((p) => ({ vm: p.vm, host: p.host }))),
      excluded: plan.hosts.filter((h) => h.action === 'excluded').map((h) => h.name),
      totals: {
        migratedBytes: moves.reduce((s, m) => s + m.bytes, 0),
        migrations: moves.length,
        plannedBytes: plan.totals.migratedBytes,
        lowerBoundBytes: plan.totals.lowerBoundBytes,
        masterTwiceBoundBytes: plan.totals.achievableLowerBoundBytes,
      },
      uniformity,
    };
  } finally {
    await xapi.close().catch(() => undefined);
  }
}

async function compensate(deps: RollingUpgradeDeps, name: string, args: Record<string, unknown>, ctx: CompensationContext): Promise<void> {
  const sleep = deps.sleep ?? realSleep;
  const xapi: UpgradeXapi = await retrying(() => deps.openXapi(ctx.pool, ctx.signal), ctx.signal, sleep, 120_000);
  const call = (method: string, a: readonly unknown[]): Promise<unknown> => retrying(() => xapi.call(method, a, ctx.signal), ctx.signal, sleep, 120_000);
  try {
    const [poolRef] = onlyPool({ pool: (await call('pool.get_all_records', [])) as Record<string, XapiRecordLike> });
    const pool = (): Promise<XapiRecordLike> => call('pool.get_record', [poolRef]) as Promise<XapiRecordLike>;
    if (name === 'restore-ha') {
      if ((await pool())['ha_enabled'] === true) return;
      await retrying(() => xapi.callAsync('pool.enable_ha', [args['srs'] ?? [], args['configuration'] ?? {}], { signal: ctx.signal }), ctx.signal, sleep, 120_000);
    } else if (name === 'restore-wlb') {
      if ((await pool())['wlb_enabled'] === true) return;
      await call('pool.set_wlb_enabled', [poolRef, true]);
    } else if (name === 'restore-auto-poweron') {
      if (strMap((await pool())['other_config'])['auto_poweron'] === 'true') return;
      await call('pool.add_to_other_config', [poolRef, 'auto_poweron', 'true']);
    } else if (name.startsWith('enable-host:')) {
      const ref = str(args['hostRef']);
      const h = (await call('host.get_record', [ref])) as XapiRecordLike;
      if (h['enabled'] === true) return;
      try {
        await call('host.enable', [ref]);
      } catch (err) {
        throw new Error(`${str(args['host'])} stays disabled: ${xapiCode(err) || (err instanceof Error ? err.message : String(err))}`, { cause: err });
      }
    } else if (name.startsWith('start-vm:')) {
      const vm = (await call('VM.get_record', [str(args['vmRef'])])) as XapiRecordLike;
      if (vm['power_state'] === 'Running') return;
      await xapi.callAsync('VM.start_on', [str(args['vmRef']), str(args['hostRef']), false, false], { signal: ctx.signal });
    } else {
      throw new Error(`unknown compensation ${name}`);
    }
  } finally {
    await xapi.close().catch(() => undefined);
  }
}
