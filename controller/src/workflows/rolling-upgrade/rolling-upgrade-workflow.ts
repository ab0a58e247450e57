import type { WorkflowContext, WorkflowKind } from '../engine/workflow-engine.js';
import { compensate } from './compensations.js';
import type { RollingUpgradeDeps } from './deps.js';
import { normalizeParams } from './params.js';
import { poolSettingsPhase } from './phases/pool-settings.js';
import { preparePhase } from './phases/prepare.js';
import { uniformityPhase } from './phases/uniformity.js';
import { wavesPhase } from './phases/waves.js';
import { runContext, type PlannedRun } from './run-context.js';
import { realSleep, retrying } from './retry.js';

export const ROLLING_UPGRADE = 'rolling-upgrade';

export function rollingUpgradeKind(deps: RollingUpgradeDeps): WorkflowKind {
  return {
    kind: ROLLING_UPGRADE,
    run: (ctx) => runRollingUpgrade(ctx, deps),
    compensate: (name, args, cctx) => compensate(deps, name, args, cctx),
  };
}

/**
 * A durable rolling upgrade, as named phases over the journal (workflows/engine): prepare (backup,
 * prechecks, plan), the pool's settings around the run (HA, WLB, auto power-on), XenServer 8
 * updates synced once, the hosts wave by wave, and the final uniformity check.
 */
async function runRollingUpgrade(ctx: WorkflowContext, deps: RollingUpgradeDeps): Promise<unknown> {
  const params = normalizeParams(ctx.params);
  const sleep = deps.sleep ?? realSleep;
  const xapi = await retrying(() => deps.openXapi(ctx.pool, ctx.signal), ctx.signal, sleep);
  try {
    const rc = runContext(ctx, deps, params, xapi, sleep);
    const plan = await preparePhase(rc);
    const poolRef = await poolSettingsPhase(rc);
    const run: PlannedRun = { ...rc, plan, poolRef };
    if (params.action === 'apply-updates') {
      // One update set for the whole run: every host installs what was synced here, journaled.
      await ctx.step('updates:sync', { run: async () => ({ hash: String(await xapi.callAsync('pool.sync_updates', [poolRef, false, '', ''], { signal: ctx.signal })) }) });
    }
    const done = await wavesPhase(run);
    const uniformity = await uniformityPhase(run);
    return {
      pool: ctx.pool,
      action: params.action,
      maxHostsDown: params.maxHostsDown,
      hosts: done.hosts.sort((a, b) => a.order - b.order),
      moves: done.moves,
      pinned: plan.steps.flatMap((s) => s.pinned.map((p) => ({ vm: p.vm, host: p.host, code: p.code }))),
      excluded: plan.hosts.filter((h) => h.action === 'excluded').map((h) => h.name),
      totals: {
        migratedBytes: done.moves.reduce((s, m) => s + m.bytes, 0),
        migrations: done.moves.length,
        plannedBytes: plan.totals.migratedBytes,
        lowerBoundBytes: plan.totals.lowerBoundBytes,
        masterTwiceBoundBytes: plan.totals.achievableLowerBoundBytes,
        waves: plan.totals.waves,
      },
      uniformity,
    };
  } finally {
    await xapi.close().catch(() => undefined);
  }
}
