import { PrecheckSeverity } from '@xsctl/proto/gen/xsctl/agent/v1/precheck';
import type { PoolPrecheckServiceRunResponse } from '@xsctl/proto/gen/xsctl/controller/v1/precheck';
import type { ControllerContext } from '../../server/controller-context.js';
import type { PrecheckFinding, PrecheckRunner } from '../../workflows/rolling-upgrade/index.js';
import { runPoolPrechecks } from './run-pool-prechecks.js';

/**
 * The precheck report as the rolling-upgrade workflow consumes it (RollingUpgradeDeps.runPrechecks):
 * blockers and warnings only, one entry per named check, and one per VM for evacuation blockers so
 * an admin can override a single XAPI code (e.g. VM_REQUIRES_SR).
 */
export function workflowFindings(report: PoolPrecheckServiceRunResponse): PrecheckFinding[] {
  const level = (s: PrecheckSeverity): 'blocker' | 'warning' | undefined =>
    s === PrecheckSeverity.PRECHECK_SEVERITY_BLOCKER ? 'blocker' : s === PrecheckSeverity.PRECHECK_SEVERITY_WARNING ? 'warning' : undefined;
  const out: PrecheckFinding[] = [];
  for (const f of report.poolFindings) {
    const severity = level(f.severity);
    if (severity === undefined) continue;
    if (f.details?.$case === 'evacuation') {
      for (const vm of f.details.value.vms) out.push({ check: vm.code, host: f.host, vm: vm.vm, severity, message: `${vm.vm}: ${vm.explanation}` });
      continue;
    }
    out.push({ check: f.id, host: f.host, severity, message: f.summary });
  }
  for (const h of report.hosts) {
    for (const f of h.findings) {
      const severity = level(f.severity);
      if (severity !== undefined) out.push({ check: f.id, host: h.host, severity, message: f.summary });
    }
  }
  return out;
}

export function precheckRunner(ctx: ControllerContext): PrecheckRunner {
  return async (pool, signal) => workflowFindings(await runPoolPrechecks(ctx, pool, {}, signal));
}
