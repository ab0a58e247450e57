import type { StorageFailoverServiceImplementation, StorageWorkflowEvent } from '@xsctl/proto/gen/xsctl/controller/v1/storage_failover';
import { ValidationError } from '@xsctl/common/errors/index';
import { peerIdentity } from '@xsctl/common/grpc/index';
import type { ControllerContext } from '../../server/controller-context.js';
import { workflowEvents } from '../upgrade/upgrade-events.js';
import { workflowEngineFor } from '../upgrade/upgrade-service.js';
import { STORAGE_FAILOVER } from '../../workflows/storage/failover-workflow.js';
import { STORAGE_REASSERT } from '../../workflows/storage/reassert-workflow.js';
import { checkSwitchover, storageConfigOf } from '../../workflows/storage/storage-pool.js';
import { StorageRoleChangeRefusedError } from '../../workflows/storage/storage-workflow-errors.js';
import { STORAGE_SWITCHOVER, type SwitchoverParams } from '../../workflows/storage/switchover-workflow.js';
import type { WorkflowEngine } from '../../workflows/engine/workflow-engine.js';
import { witnessMonitors } from './witness-monitor.js';
import { ConfirmationRequiredError } from '../confirmation-required-error.js';
import { str } from '../../xapi/coerce.js';

export function storageFailoverService(ctx: ControllerContext): StorageFailoverServiceImplementation {
  const engine = workflowEngineFor(ctx);
  const monitors = witnessMonitors(ctx, engine, process.env['XSCTL_WITNESS'] !== 'off');

  async function* stream(id: string, signal: AbortSignal): AsyncGenerator<{ event: StorageWorkflowEvent }> {
    for await (const e of workflowEvents(engine, id, 0, signal)) {
      yield { event: { id: e.id, workflowId: e.workflowId, at: e.at, kind: e.kind, host: e.host, step: e.step, phase: e.phase, message: e.message, dataJson: e.dataJson, state: e.state } };
    }
  }

  return {
    async *switchover(request, context) {
      const pool = ctx.pool(request.pool);
      storageConfigOf(pool);
      // Refusals come back at once, typed, before a workflow exists.
      await checkSwitchover(ctx, pool, request.to, context.signal);
      if (!request.confirm) throw new ConfirmationRequiredError('a switchover moves the storage: send confirm (xsctl --yes)');
      const params: SwitchoverParams = { to: request.to, reason: 'planned switchover' };
      const row = engine.start(STORAGE_SWITCHOVER, pool.name, params, peerIdentity(context)?.name ?? 'unknown');
      yield* stream(row.id, context.signal);
      const done = engine.get(row.id);
      const to = str((done.result as Record<string, unknown> | undefined)?.['to']);
      if (done.state === 'done' && to !== '') monitors.get(pool.name)?.noteRoleChange(to);
    },

    async *failover(request, context) {
      const pool = ctx.pool(request.pool);
      storageConfigOf(pool);
      if (request.reason.trim() === '') throw new ValidationError('reason', 'say why (it is recorded with the failover)');
      const w = monitors.get(pool.name);
      await w?.tick();
      const params = w?.failoverParams(`manual: ${request.reason}`) ?? null;
      if (params === null) throw new StorageRoleChangeRefusedError('no-storage-master', '', `the witness has not seen a storage master in pool ${pool.name}`);
      if (!request.confirm) throw new ConfirmationRequiredError(`a failover fences ${params.failed.name} and promotes ${params.survivor.name}: send confirm (xsctl --yes)`);
      const row = engine.start(STORAGE_FAILOVER, pool.name, params, peerIdentity(context)?.name ?? 'unknown');
      w?.noteFailover(params);
      yield* stream(row.id, context.signal);
    },

    async getWitnessStatus(request) {
      const pool = ctx.pool(request.pool);
      const storage = storageConfigOf(pool);
      const w = monitors.get(pool.name);
      const rows = engine.store.list({ pool: pool.name, limit: 20 }).filter((r) => r.kind === STORAGE_FAILOVER || r.kind === STORAGE_SWITCHOVER || r.kind === STORAGE_REASSERT);
      const last = rows[0];
      const params = (last?.params ?? {}) as Record<string, unknown>;
      const result = (last?.result ?? {}) as Record<string, unknown>;
      return {
        pool: pool.name,
        automatic: storage.failover.automatic,
        storageMaster: w?.master ?? '',
        hosts: [...(w?.hosts.values() ?? [])].map((h) => ({ host: h.host.name, reachable: h.reachable, lastSeen: h.lastSeen === 0 ? '' : new Date(h.lastSeen).toISOString(), view: h.view, error: h.error })),
        ...(last === undefined
          ? {}
          : {
              last: {
                workflowId: last.id,
                kind: last.kind,
                state: last.state,
                reason: str(params['reason']) || str(result['reason']),
                from: str((params['failed'] as Record<string, unknown> | undefined)?.['name']) || str(result['from']),
                to: str((params['survivor'] as Record<string, unknown> | undefined)?.['name']) || str(result['to']),
                timelineJson: JSON.stringify(timelineOf(engine, last.id, result)),
                at: last.createdAt,
                error: last.state === 'failed' ? last.error : '',
                errorCode: last.state === 'failed' ? failureCode(engine, last.id) : '',
              },
            }),
        alerts: [...(w?.alerts ?? [])],
      };
    },
  };
}

/** The failed workflow's typed error code, as the engine recorded it in its 'failing' event. */
function failureCode(engine: WorkflowEngine, id: string): string {
  const failing = engine.store.events(id).findLast((e) => e.kind === 'failing');
  return str(failing?.data['code']);
}

/**
 * A failover's timeline: its 'failover-phase' events as they were recorded (a failed or running
 * failover shows the phases it reached), over the finished workflow's result for older journals.
 */
function timelineOf(engine: WorkflowEngine, id: string, result: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...((result['timeline'] as Record<string, unknown> | undefined) ?? {}) };
  for (const e of engine.store.events(id)) if (e.kind === 'failover-phase' && typeof e.data['phase'] === 'string') out[e.data['phase']] = e.data['at'];
  return out;
}
