import { MultipathServiceDefinition } from '@xsctl/proto/gen/xsctl/agent/v1/multipath';
import type { MultipathRolloutServicePlanResponse } from '@xsctl/proto/gen/xsctl/controller/v1/multipath_rollout';
import { NotFoundError, ValidationError } from '@xsctl/common/errors/index';
import type { AgentConnection } from '../../agents/agent-connection.js';
import type { PoolConfig } from '../../config/inventory.js';
import { planRollingUpgrade, PlanInputError, type RollingPlan } from '../../placement/index.js';
import { buildPoolModel, readPoolInput } from '../../pool-model/index.js';
import type { ControllerContext } from '../../server/controller-context.js';
import { asRef, type XapiClient } from '../../xapi/index.js';
import { describe, type CompensationContext, type WorkflowContext, type WorkflowKind } from '../engine/workflow-engine.js';
import { compensateHostStages, realSleep, retrying, runContext, wavesPhase, type RollingUpgradeDeps, type Sleep } from '../rolling-upgrade/index.js';
import { MultipathRolloutBlockedError } from './rollout-errors.js';
import { hostSrPaths, replugPbds } from './rollout-host-ops.js';
import { hostStageParams, type RolloutParams } from './rollout-params.js';
import { hostIsDone, multipathSetting, rolloutHostPlans, type HostProbe } from './rollout-plan.js';
import { REPLUG_PBDS, rolloutHostStages, type RolloutEnv } from './rollout-stages.js';

export const MULTIPATH_ROLLOUT = 'multipath-rollout';

export interface MultipathRolloutDeps {
  openXapi(pool: string, signal: AbortSignal): Promise<XapiClient>;
  /** The pool's agents by host uuid. */
  agents(pool: string, signal: AbortSignal): Promise<Map<string, AgentConnection>>;
  sleep?: Sleep;
}

/** The controller's wiring: XAPI on the pool master, the agents the inventory resolves. */
export function multipathRolloutDeps(ctx: ControllerContext): MultipathRolloutDeps {
  return {
    openXapi: (pool, signal) => ctx.openXapi(ctx.pool(pool), { readOnly: false, signal }),
    agents: async (pool, signal) => new Map((await ctx.poolHosts(ctx.pool(pool), signal)).map((h) => [h.uuid, h.agent] as const)),
  };
}

/**
 * Probes every host: its multipath settings and shared SRs from XAPI, and the agent's dry run of
 * the apply (the stanza diff). Used by the plan an admin reads and by the workflow's plan step.
 */
export async function probeHosts(xapi: XapiClient, agents: ReadonlyMap<string, AgentConnection>, params: RolloutParams, signal: AbortSignal): Promise<Map<string, HostProbe>> {
  const probes = new Map<string, HostProbe>();
  for (const [ref, h] of await xapi.getAllRecords('host', { signal })) {
    const probe: HostProbe = {
      ref,
      uuid: h.uuid,
      name: h.name_label,
      setting: multipathSetting(h.other_config, h.software_version['platform_version'] ?? ''),
      srs: (await hostSrPaths(xapi, ref, signal)).filter((s) => s.shared),
    };
    const agent = agents.get(h.uuid);
    if (agent === undefined) probe.agentError = 'no agent in the inventory for this host';
    else {
      try {
        const r = await agent.client(MultipathServiceDefinition).apply({ profile: params.profile, confirm: false, layout: params.layout, skipReconfigure: true }, { signal });
        probe.apply = { changed: r.changed, diff: r.diff, targetPath: r.targetPath };
      } catch (err) {
        probe.agentError = describe(err);
      }
    }
    probes.set(ref, probe);
  }
  return probes;
}

/** The rolling upgrade's placement over the pool, one host at a time, hosts with nothing to do left alone. */
async function makePlan(xapi: XapiClient, agents: ReadonlyMap<string, AgentConnection>, params: RolloutParams, signal: AbortSignal): Promise<{ plan: RollingPlan; probes: Map<string, HostProbe> }> {
  const up = hostStageParams(params);
  const probes = await probeHosts(xapi, agents, params, signal);
  const model = buildPoolModel(await readPoolInput(xapi, { signal }), { memoryPolicy: up.memoryPolicy });
  const doneHosts = [...probes.values()].filter((p) => hostIsDone(p, params.expectedPaths)).map((p) => p.ref);
  const excluded = model.hosts.filter((h) => up.exclude.some((x) => x === h.name || x === h.uuid || x === h.ref));
  for (const x of up.exclude) if (!model.hosts.some((h) => x === h.name || x === h.uuid || x === h.ref)) throw new ValidationError('options.exclude', `no such host in pool ${model.poolName}: ${x}`);
  if (model.hosts.every((h) => doneHosts.includes(h.ref) || excluded.includes(h))) {
    // The placement refuses a run with nothing to do; the rollout has nothing to do either.
    return { plan: nothingToDo(model.poolName, model.hosts.map((h) => ({ ref: h.ref, uuid: h.uuid, name: h.name, master: h.ref === model.masterRef, excluded: excluded.includes(h) }))), probes };
  }
  try {
    return { plan: planRollingUpgrade(model, { exclude: up.exclude, overrides: up.overrides, maxHostsDown: 1, doneHosts }), probes };
  } catch (err) {
    if (err instanceof PlanInputError) throw new ValidationError('options', err.message, { cause: err });
    throw err;
  }
}

/** A plan where every host is done or excluded: nobody leaves service. */
function nothingToDo(pool: string, hosts: ReadonlyArray<{ ref: string; uuid: string; name: string; master: boolean; excluded: boolean }>): RollingPlan {
  return {
    pool,
    poolRef: '',
    hosts: hosts.map((h) => ({ ref: h.ref, uuid: h.uuid, name: h.name, role: h.master ? 'master' : 'slave', order: 0, wave: 0, action: h.excluded ? 'excluded' : 'done', version: '', reason: h.excluded ? 'excluded' : 'nothing to change' })),
    steps: [],
    waves: [],
    blockers: [],
    migrations: [],
    totals: { migratedBytes: 0, lowerBoundBytes: 0, achievableLowerBoundBytes: 0, migrations: 0, vmsMovedMoreThanOnce: 0, waves: 0, roomMoves: 0 },
    capacity: { holds: true, maxHostsDown: 1, memoryPolicy: 'xapi', makeRoom: true, waves: [] },
    endState: { hosts: [], balance: { minUsedFraction: 0, maxUsedFraction: 0, stddevUsedFraction: 0 }, antiAffinity: [] },
    runnable: true,
    search: { ordersEvaluated: 0, exhaustive: true },
    warnings: [],
  };
}

/** Why the rollout cannot start: the placement's blockers, hosts whose agent did not answer or refused the stanza. */
function blockersOf(plan: RollingPlan, probes: ReadonlyMap<string, HostProbe>): string[] {
  const out = plan.blockers.filter((b) => !b.overridden).map((b) => `${b.message}${b.check === '' ? '' : ` (--override ${b.check})`}`);
  for (const h of plan.hosts) {
    const p = probes.get(h.ref);
    // The dry run runs the apply's own multipath -t check on the candidate: a stanza the write
    // would refuse (MULTIPATH_CONFIG_REJECTED) blocks here, before any host leaves service.
    if (h.action === 'upgrade' && p?.agentError !== undefined) out.push(`${h.name}: the dry run of the apply failed: ${p.agentError}`);
  }
  return out;
}

export async function planRollout(ctx: ControllerContext, pool: PoolConfig, params: RolloutParams, signal: AbortSignal): Promise<MultipathRolloutServicePlanResponse> {
  const xapi = await ctx.openXapi(pool, { readOnly: true, signal });
  try {
    const agents = await multipathRolloutDeps(ctx).agents(pool.name, signal);
    const { plan, probes } = await makePlan(xapi, agents, params, signal);
    const srTypes = new Map([...(await xapi.getAllRecords('SR', { signal })).entries()].map(([ref, s]) => [ref, s.type] as const));
    const blockers = blockersOf(plan, probes);
    return { pool: pool.name, hosts: rolloutHostPlans(plan, probes, srTypes), blockers, warnings: plan.warnings, runnable: blockers.length === 0 };
  } finally {
    await xapi.close().catch(() => undefined);
  }
}

export function multipathRolloutKind(deps: MultipathRolloutDeps): WorkflowKind {
  return {
    kind: MULTIPATH_ROLLOUT,
    run: (w) => runRollout(deps, w),
    compensate: (name, args, cctx) => compensate(deps, name, args, cctx),
  };
}

/** The rolling upgrade's compensations (enable host, start VM) take its deps: XAPI and the sleep. */
function hostStageDeps(deps: MultipathRolloutDeps, env?: RolloutEnv): RollingUpgradeDeps {
  return { openXapi: deps.openXapi, ...(deps.sleep === undefined ? {} : { sleep: deps.sleep }), ...(env === undefined ? {} : { hostStages: rolloutHostStages(env) }) };
}

/**
 * The rollout as a journaled workflow: a plan step (the probe and the rolling upgrade's
 * placement, one host out at a time, the master first), then the rolling upgrade's waves with the
 * rollout's host stages. Every step checks the world before it repeats anything after a restart.
 */
async function runRollout(deps: MultipathRolloutDeps, w: WorkflowContext): Promise<unknown> {
  const params = w.params as RolloutParams;
  const sleep = deps.sleep ?? realSleep;
  const xapi = await retrying(() => deps.openXapi(w.pool, w.signal), w.signal, sleep);
  try {
    const fresh = w.outcome('plan') === undefined;
    const plan = await w.step<RollingPlan>('plan', {
      intent: { profile: params.profile },
      run: async () => {
        const agents = await deps.agents(w.pool, w.signal);
        const made = await makePlan(xapi, agents, params, w.signal);
        const blockers = blockersOf(made.plan, made.probes);
        if (blockers.length > 0) throw new MultipathRolloutBlockedError(w.pool, blockers);
        return made.plan;
      },
    });
    if (fresh) {
      for (const h of plan.hosts.filter((x) => x.action !== 'upgrade')) w.emit('host-skipped', { host: h.name, message: h.action === 'done' ? `${h.name}: nothing to change` : `${h.name}: excluded` });
      for (const m of plan.warnings) w.emit('warning', { message: m });
    }
    const env: RolloutEnv = {
      params,
      agentFor: async (host, signal) => {
        const agent = (await deps.agents(w.pool, signal)).get(host.uuid);
        if (agent === undefined) throw new NotFoundError('agent of host', host.name);
        return agent;
      },
    };
    const rc = runContext(w, hostStageDeps(deps, env), hostStageParams(params), xapi, sleep);
    const pools = await rc.read(() => xapi.getAllRecords('pool', { signal: w.signal }));
    const poolRef = asRef<'pool'>([...pools.keys()][0] ?? '');
    const done = await wavesPhase({ ...rc, plan, poolRef });
    return {
      pool: w.pool,
      profile: params.profile,
      hosts: plan.hosts.filter((h) => h.action === 'upgrade').sort((a, b) => a.order - b.order).map((h) => h.name),
      skipped: plan.hosts.filter((h) => h.action !== 'upgrade').map((h) => ({ host: h.name, why: h.action })),
      moves: done.moves.map((m) => ({ vm: m.vm, from: m.from, to: m.to })),
      note: 'the VMs that left a host stay where they went',
    };
  } finally {
    await xapi.close().catch(() => undefined);
  }
}

async function compensate(deps: MultipathRolloutDeps, name: string, args: Record<string, unknown>, cctx: CompensationContext): Promise<void> {
  if (!name.startsWith(REPLUG_PBDS)) {
    await compensateHostStages(hostStageDeps(deps), name, args, cctx);
    return;
  }
  const sleep = deps.sleep ?? realSleep;
  const xapi = await retrying(() => deps.openXapi(cctx.pool, cctx.signal), cctx.signal, sleep, 120_000);
  try {
    const pbds = Array.isArray(args['pbds']) ? args['pbds'].map(String) : [];
    const plugged = await retrying(() => replugPbds(xapi, pbds, cctx.signal), cctx.signal, sleep, 120_000);
    cctx.emit('compensation-progress', { host: String(args['host'] ?? ''), message: `plugged back ${plugged.length} PBD(s)` });
  } finally {
    await xapi.close().catch(() => undefined);
  }
}
