import type { WorkflowEngine } from '../workflows/engine/workflow-engine.js';
import { phaseOf } from '../services/upgrade/upgrade-events.js';
import type { ControllerMetrics } from './controller-metrics.js';

const seconds = (from: string, to: string): number | undefined => {
  const ms = Date.parse(to) - Date.parse(from);
  return Number.isFinite(ms) && ms >= 0 ? ms / 1000 : undefined;
};

/**
 * Step and workflow durations from the journal's own timestamps (intent -> outcome, created ->
 * finished), observed when the engine announces the outcome. A step verified after a restart is
 * not observed: its recorded start belongs to the controller that died.
 */
export function observeWorkflowMetrics(engine: WorkflowEngine, metrics: ControllerMetrics): () => void {
  return engine.onEvent((e) => {
    if (e.id === 0) return;
    if (e.kind === 'step-done' || e.kind === 'step-failed') {
      const name = typeof e.data['step'] === 'string' ? e.data['step'] : '';
      const step = engine.store.step(e.workflowId, name);
      const row = engine.store.get(e.workflowId);
      if (step === undefined || row === undefined) return;
      const s = seconds(step.startedAt, step.finishedAt);
      if (s !== undefined) metrics.stepDuration.observe({ kind: row.kind, phase: phaseOf(step.name), status: e.kind === 'step-done' ? 'done' : 'failed' }, s);
    } else if (e.kind === 'workflow-finished') {
      const row = engine.store.get(e.workflowId);
      if (row === undefined) return;
      const s = seconds(row.createdAt, e.at);
      if (s !== undefined) metrics.workflowDuration.observe({ kind: row.kind, state: typeof e.data['state'] === 'string' ? e.data['state'] : row.state }, s);
    }
  });
}
