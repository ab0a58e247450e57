import { buildPoolModel } from '../../../pool-model/pool-model.js';
import { readPoolInput } from '../../../pool-model/read-pool-input.js';
import { planRollingUpgrade } from '../../../placement/plan.js';
import { planReport } from '../../../placement/plan-report.js';
import type { RollingPlan } from '../../../placement/plan-types.js';
import { precheckIdsHandledByTheWorkflow } from '../deps.js';
import type { RunContext } from '../run-context.js';
import { UpgradeBlockedError } from '../upgrade-errors.js';
import { upgradeActions } from '../upgrade-actions.js';
import { dom0GrowthFor } from './dom0-growth.js';

/**
 * Before anything changes: a metadata backup, the prechecks (their blockers stop the run unless
 * overridden by name), and the plan, made from the same pool model and placement engine as
 * `xsctl precheck` and `upgrade --plan`. The plan is journaled: a resumed run follows it.
 */
export async function preparePhase(rc: RunContext): Promise<RollingPlan> {
  const { ctx, deps, params, signal } = rc;
  if (deps.takeMetadataBackup !== undefined) {
    const take = deps.takeMetadataBackup;
    const backup = await ctx.step('metadata-backup', {
      run: async () => {
        try {
          return { ok: true, ...(await take(ctx.pool, signal)) };
        } catch (err) {
          return { ok: false, error: err instanceof Error ? err.message : String(err) };
        }
      },
    });
    if (!backup.ok) ctx.emit('warning', { message: `no metadata backup: ${'error' in backup ? backup.error : ''}` });
  }
  const runPrechecks = deps.runPrechecks;
  const prechecks = await ctx.step('prechecks', {
    run: async () => ({ ran: runPrechecks !== undefined, findings: runPrechecks === undefined ? [] : await runPrechecks(ctx.pool, signal) }),
  });
  const precheckBlockers = prechecks.findings.filter((f) => f.severity === 'blocker' && !params.overrides.includes(f.check) && !precheckIdsHandledByTheWorkflow.has(f.check));
  if (precheckBlockers.length > 0) throw new UpgradeBlockedError(precheckBlockers.map((f) => ({ check: f.check, host: f.host, vm: f.vm ?? '', message: f.message })));

  const fresh = ctx.outcome('plan') === undefined;
  const plan = await ctx.step<RollingPlan>('plan', {
    run: async () => {
      const model = buildPoolModel(await rc.read(() => readPoolInput(rc.xapi, { signal })), { memoryPolicy: params.memoryPolicy });
      // Hosts with nothing to install are left alone (as Xen Orchestra skips hosts without missing patches).
      const doneHosts: string[] = [];
      const pendingOn = upgradeActions[params.action].pendingOn;
      if (pendingOn !== undefined) {
        for (const h of model.hosts) {
          const pending = await rc.read(() => pendingOn(h, { xapi: rc.xapi, signal, options: params.actionOptions })).catch(() => undefined);
          if (pending !== undefined && pending.length === 0) doneHosts.push(h.ref);
        }
      }
      return planRollingUpgrade(model, { exclude: params.exclude, overrides: params.overrides, maxHostsDown: params.maxHostsDown, dom0Growth: dom0GrowthFor(model, params), doneHosts });
    },
  });
  if (fresh) ctx.emit('plan', planReport(plan) as unknown as Record<string, unknown>);
  if (!plan.runnable) throw new UpgradeBlockedError(plan.blockers.filter((b) => !b.overridden).map((b) => ({ check: b.code, host: b.host, vm: b.vm, message: b.message })));
  if (fresh) {
    for (const w of plan.warnings) ctx.emit('warning', { message: w });
    // xapi refuses every VM operation outside rpu_allowed_vm_operations while hosts differ (xapi_globs.ml):
    // snapshots included, so scheduled snapshots and backup jobs fail until the last host is done.
    ctx.emit('warning', { message: 'while the hosts run different releases XAPI refuses VM snapshots (NOT_SUPPORTED_DURING_UPGRADE): pause snapshot schedules and backup jobs for the run' });
  }
  return plan;
}
