import { checkPlanInvariants } from './plan-invariants.js';
import { planReport, planRollingUpgrade, type PlanOptions } from './planner.js';
import { plannerClasses, snapshotFromRecords, type PoolRecords, type RecordsByRef } from './pool-records.js';

/** What a loaded simulator database offers (the simulator's XapiDb), without depending on it. */
export interface RecordSource {
  hasClass(cls: string): boolean;
  getAllRecords(cls: string): Record<string, Record<string, unknown>>;
}

export function recordsFrom(source: RecordSource): PoolRecords {
  const out: Record<string, RecordsByRef> = {};
  for (const cls of plannerClasses) if (source.hasClass(cls)) out[cls] = source.getAllRecords(cls);
  return out as PoolRecords;
}

/**
 * `xsctl upgrade --rolling --plan --from-dump FILE`: plans a real pool's rolling upgrade from its
 * records alone, changing nothing anywhere, and checks the plan against the rules it must keep.
 */
export function rehearse(records: PoolRecords, options: PlanOptions = {}): ReturnType<typeof planReport> & { problems: string[] } {
  const snapshot = snapshotFromRecords(records);
  const plan = planRollingUpgrade(snapshot, options);
  return { ...planReport(plan), problems: checkPlanInvariants(snapshot, plan) };
}
