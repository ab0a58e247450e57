import type { UpgradeEvent, UpgradeWorkflow } from '@xsctl/proto/gen/xsctl/controller/v1/upgrade';
import type { WorkflowEvent, WorkflowEngine } from '../../workflows/engine/workflow-engine.js';
import type { WorkflowRow } from '../../workflows/engine/workflow-store.js';
import { str } from '../../xapi/coerce.js';

/** `host:<uuid>:migrate:<vm>` -> `migrate`; pool-level steps keep their name. */
export function phaseOf(step: string): string {
  const parts = step.split(':');
  if (parts[0] === 'host' && parts.length >= 3) return parts[2] ?? '';
  if (parts[0] === 'pool') return parts[1] ?? step;
  return step;
}


export function toUpgradeEvent(e: WorkflowEvent, state: string): UpgradeEvent {
  const d = e.data;
  const step = str(d['step']);
  const message = str(d['message']) || str(d['error']);
  return {
    id: e.id,
    workflowId: e.workflowId,
    at: e.at,
    kind: e.kind,
    host: str(d['host']),
    step,
    phase: str(d['phase']) || (step === '' ? '' : phaseOf(step)),
    fraction: typeof d['fraction'] === 'number' ? d['fraction'] : 0,
    message,
    dataJson: JSON.stringify(d),
    state,
  };
}

/** Ends the stream after these: the workflow stopped running. */
export function isFinalEvent(e: WorkflowEvent): boolean {
  return e.kind === 'workflow-finished' || e.kind === 'paused';
}

/**
 * The workflow's events as an async iterable: journaled ones after `afterId`, then live ones,
 * until the workflow finishes or pauses, or `signal` aborts (the workflow itself goes on).
 */
export async function* workflowEvents(engine: WorkflowEngine, id: string, afterId: number, signal: AbortSignal): AsyncGenerator<UpgradeEvent> {
  const queue: WorkflowEvent[] = [];
  let wake: (() => void) | undefined;
  const unsubscribe = engine.subscribe(id, afterId, (e) => {
    queue.push(e);
    wake?.();
  });
  const onAbort = (): void => wake?.();
  signal.addEventListener('abort', onAbort);
  try {
    // A workflow that is not running now (paused, finished) only replays its journal.
    const row = engine.get(id);
    let stopped = row.state !== 'running' && row.state !== 'aborting';
    for (;;) {
      while (queue.length > 0) {
        const e = queue.shift() as WorkflowEvent;
        yield toUpgradeEvent(e, engine.get(id).state);
        if (isFinalEvent(e) && e.id !== 0) return;
      }
      if (signal.aborted || stopped) return;
      await new Promise<void>((resolve) => {
        wake = resolve;
        // Poll the state now and then: a workflow halted by a shutdown sends no final event.
        setTimeout(resolve, 5000).unref();
      });
      wake = undefined;
      const now = engine.get(id).state;
      if (now !== 'running' && now !== 'aborting' && queue.length === 0) stopped = true;
    }
  } finally {
    unsubscribe();
    signal.removeEventListener('abort', onAbort);
  }
}

export function toWorkflowView(engine: WorkflowEngine, row: WorkflowRow): UpgradeWorkflow {
  const steps = engine.steps(row.id);
  const plan = steps.find((s) => s.name === 'plan')?.outcome as { hosts?: Array<{ name: string; uuid: string; order: number; action: string }> } | undefined;
  const hosts = (plan?.hosts ?? [])
    .filter((h) => h.action === 'upgrade')
    .sort((a, b) => a.order - b.order)
    .map((h) => {
      const mine = steps.filter((s) => s.name.startsWith(`host:${h.uuid}:`));
      const last = mine[mine.length - 1];
      const enable = mine.find((s) => s.name === `host:${h.uuid}:enable`);
      return { name: h.name, order: h.order, phase: last === undefined ? 'waiting' : `${phaseOf(last.name)} (${last.status})`, done: enable?.status === 'done' };
    });
  const events = engine.events(row.id);
  return {
    id: row.id,
    pool: row.pool,
    kind: row.kind,
    state: row.state,
    startedBy: row.startedBy,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    error: row.error,
    request: row.request,
    hosts,
    compensations: engine.store.compensations(row.id).map((c) => ({ name: c.name, status: c.status, error: str(c.args['error']) })),
    resultJson: row.result === undefined ? '' : JSON.stringify(row.result),
    paramsJson: JSON.stringify(row.params ?? {}),
    lastEventId: events.length === 0 ? 0 : (events[events.length - 1]?.id ?? 0),
  };
}
