import { randomUUID } from 'node:crypto';
import type { Db } from '../../journal/journal.js';
import { WorkflowConflictError } from './workflow-errors.js';

/** Workflow states. The first three are "active": at most one per pool (a database constraint). */
export type WorkflowState = 'running' | 'paused' | 'aborting' | 'done' | 'failed' | 'aborted';
export const activeStates: readonly WorkflowState[] = ['running', 'paused', 'aborting'];

export type StepStatus = 'started' | 'done' | 'failed' | 'compensated';
export type CompensationStatus = 'pending' | 'done' | 'failed' | 'released';
export type WorkflowRequest = '' | 'pause' | 'abort';

export interface WorkflowRow {
  id: string;
  pool: string;
  kind: string;
  state: WorkflowState;
  params: unknown;
  startedBy: string;
  createdAt: string;
  updatedAt: string;
  request: WorkflowRequest;
  error: string;
  result: unknown;
}

export interface StepRow {
  seq: number;
  name: string;
  host: string;
  status: StepStatus;
  intent: Record<string, unknown>;
  outcome: unknown;
  startedAt: string;
  finishedAt: string;
}

export interface CompensationRow {
  seq: number;
  name: string;
  args: Record<string, unknown>;
  status: CompensationStatus;
}

export interface EventRow {
  id: number;
  workflowId: string;
  at: string;
  kind: string;
  data: Record<string, unknown>;
}

/**
 * Called after every committed step write (an intent or an outcome) with the running count. The
 * crash tests use it to stop the controller at each boundary; see kill-hook.ts.
 */
export type JournalWriteHook = (count: number, what: { workflowId: string; step: string; phase: 'intent' | 'outcome' }) => void;

const parse = (text: string | null | undefined): unknown => (text === null || text === undefined || text === '' ? undefined : JSON.parse(text));

/** SQL for workflows, steps, compensations and events; every write is its own committed transaction. */
export class WorkflowStore {
  private writes = 0;

  constructor(
    private readonly db: Db,
    private readonly now: () => Date = () => new Date(),
    private readonly onStepWrite: JournalWriteHook | undefined = undefined,
  ) {}

  private stamp(): string {
    return this.now().toISOString();
  }

  private afterStepWrite(workflowId: string, step: string, phase: 'intent' | 'outcome'): void {
    this.writes++;
    this.onStepWrite?.(this.writes, { workflowId, step, phase });
  }

  // ------------------------------------------------------------ workflows

  create(pool: string, kind: string, params: unknown, startedBy: string): WorkflowRow {
    const id = randomUUID();
    const at = this.stamp();
    try {
      this.db.transaction(() => {
        this.db
          .prepare('INSERT INTO workflow (id, pool, kind, state, params, started_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
          .run(id, pool, kind, 'running', JSON.stringify(params ?? {}), startedBy, at, at);
        this.db.prepare('INSERT INTO workflow_control (workflow_id) VALUES (?)').run(id);
      })();
    } catch (err) {
      if (err instanceof Error && /UNIQUE/.test(err.message)) {
        const active = this.activeFor(pool);
        throw new WorkflowConflictError(pool, active?.id ?? '', active?.kind ?? '', active?.state ?? '', { cause: err });
      }
      throw err;
    }
    return this.get(id) as WorkflowRow;
  }

  get(id: string): WorkflowRow | undefined {
    const row = this.db
      .prepare(
        `SELECT w.id, w.pool, w.kind, w.state, w.params, w.started_by, w.created_at, w.updated_at, c.request, c.error, c.result
         FROM workflow w LEFT JOIN workflow_control c ON c.workflow_id = w.id WHERE w.id = ?`,
      )
      .get(id) as Record<string, string> | undefined;
    return row === undefined ? undefined : toWorkflow(row);
  }

  list(filter: { pool?: string; kind?: string; activeOnly?: boolean; limit?: number } = {}): WorkflowRow[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.pool !== undefined && filter.pool !== '') {
      where.push('w.pool = ?');
      args.push(filter.pool);
    }
    if (filter.kind !== undefined) {
      where.push('w.kind = ?');
      args.push(filter.kind);
    }
    if (filter.activeOnly === true) {
      where.push(`w.state IN (${activeStates.map(() => '?').join(', ')})`);
      args.push(...activeStates);
    }
    const rows = this.db
      .prepare(
        `SELECT w.id, w.pool, w.kind, w.state, w.params, w.started_by, w.created_at, w.updated_at, c.request, c.error, c.result
         FROM workflow w LEFT JOIN workflow_control c ON c.workflow_id = w.id
         ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY w.created_at DESC, w.rowid DESC LIMIT ?`,
      )
      .all(...args, filter.limit ?? 100) as Record<string, string>[];
    return rows.map(toWorkflow);
  }

  activeFor(pool: string): WorkflowRow | undefined {
    return this.list({ pool, activeOnly: true, limit: 1 })[0];
  }

  setState(id: string, state: WorkflowState, extra: { error?: string; result?: unknown; request?: WorkflowRequest } = {}): void {
    this.db.transaction(() => {
      this.db.prepare('UPDATE workflow SET state = ?, updated_at = ? WHERE id = ?').run(state, this.stamp(), id);
      if (extra.error !== undefined) this.db.prepare('UPDATE workflow_control SET error = ? WHERE workflow_id = ?').run(extra.error, id);
      if (extra.result !== undefined) this.db.prepare('UPDATE workflow_control SET result = ? WHERE workflow_id = ?').run(JSON.stringify(extra.result), id);
      if (extra.request !== undefined) this.db.prepare('UPDATE workflow_control SET request = ? WHERE workflow_id = ?').run(extra.request, id);
    })();
  }

  setRequest(id: string, request: WorkflowRequest): void {
    this.db.prepare('UPDATE workflow_control SET request = ? WHERE workflow_id = ?').run(request, id);
  }

  // ------------------------------------------------------------ steps

  step(workflowId: string, name: string): StepRow | undefined {
    const row = this.db.prepare('SELECT * FROM step WHERE workflow_id = ? AND name = ?').get(workflowId, name) as Record<string, unknown> | undefined;
    return row === undefined ? undefined : toStep(row);
  }

  steps(workflowId: string): StepRow[] {
    return (this.db.prepare('SELECT * FROM step WHERE workflow_id = ? ORDER BY seq').all(workflowId) as Record<string, unknown>[]).map(toStep);
  }

  /** Records the intent before the side effect; a step seen before keeps its seq and is set back to started. */
  recordIntent(workflowId: string, name: string, host: string, intent: Record<string, unknown>): void {
    const at = this.stamp();
    this.db.transaction(() => {
      const existing = this.step(workflowId, name);
      if (existing === undefined) {
        const next = (this.db.prepare('SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM step WHERE workflow_id = ?').get(workflowId) as { n: number }).n;
        this.db
          .prepare('INSERT INTO step (workflow_id, seq, name, host, status, intent, outcome, started_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, NULL, ?, NULL)')
          .run(workflowId, next, name, host, 'started', JSON.stringify(intent), at);
      } else {
        this.db
          .prepare("UPDATE step SET status = 'started', intent = ?, outcome = NULL, started_at = ?, finished_at = NULL WHERE workflow_id = ? AND name = ?")
          .run(JSON.stringify({ ...existing.intent, ...intent, attempts: Number(existing.intent['attempts'] ?? 1) + 1 }), at, workflowId, name);
      }
    })();
    this.afterStepWrite(workflowId, name, 'intent');
  }

  /** Adds details learnt while the side effect runs (e.g. the XAPI task ref) to the intent. */
  noteIntent(workflowId: string, name: string, detail: Record<string, unknown>): void {
    const existing = this.step(workflowId, name);
    if (existing === undefined) return;
    this.db.prepare('UPDATE step SET intent = ? WHERE workflow_id = ? AND name = ?').run(JSON.stringify({ ...existing.intent, ...detail }), workflowId, name);
  }

  /**
   * Records the outcome and, in the same transaction, the compensation that undoes the step and
   * the compensations the step makes unnecessary.
   */
  recordOutcome(
    workflowId: string,
    name: string,
    status: 'done' | 'failed',
    outcome: unknown,
    compensation?: { name: string; args: Record<string, unknown> },
    releases: readonly string[] = [],
  ): void {
    this.db.transaction(() => {
      this.db
        .prepare('UPDATE step SET status = ?, outcome = ?, finished_at = ? WHERE workflow_id = ? AND name = ?')
        .run(status, JSON.stringify(outcome ?? null), this.stamp(), workflowId, name);
      if (compensation !== undefined) this.upsertCompensation(workflowId, compensation.name, { ...compensation.args, step: name });
      for (const r of releases) this.db.prepare("UPDATE compensation SET status = 'released' WHERE workflow_id = ? AND name = ? AND status = 'pending'").run(workflowId, r);
    })();
    this.afterStepWrite(workflowId, name, 'outcome');
  }

  markCompensated(workflowId: string, stepName: string): void {
    this.db.prepare("UPDATE step SET status = 'compensated' WHERE workflow_id = ? AND name = ? AND status = 'done'").run(workflowId, stepName);
  }

  // ------------------------------------------------------------ compensations

  private upsertCompensation(workflowId: string, name: string, args: Record<string, unknown>): void {
    const existing = this.db.prepare('SELECT seq FROM compensation WHERE workflow_id = ? AND name = ?').get(workflowId, name) as { seq: number } | undefined;
    // A re-registered compensation moves to the end: undo runs in reverse order of registration.
    const next = (this.db.prepare('SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM compensation WHERE workflow_id = ?').get(workflowId) as { n: number }).n;
    if (existing === undefined) {
      this.db.prepare("INSERT INTO compensation (workflow_id, seq, name, args, status) VALUES (?, ?, ?, ?, 'pending')").run(workflowId, next, name, JSON.stringify(args));
    } else {
      this.db.prepare("UPDATE compensation SET seq = ?, args = ?, status = 'pending' WHERE workflow_id = ? AND name = ?").run(next, JSON.stringify(args), workflowId, name);
    }
  }

  compensations(workflowId: string): CompensationRow[] {
    return (this.db.prepare('SELECT seq, name, args, status FROM compensation WHERE workflow_id = ? ORDER BY seq').all(workflowId) as Record<string, unknown>[]).map((r) => ({
      seq: Number(r['seq']),
      name: String(r['name']),
      args: (parse(String(r['args'])) ?? {}) as Record<string, unknown>,
      status: String(r['status']) as CompensationStatus,
    }));
  }

  setCompensationStatus(workflowId: string, name: string, status: CompensationStatus, note?: Record<string, unknown>): void {
    this.db.transaction(() => {
      if (note !== undefined) {
        const row = this.db.prepare('SELECT args FROM compensation WHERE workflow_id = ? AND name = ?').get(workflowId, name) as { args: string } | undefined;
        const args = { ...((parse(row?.args) ?? {}) as Record<string, unknown>), ...note };
        this.db.prepare('UPDATE compensation SET args = ? WHERE workflow_id = ? AND name = ?').run(JSON.stringify(args), workflowId, name);
      }
      this.db.prepare('UPDATE compensation SET status = ? WHERE workflow_id = ? AND name = ?').run(status, workflowId, name);
    })();
  }

  // ------------------------------------------------------------ events

  addEvent(workflowId: string, kind: string, data: Record<string, unknown>): EventRow {
    const at = this.stamp();
    const info = this.db.prepare('INSERT INTO event (workflow_id, at, kind, data) VALUES (?, ?, ?, ?)').run(workflowId, at, kind, JSON.stringify(data));
    return { id: Number(info.lastInsertRowid), workflowId, at, kind, data };
  }

  events(workflowId: string, afterId = 0, limit = 10_000): EventRow[] {
    return (this.db.prepare('SELECT id, workflow_id, at, kind, data FROM event WHERE workflow_id = ? AND id > ? ORDER BY id LIMIT ?').all(workflowId, afterId, limit) as Record<string, unknown>[]).map((r) => ({
      id: Number(r['id']),
      workflowId: String(r['workflow_id']),
      at: String(r['at']),
      kind: String(r['kind']),
      data: (parse(String(r['data'])) ?? {}) as Record<string, unknown>,
    }));
  }
}

function toWorkflow(row: Record<string, string>): WorkflowRow {
  return {
    id: row['id'] as string,
    pool: row['pool'] as string,
    kind: row['kind'] as string,
    state: row['state'] as WorkflowState,
    params: parse(row['params']) ?? {},
    startedBy: row['started_by'] as string,
    createdAt: row['created_at'] as string,
    updatedAt: row['updated_at'] as string,
    request: (row['request'] ?? '') as WorkflowRequest,
    error: row['error'] ?? '',
    result: parse(row['result']),
  };
}

function toStep(row: Record<string, unknown>): StepRow {
  return {
    seq: Number(row['seq']),
    name: String(row['name']),
    host: String(row['host'] ?? ''),
    status: String(row['status']) as StepStatus,
    intent: (parse(String(row['intent'])) ?? {}) as Record<string, unknown>,
    outcome: parse(row['outcome'] === null ? undefined : String(row['outcome'])),
    startedAt: String(row['started_at']),
    finishedAt: row['finished_at'] === null ? '' : String(row['finished_at']),
  };
}
