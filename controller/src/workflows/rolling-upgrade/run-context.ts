import type { RollingPlan } from '../../placement/plan-types.js';
import type { Ref } from '../../xapi/ref.js';
import type { XapiClient } from '../../xapi/xapi-client.js';
import type { WorkflowContext } from '../engine/workflow-engine.js';
import type { RollingUpgradeDeps } from './deps.js';
import type { RollingUpgradeParams } from './params.js';
import { retrying, type Sleep } from './retry.js';

/** What every phase of one run shares. */
export interface RunContext {
  ctx: WorkflowContext;
  deps: RollingUpgradeDeps;
  params: RollingUpgradeParams;
  xapi: XapiClient;
  signal: AbortSignal;
  sleep: Sleep;
  /** A read (or a call safe to repeat), retried while XAPI restarts. */
  read<T>(fn: () => Promise<T>): Promise<T>;
}

/** Once the plan is made. */
export interface PlannedRun extends RunContext {
  plan: RollingPlan;
  poolRef: Ref<'pool'>;
}

export function runContext(ctx: WorkflowContext, deps: RollingUpgradeDeps, params: RollingUpgradeParams, xapi: XapiClient, sleep: Sleep): RunContext {
  return { ctx, deps, params, xapi, signal: ctx.signal, sleep, read: (fn) => retrying(fn, ctx.signal, sleep) };
}
