import type { MultipathRolloutEvent, MultipathRolloutServiceImplementation, MultipathRolloutStepState } from '@xsctl/proto/gen/xsctl/controller/v1/multipath_rollout';
import { NotFoundError, ValidationError, XsctlError } from '@xsctl/common/errors/index';
import { peerIdentity } from '@xsctl/common/grpc/index';
import type { ControllerContext } from '../../server/controller-context.js';
import type { WorkflowRow } from '../../workflows/engine/workflow-store.js';
import { MULTIPATH_ROLLOUT, planRollout } from '../../workflows/multipath-rollout/multipath-rollout-workflow.js';
import { rolloutParamsFromOptions, type RolloutParams } from '../../workflows/multipath-rollout/rollout-params.js';
import { str } from '../../xapi/coerce.js';
import { ConfirmationRequiredError } from '../confirmation-required-error.js';
import { phaseOf, workflowEvents } from '../upgrade/upgrade-events.js';
import { workflowEngineFor } from '../upgrade/upgrade-service.js';

/** The plan found reasons the rollout cannot run as asked. */
class RolloutPlanRefusedError extends XsctlError {
  readonly code = 'PRECONDITION_FAILED';
}

function toEvent(e: { id: number; workflowId: string; at: string; kind: string; step: string; host: string; message: string; dataJson: string; state: string }): MultipathRolloutEvent {
  const data = JSON.parse(e.dataJson) as Record<string, unknown>;
  return {
    id: e.id,
    workflowId: e.workflowId,
    at: e.at,
    kind: e.kind,
    step: e.step === '' ? '' : phaseOf(e.step),
    host: e.host,
    message: e.message,
    code: str(data['code']),
    state: e.kind === 'workflow-finished' ? str(data['state']) || e.state : e.state,
  };
}

export function multipathRolloutService(ctx: ControllerContext): MultipathRolloutServiceImplementation {
  const engine = workflowEngineFor(ctx);
  const latest = (pool: string): WorkflowRow | undefined => engine.store.list({ pool, kind: MULTIPATH_ROLLOUT, limit: 1 })[0];

  return {
    async plan(request, { signal }) {
      const params = rolloutParamsFromOptions(request.options);
      return planRollout(ctx, ctx.pool(request.options!.pool), params, signal);
    },

    /**
     * The pool's latest rollout with the same parameters is continued rather than started again:
     * a paused or failed one is resumed, a running one (a restarted controller drives it) is
     * followed. Anything else starts a new one, after its plan shows nothing blocks it.
     */
    async *start(request, context) {
      const params = rolloutParamsFromOptions(request.options);
      const pool = ctx.pool(request.options!.pool);
      if (!request.confirm) throw new ConfirmationRequiredError('the multipath rollout takes every host out of service in turn: send confirm (xsctl --yes); use Plan to see what it would do');
      const last = latest(pool.name);
      const same = last !== undefined && JSON.stringify(last.params as RolloutParams) === JSON.stringify(params);
      let row: WorkflowRow;
      let after = 0;
      if (same && (last.state === 'running' || last.state === 'aborting')) {
        row = last;
        after = engine.events(row.id).at(-1)?.id ?? 0;
      } else if (same && (last.state === 'paused' || last.state === 'failed')) {
        after = engine.events(last.id).at(-1)?.id ?? 0;
        row = engine.resume(last.id);
      } else {
        const plan = await planRollout(ctx, pool, params, context.signal);
        if (!plan.runnable) throw new RolloutPlanRefusedError(`the multipath rollout of ${pool.name} cannot run as asked: ${plan.blockers.join('; ')}`);
        row = engine.start(MULTIPATH_ROLLOUT, pool.name, params, peerIdentity(context)?.name ?? 'unknown');
      }
      for await (const e of workflowEvents(engine, row.id, after, context.signal)) yield { event: toEvent(e) };
    },

    async status(request) {
      let row: WorkflowRow | undefined;
      if (request.workflowId !== '') row = engine.get(request.workflowId);
      else {
        if (request.pool === '') throw new ValidationError('pool', 'name the pool or the workflow id');
        row = latest(request.pool);
      }
      if (row === undefined) throw new NotFoundError('multipath rollout on pool', request.pool);
      const steps: MultipathRolloutStepState[] = engine.steps(row.id).map((s) => {
        const outcome = (s.outcome ?? {}) as Record<string, unknown>;
        return { step: phaseOf(s.name), host: s.host, status: s.status === 'started' ? 'running' : s.status, detail: s.status === 'failed' ? str(outcome['error']) : JSON.stringify(s.outcome ?? {}), code: str(outcome['code']) };
      });
      return { pool: row.pool, workflowId: row.id, state: row.state, error: row.error, steps, resultJson: row.result === undefined || row.result === null ? '' : JSON.stringify(row.result) };
    },
  };
}
