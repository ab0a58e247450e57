import { buildPoolModel } from '../pool-model/pool-model.js';
import type { PoolInput } from '../pool-model/pool-input.js';
import type { MemoryPolicy } from '../pool-model/memory.js';
import { planRollingUpgrade } from './plan.js';
import { checkPlanInvariants } from './plan-invariants.js';
import { planReport, type PlanReport } from './plan-report.js';
import type { PlanOptions } from './plan-types.js';

/**
 * `xsctl upgrade --rolling --plan --from-dump FILE`: plans a real pool's rolling upgrade from its
 * dump (loaded into the in-process simulator, read through the same reader as a live pool),
 * changing nothing anywhere, and checks the plan against the rules it must keep.
 */
export function rehearse(input: PoolInput, options: PlanOptions & { memoryPolicy?: MemoryPolicy } = {}): PlanReport & { problems: string[] } {
  const model = buildPoolModel(input, options.memoryPolicy === undefined ? {} : { memoryPolicy: options.memoryPolicy });
  const plan = planRollingUpgrade(model, options);
  return { ...planReport(plan), problems: checkPlanInvariants(model, plan) };
}
