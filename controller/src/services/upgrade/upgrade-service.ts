import { xapiTransportOf } from '../../config/inventory.js';
import { HostServiceDefinition } from '@xsctl/proto/gen/xsctl/agent/v1/host';
import { PrecheckSeverity } from '@xsctl/proto/gen/xsctl/agent/v1/precheck';
import type { UpgradeOptions, UpgradePlan, UpgradeServiceImplementation, UpgradeWorkflow } from '@xsctl/proto/gen/xsctl/controller/v1/upgrade';
import { NotFoundError, ValidationError, XsctlError } from '@xsctl/common/errors/index';
import { peerIdentity } from '@xsctl/common/grpc/index';
import { signalWithin } from '@xsctl/common/signals/index';
import type { ControllerContext } from '../../server/controller-context.js';
import { killHookFromEnv } from '../../workflows/engine/kill-hook.js';
import { WorkflowEngine } from '../../workflows/engine/workflow-engine.js';
import type { WorkflowRow } from '../../workflows/engine/workflow-store.js';
import { planMessage, planReport, planRollingUpgrade, PlanInputError, type RollingPlan } from '../../placement/index.js';
import { buildPoolModel, memoryPolicies, readPoolInput, type MemoryPolicy } from '../../pool-model/index.js';
import {
  defaultHostStages,
  normalizeParams,
  precheckIdsHandledByTheWorkflow,
  rollingUpgradeKind,
  ROLLING_UPGRADE,
  upgradeActionNames,
  type PrecheckFinding,
  type RollingUpgradeDeps,
  type RollingUpgradeParams,
  type UpgradeActionName,
} from '../../workflows/rolling-upgrade/index.js';
import { dom0GrowthFor } from '../../workflows/rolling-upgrade/phases/dom0-growth.js';
import { backupDir, takeMetadataBackup } from '../../prechecks/metadata-backup.js';
import { runPoolPrechecks } from '../precheck/run-pool-prechecks.js';
import { toWorkflowView, workflowEvents } from './upgrade-events.js';
import { observeWorkflowMetrics } from '../../metrics/workflow-metrics.js';
import { failoverKind } from '../../workflows/storage/failover-workflow.js';
import { switchoverKind } from '../../workflows/storage/switchover-workflow.js';
import { reassertKind } from '../../workflows/storage/reassert-workflow.js';
import { setupVaultFor, storageSetupKind } from '../../workflows/storage-setup/storage-setup-workflow.js';
import { ConfirmationRequiredError } from '../confirmation-required-error.js';
import { multipathRolloutDeps, multipathRolloutKind } from '../../workflows/multipath-rollout/multipath-rollout-workflow.js';
import { storageHostStages, storageUpgradeHook } from '../../workflows/storage/upgrade-storage-hook.js';

/** The plan cannot be made at all (nothing to upgrade, unknown host). */
class PlanRefusedError extends XsctlError {
  readonly code = 'PRECONDITION_FAILED';
}

const engines = new WeakMap<ControllerContext, WorkflowEngine>();

/** How long a rebooted host's agent has to answer GetFacts (its client's retries included). */
export const agentProbeMs = 10_000;

export function upgradeDeps(ctx: ControllerContext): RollingUpgradeDeps {
  // Two-node pools serving their own storage: switch it away before a host goes down, back after.
  const storage = storageUpgradeHook(ctx);
  const stages = storageHostStages(ctx, storage);
  return {
    openXapi: (pool, signal) => ctx.openXapi(ctx.pool(pool), { readOnly: false, signal }),
    hostStages: [stages.before, ...defaultHostStages, stages.after],
    compensateStage: (name, args, c) => storage.compensate(name, args, c),
    runPrechecks: async (pool, signal) => {
      const report = await runPoolPrechecks(ctx, pool, {}, signal);
      const severity = (s: PrecheckSeverity): PrecheckFinding['severity'] => (s === PrecheckSeverity.PRECHECK_SEVERITY_BLOCKER ? 'blocker' : 'warning');
      return [
        ...(await storage.precheck(ctx.pool(pool), signal)),
        ...report.poolFindings.filter((f) => f.severity >= PrecheckSeverity.PRECHECK_SEVERITY_WARNING).map((f) => ({ check: f.id, host: f.host, severity: severity(f.severity), message: f.summary })),
        ...report.hosts.flatMap((h) => h.findings.filter((f) => f.severity >= PrecheckSeverity.PRECHECK_SEVERITY_WARNING).map((f) => ({ check: f.id, host: h.host, severity: severity(f.severity), message: f.summary }))),
      ];
    },
    takeMetadataBackup: async (poolName, signal) => {
      const pool = ctx.pool(poolName);
      const xapi = await ctx.openXapi(pool, { readOnly: true, signal });
      const url = xapi.url;
      await xapi.close();
      const taken = await takeMetadataBackup({ url, user: pool.xapi.user, password: pool.xapi.password, ...xapiTransportOf(pool), signal, ...(ctx.config.metadataBackup === undefined ? {} : { maxBytes: ctx.config.metadataBackup.maxBytes }) }, pool.name, backupDir(ctx.config.journal, pool.name));
      return { file: taken.file, sha256: taken.sha256, bytes: taken.bytes };
    },
    probeAgent: async (pool, host, signal) => {
      const hosts = await ctx.poolHosts(ctx.pool(pool), signal);
      const h = hosts.find((x) => x.uuid === host.uuid);
      if (h === undefined) throw new NotFoundError('host', host.name);
      const call = signalWithin(signal, agentProbeMs, `the agent of ${host.name} did not answer within ${agentProbeMs} ms`);
      try {
        await h.agent.client(HostServiceDefinition).getFacts({}, { signal: call.signal });
      } finally {
        call.release();
      }
    },
  };
}

/**
 * The controller's workflow engine, one per context. Created with the upgrade service; on
 * creation it resumes every workflow a previous controller left running.
 */
export function workflowEngineFor(ctx: ControllerContext): WorkflowEngine {
  let engine = engines.get(ctx);
  if (engine === undefined) {
    const hook = killHookFromEnv();
    engine = new WorkflowEngine({ journal: ctx.journal, logger: ctx.logger, kinds: [rollingUpgradeKind(upgradeDeps(ctx)), switchoverKind(ctx), failoverKind(ctx), reassertKind(ctx), storageSetupKind(ctx, { vault: setupVaultFor(ctx) }), multipathRolloutKind(multipathRolloutDeps(ctx))], ...(hook === undefined ? {} : { onStepWrite: hook }) });
    engines.set(ctx, engine);
    observeWorkflowMetrics(engine, ctx.metrics);
    const e = engine;
    setImmediate(() => {
      const resumed = e.resumeAll();
      if (resumed.length > 0) ctx.logger.info({ workflows: resumed }, 'resumed workflows after a restart');
    });
  }
  return engine;
}

/**
 * `allowSimulated`: the controller config's `testing.simulatedUpgrade`. The `simulated` action calls
 * a plugin only the XAPI simulator has; on a real pool it would fail mid-run with a host already
 * evacuated, so production refuses it before anything starts.
 */
export function paramsFromOptions(o: UpgradeOptions | undefined, { allowSimulated = false }: { allowSimulated?: boolean } = {}): RollingUpgradeParams {
  if (o === undefined || o.pool === '') throw new ValidationError('options.pool', 'name the pool');
  const action = (o.action === '' ? 'xcp-ng-update' : o.action) as UpgradeActionName;
  const allowed = upgradeActionNames.filter((a) => a !== 'simulated' || allowSimulated);
  if (action === 'simulated' && !allowSimulated) throw new ValidationError('options.action', `"simulated" is for the XAPI simulator only (controller config testing.simulatedUpgrade); one of ${allowed.join(', ')}`);
  if (!allowed.includes(action)) throw new ValidationError('options.action', `one of ${allowed.join(', ')}`);
  const names = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
  for (const h of o.exclude) if (!names.test(h)) throw new ValidationError('options.exclude', `not a host name or uuid: ${h}`);
  for (const c of o.overrides) if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(c)) throw new ValidationError('options.overrides', `not a check name: ${c}`);
  if (o.maxParallel > 16) throw new ValidationError('options.max_parallel', 'at most 16');
  if (o.maxHostsDown > 16) throw new ValidationError('options.max_hosts_down', 'at most 16');
  if (o.startConcurrency > 16) throw new ValidationError('options.start_concurrency', 'at most 16');
  if (o.memoryPolicy !== '' && !memoryPolicies.includes(o.memoryPolicy as MemoryPolicy)) throw new ValidationError('options.memory_policy', `one of ${memoryPolicies.join(', ')}`);
  if (o.migrationNetwork !== '' && !/^(OpaqueRef:)?[0-9a-fA-F-]{36}$/.test(o.migrationNetwork)) throw new ValidationError('options.migration_network', 'a network ref or uuid');
  return normalizeParams({
    action,
    maxParallel: o.maxParallel === 0 ? 2 : o.maxParallel,
    maxHostsDown: o.maxHostsDown === 0 ? 1 : o.maxHostsDown,
    ...(o.memoryPolicy === '' ? {} : { memoryPolicy: o.memoryPolicy as MemoryPolicy }),
    ...(o.shutdownTimeoutSeconds === 0 ? {} : { shutdownTimeoutSeconds: o.shutdownTimeoutSeconds }),
    ...(o.startConcurrency === 0 ? {} : { startConcurrency: o.startConcurrency }),
    migrationNetwork: o.migrationNetwork,
    exclude: o.exclude,
    overrides: o.overrides,
    ...(o.hostBootTimeoutSeconds === 0 ? {} : { hostBootTimeoutSeconds: o.hostBootTimeoutSeconds }),
    ...(o.pollIntervalMs === 0 ? {} : { pollIntervalMs: o.pollIntervalMs }),
    agentCheck: !o.skipAgentCheck,
    actionOptions: o.actionOptions,
  });
}

export function toPlanMessage(plan: RollingPlan): UpgradePlan {
  return planMessage(planReport(plan));
}

export function upgradeService(ctx: ControllerContext): UpgradeServiceImplementation {
  const engine = workflowEngineFor(ctx);
  const deps = upgradeDeps(ctx);

  const resolve = (pool: string, id: string, want: 'active' | 'latest'): WorkflowRow => {
    if (id !== '') return engine.get(id);
    if (pool === '') throw new ValidationError('pool', 'name the pool or the workflow id');
    const rows = engine.store.list({ pool, kind: ROLLING_UPGRADE, activeOnly: want === 'active', limit: 1 });
    const row = rows[0];
    if (row === undefined) throw new NotFoundError(want === 'active' ? 'active rolling upgrade on pool' : 'rolling upgrade on pool', pool);
    return row;
  };
  const view = (row: WorkflowRow): UpgradeWorkflow => toWorkflowView(engine, engine.get(row.id));

  return {
    async plan(request, { signal }) {
      const params = paramsFromOptions(request.options, { allowSimulated: ctx.config.testing?.simulatedUpgrade === true });
      const pool = ctx.pool(request.options!.pool);
      const client = await ctx.openXapi(pool, { readOnly: true, signal });
      try {
        const model = buildPoolModel(await readPoolInput(client, { signal }), { memoryPolicy: params.memoryPolicy });
        const plan = toPlanMessage(planRollingUpgrade(model, { exclude: params.exclude, overrides: params.overrides, maxHostsDown: params.maxHostsDown, dom0Growth: dom0GrowthFor(model, params) }));
        // The prechecks' blockers stop a run too (unless overridden by name): show them with the plan.
        const findings = await deps.runPrechecks!(pool.name, signal).catch((err: unknown) => [{ check: 'prechecks', host: '', severity: 'warning' as const, message: `the prechecks did not run: ${err instanceof Error ? err.message : String(err)}` }]);
        for (const f of findings) {
          // The run takes a metadata backup before its prechecks, so a missing one does not block it.
          if (f.severity !== 'blocker' || precheckIdsHandledByTheWorkflow.has(f.check) || f.check === 'metadata-backup') continue;
          const overridden = params.overrides.includes(f.check);
          plan.blockers.push({ vm: f.vm ?? '', code: f.check, host: f.host, overridden, message: f.message });
          if (!overridden) plan.runnable = false;
        }
        return { plan };
      } catch (err) {
        if (err instanceof PlanInputError) throw new PlanRefusedError(err.message);
        throw err;
      } finally {
        await client.close();
      }
    },

    async *startRollingUpgrade(request, context) {
      const params = paramsFromOptions(request.options, { allowSimulated: ctx.config.testing?.simulatedUpgrade === true });
      if (!request.confirm) throw new ConfirmationRequiredError('a rolling upgrade changes the pool: send confirm (xsctl --yes); use Plan to see what it would do');
      const pool = ctx.pool(request.options!.pool).name;
      const who = peerIdentity(context)?.name ?? 'unknown';
      const row = engine.start(ROLLING_UPGRADE, pool, params, who);
      for await (const event of workflowEvents(engine, row.id, 0, context.signal)) yield { event };
    },

    async status(request) {
      if (request.workflowId !== '') return { workflows: [view(engine.get(request.workflowId))] };
      const rows = engine.store.list({ ...(request.pool === '' ? {} : { pool: request.pool }), kind: ROLLING_UPGRADE, limit: 20 });
      return { workflows: rows.map(view) };
    },

    async pause(request) {
      return { workflow: view(engine.pause(resolve(request.pool, request.workflowId, 'active').id)) };
    },

    async resume(request) {
      return { workflow: view(engine.resume(resolve(request.pool, request.workflowId, 'latest').id)) };
    },

    async abort(request) {
      const row = resolve(request.pool, request.workflowId, 'latest');
      return { workflow: view(engine.abort(row.id)) };
    },

    async *watch(request, context) {
      const row = resolve(request.pool, request.workflowId, 'latest');
      for await (const event of workflowEvents(engine, row.id, request.afterEventId, context.signal)) yield { event };
    },
  };
}

