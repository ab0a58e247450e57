import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { NotFoundError, XsctlError } from '@xsctl/common/errors/index';
import type { Journal } from '../../journal/journal.js';
import { WorkflowAbortedError, WorkflowHalted, WorkflowStateError } from './workflow-errors.js';
import { WorkflowStore, type EventRow, type JournalWriteHook, type StepRow, type WorkflowRow } from './workflow-store.js';

/**
 * Durable workflows over the SQLite journal.
 *
 * A workflow is a function of named steps. Before a step's side effect the engine commits its
 * intent; after it, its outcome together with the compensation that undoes it. A controller that
 * dies anywhere re-runs the workflow function from the top on restart: steps whose outcome is
 * recorded return it without running; a step that has an intent but no outcome "may have run", so
 * its `check` asks the real world (XAPI) whether it took effect, and it runs again only if it did
 * not. Nothing is repeated blindly. Pause takes effect at the workflow's safe points, abort at the
 * next step (and interrupts waits); abort and failure run the pending compensations in reverse
 * order, and a finished workflow runs the ones left (restoring HA, WLB, ...).
 */

export interface StepIo {
  signal: AbortSignal;
  /** Adds details to the recorded intent (e.g. the XAPI task this step started), for `check` after a crash. */
  note(detail: Record<string, unknown>): void;
  /** An ephemeral progress event (not journaled). */
  progress(data: Record<string, unknown>): void;
}

export interface StepOptions<T> {
  host?: string;
  intent?: Record<string, unknown>;
  /**
   * Asks the world whether the step already took effect. Called when the journal shows the step
   * may have run (intent without outcome, failed, or compensated since). Returns the outcome when
   * it did, undefined when it did not (the step then runs). `recorded` is the intent with notes.
   */
  check?: (recorded: Record<string, unknown>, io: StepIo) => Promise<T | undefined>;
  run: (io: StepIo) => Promise<T>;
  /** The compensation registered with the outcome, in the same transaction. */
  compensation?: (outcome: T) => { name: string; args: Record<string, unknown> } | undefined;
  /** Compensations this step makes unnecessary (e.g. enabling a host releases "re-enable host"). */
  releases?: readonly string[];
}

export interface WorkflowContext {
  readonly id: string;
  readonly pool: string;
  readonly params: unknown;
  readonly startedBy: string;
  /** Aborted on abort and on controller shutdown. */
  readonly signal: AbortSignal;
  readonly logger: Logger;
  step<T>(name: string, options: StepOptions<T>): Promise<T>;
  /** The recorded outcome of a finished step, if any. */
  outcome<T>(name: string): T | undefined;
  emit(kind: string, data: Record<string, unknown>, options?: { persist?: boolean }): void;
  /** Where a pause takes effect (between hosts for the rolling upgrade). */
  safePoint(): void;
  /** Whether the admin resumed this workflow after `since` (ISO time): how manual steps are confirmed. */
  resumedSince(since: string): boolean;
}

export interface CompensationContext {
  readonly id: string;
  readonly pool: string;
  readonly params: unknown;
  readonly signal: AbortSignal;
  readonly logger: Logger;
  emit(kind: string, data: Record<string, unknown>): void;
  /** Why compensations run: the workflow finished, failed or was aborted. */
  readonly why: 'finish' | 'failure' | 'abort';
}

export interface WorkflowKind {
  readonly kind: string;
  run(ctx: WorkflowContext): Promise<unknown>;
  /** Runs one compensation; must be idempotent (check first, then act). */
  compensate(name: string, args: Record<string, unknown>, ctx: CompensationContext): Promise<void>;
  /** Summarises a failure for the final event and `status`. */
  describeFailure?(err: unknown): string;
}

export interface WorkflowEvent {
  /** 0 for ephemeral progress events. */
  id: number;
  workflowId: string;
  at: string;
  kind: string;
  data: Record<string, unknown>;
}

export interface EngineOptions {
  journal: Journal;
  logger: Logger;
  kinds: readonly WorkflowKind[];
  now?: () => Date;
  /** Test hook called after each committed step write; see kill-hook.ts. */
  onStepWrite?: JournalWriteHook;
}

interface Running {
  controller: AbortController;
  done: Promise<WorkflowRow>;
}

const terminal = new Set(['done', 'failed', 'aborted']);

export function isHalted(err: unknown): err is WorkflowHalted {
  return err instanceof WorkflowHalted;
}

export class WorkflowEngine {
  readonly store: WorkflowStore;
  private readonly kinds = new Map<string, WorkflowKind>();
  private readonly running = new Map<string, Running>();
  private readonly bus = new EventEmitter();
  private readonly logger: Logger;
  /** Set by a simulated crash or shutdown: every later journal write is refused. */
  private halted: WorkflowHalted | undefined;

  constructor(private readonly options: EngineOptions) {
    this.logger = options.logger;
    for (const k of options.kinds) this.kinds.set(k.kind, k);
    const hook = options.onStepWrite;
    this.store = new WorkflowStore(options.journal.db, options.now, (count, what) => {
      if (hook === undefined) return;
      try {
        hook(count, what);
      } catch (err) {
        if (isHalted(err)) this.halt(err);
        throw err;
      }
    });
    this.bus.setMaxListeners(0);
  }

  // ------------------------------------------------------------ admin operations

  /** Creates the workflow (refused while another is active on the pool) and runs it in the background. */
  start(kind: string, pool: string, params: unknown, startedBy: string): WorkflowRow {
    this.assertAlive();
    if (!this.kinds.has(kind)) throw new NotFoundError('workflow kind', kind);
    const row = this.store.create(pool, kind, params, startedBy);
    this.record(row.id, 'workflow-started', { kind, pool, startedBy, params: params as Record<string, unknown> });
    this.drive(row.id);
    return row;
  }

  get(id: string): WorkflowRow {
    const row = this.store.get(id);
    if (row === undefined) throw new NotFoundError('workflow', id);
    return row;
  }

  steps(id: string): StepRow[] {
    return this.store.steps(id);
  }

  pause(id: string): WorkflowRow {
    const row = this.get(id);
    if (row.state !== 'running') throw new WorkflowStateError(id, row.state, 'pause');
    this.store.setRequest(id, 'pause');
    this.record(id, 'pause-requested', {});
    return this.get(id);
  }

  /** Continues a paused workflow, or a failed one after the admin fixed the cause. */
  resume(id: string): WorkflowRow {
    const row = this.get(id);
    if (row.state === 'running' && this.running.has(id)) throw new WorkflowStateError(id, row.state, 'resume');
    if (row.state !== 'paused' && row.state !== 'failed' && row.state !== 'running') throw new WorkflowStateError(id, row.state, 'resume');
    if (row.state === 'failed') {
      // Back to active: refused by the database if another workflow started on the pool meanwhile.
      try {
        this.store.setState(id, 'running', { request: '', error: '' });
      } catch (err) {
        const active = this.store.activeFor(row.pool);
        // Any other refusal (a disk error, a locked database) is not a conflict: passed on as it is.
        if (active === undefined) throw err;
        throw new WorkflowStateError(id, `failed, and pool ${row.pool} has another active workflow ${active.id}`, 'resume');
      }
    } else {
      this.store.setState(id, 'running', { request: '' });
    }
    this.record(id, 'resumed', {});
    this.drive(id);
    return this.get(id);
  }

  abort(id: string): WorkflowRow {
    const row = this.get(id);
    if (terminal.has(row.state)) throw new WorkflowStateError(id, row.state, 'abort');
    this.store.setRequest(id, 'abort');
    this.record(id, 'abort-requested', {});
    const running = this.running.get(id);
    if (running !== undefined) {
      running.controller.abort(new WorkflowAbortedError(id));
    } else {
      this.store.setState(id, 'aborting');
      this.drive(id);
    }
    return this.get(id);
  }

  /** After a controller restart: continues every workflow that was running or aborting. */
  resumeAll(): string[] {
    const ids: string[] = [];
    for (const row of this.store.list({ activeOnly: true, limit: 1000 })) {
      if (row.state === 'paused' || this.running.has(row.id) || !this.kinds.has(row.kind)) continue;
      this.record(row.id, 'controller-restarted', { state: row.state });
      this.drive(row.id);
      ids.push(row.id);
    }
    return ids;
  }

  /** Resolves when the workflow stops running in this process (finished, paused, failed, halted). */
  async wait(id: string): Promise<WorkflowRow> {
    const running = this.running.get(id);
    if (running !== undefined) return running.done;
    return this.get(id);
  }

  /** Stops every running workflow without changing its state: it resumes on the next start. */
  async shutdown(): Promise<void> {
    this.halt(new WorkflowHalted('shutdown'));
    await Promise.allSettled([...this.running.values()].map((r) => r.done));
  }

  // ------------------------------------------------------------ events

  /** Journaled events after `afterId`, then live ones; returns the unsubscribe function. */
  subscribe(id: string, afterId: number, listener: (e: WorkflowEvent) => void): () => void {
    let last = afterId;
    const live = (e: WorkflowEvent): void => {
      if (e.workflowId !== id) return;
      if (e.id !== 0) {
        if (e.id <= last) return;
        last = e.id;
      }
      listener(e);
    };
    this.bus.on('event', live);
    for (const e of this.store.events(id, afterId)) {
      if (e.id <= last) continue;
      last = e.id;
      listener(e);
    }
    return () => this.bus.off('event', live);
  }

  /** Every event of every workflow as it happens (journaled and ephemeral); returns the unsubscribe function. */
  onEvent(listener: (e: WorkflowEvent) => void): () => void {
    this.bus.on('event', listener);
    return () => this.bus.off('event', listener);
  }

  events(id: string, afterId = 0): EventRow[] {
    return this.store.events(id, afterId);
  }

  private record(workflowId: string, kind: string, data: Record<string, unknown>): void {
    if (this.halted !== undefined) return;
    const row = this.store.addEvent(workflowId, kind, data);
    this.bus.emit('event', row);
  }

  private ephemeral(workflowId: string, kind: string, data: Record<string, unknown>): void {
    if (this.halted !== undefined) return;
    this.bus.emit('event', { id: 0, workflowId, at: new Date().toISOString(), kind, data } satisfies WorkflowEvent);
  }

  // ------------------------------------------------------------ running

  private halt(reason: WorkflowHalted): void {
    this.halted ??= reason;
    for (const r of this.running.values()) r.controller.abort(reason);
  }

  private assertAlive(): void {
    if (this.halted !== undefined) throw this.halted;
  }

  private drive(id: string): void {
    if (this.running.has(id)) return;
    const controller = new AbortController();
    const done = (async (): Promise<WorkflowRow> => {
      await new Promise((resolve) => setImmediate(resolve));
      try {
        await this.execute(id, controller);
      } catch (err) {
        if (!isHalted(err)) this.logger.error({ err, workflow: id }, 'workflow engine error');
      } finally {
        this.running.delete(id);
      }
      return this.store.get(id) as WorkflowRow;
    })();
    this.running.set(id, { controller, done });
  }

  private async execute(id: string, controller: AbortController): Promise<void> {
    const row = this.get(id);
    const kind = this.kinds.get(row.kind);
    if (kind === undefined) throw new NotFoundError('workflow kind', row.kind);
    if (row.state === 'aborting' || (row.state === 'running' && row.request === 'abort')) {
      this.store.setState(id, 'aborting');
      await this.compensateAll(row, kind, 'abort', controller.signal);
      this.finish(id, 'aborted', { error: 'aborted by the admin' });
      return;
    }
    if (row.state !== 'running') return;

    const ctx = this.context(row, controller);
    let result: unknown;
    try {
      result = await kind.run(ctx);
    } catch (err) {
      if (isHalted(err) && err.reason === 'paused') {
        this.store.setState(id, 'paused', { request: '' });
        this.record(id, 'paused', {});
        return;
      }
      if (isHalted(err) || this.halted !== undefined) throw this.halted ?? err;
      const now = this.get(id);
      if (now.request === 'abort' || err instanceof WorkflowAbortedError) {
        this.store.setState(id, 'aborting');
        this.record(id, 'aborting', {});
        await this.compensateAll(now, kind, 'abort', new AbortController().signal);
        this.finish(id, 'aborted', { error: 'aborted by the admin' });
        return;
      }
      const message = kind.describeFailure?.(err) ?? describe(err);
      this.record(id, 'failing', { error: message, code: err instanceof XsctlError ? err.code : '' });
      await this.compensateAll(now, kind, 'failure', new AbortController().signal);
      this.finish(id, 'failed', { error: message });
      return;
    }
    await this.compensateAll(row, kind, 'finish', controller.signal);
    this.finish(id, 'done', { result });
  }

  private finish(id: string, state: 'done' | 'failed' | 'aborted', extra: { error?: string; result?: unknown }): void {
    this.assertAlive();
    this.store.setState(id, state, { ...extra, request: '' });
    this.record(id, 'workflow-finished', { state, ...(extra.error === undefined ? {} : { error: extra.error }), ...(extra.result === undefined ? {} : { result: extra.result as Record<string, unknown> }) });
  }

  private async compensateAll(row: WorkflowRow, kind: WorkflowKind, why: 'finish' | 'failure' | 'abort', signal: AbortSignal): Promise<void> {
    const pending = this.store.compensations(row.id).filter((c) => c.status === 'pending').reverse();
    const cctx: CompensationContext = {
      id: row.id,
      pool: row.pool,
      params: row.params,
      signal,
      logger: this.logger,
      why,
      emit: (k, data) => this.ephemeral(row.id, k, data),
    };
    for (const c of pending) {
      this.assertAlive();
      this.record(row.id, 'compensation-started', { name: c.name, why });
      try {
        await kind.compensate(c.name, c.args, cctx);
        this.assertAlive();
        this.store.setCompensationStatus(row.id, c.name, 'done');
        if (why !== 'finish' && typeof c.args['step'] === 'string') this.store.markCompensated(row.id, c.args['step']);
        this.record(row.id, 'compensation-done', { name: c.name });
      } catch (err) {
        if (isHalted(err) || this.halted !== undefined) throw this.halted ?? err;
        const message = describe(err);
        this.store.setCompensationStatus(row.id, c.name, 'failed', { error: message });
        this.record(row.id, 'compensation-failed', { name: c.name, error: message });
      }
    }
  }

  private context(row: WorkflowRow, controller: AbortController): WorkflowContext {
    const id = row.id;
    // The context's methods are plain functions handed to workflow code; they reach the engine here.
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const engine = this;
    const checkRequests = (): void => {
      engine.assertAlive();
      if (controller.signal.aborted) throw controller.signal.reason;
      if (engine.store.get(id)?.request === 'abort') throw new WorkflowAbortedError(id);
    };
    return {
      id,
      pool: row.pool,
      params: row.params,
      startedBy: row.startedBy,
      signal: controller.signal,
      logger: this.logger.child({ workflow: id }),
      outcome<T>(name: string): T | undefined {
        const s = engine.store.step(id, name);
        return s?.status === 'done' ? (s.outcome as T) : undefined;
      },
      emit(kind, data, options) {
        if (options?.persist === false) engine.ephemeral(id, kind, data);
        else engine.record(id, kind, data);
      },
      resumedSince(since: string): boolean {
        return engine.store.events(id).some((e) => e.kind === 'resumed' && e.at > since);
      },
      safePoint() {
        checkRequests();
        if (engine.store.get(id)?.request === 'pause') throw new WorkflowHalted('paused');
      },
      async step<T>(name: string, options: StepOptions<T>): Promise<T> {
        const existing = engine.store.step(id, name);
        if (existing?.status === 'done') return existing.outcome as T;
        checkRequests();
        const io: StepIo = {
          signal: controller.signal,
          note: (detail) => {
            engine.assertAlive();
            engine.store.noteIntent(id, name, detail);
          },
          progress: (data) => engine.ephemeral(id, 'progress', { step: name, host: options.host ?? '', ...data }),
        };
        const host = options.host ?? '';
        if (existing !== undefined) {
          // It may have run: ask the world before doing anything.
          const verified = options.check === undefined ? undefined : await options.check(existing.intent, io);
          engine.assertAlive();
          if (verified !== undefined) {
            engine.store.recordOutcome(id, name, 'done', verified, options.compensation?.(verified), options.releases);
            engine.record(id, 'step-verified', { step: name, host, outcome: verified as Record<string, unknown> });
            return verified;
          }
        }
        engine.store.recordIntent(id, name, host, options.intent ?? {});
        engine.record(id, 'step-started', { step: name, host, intent: options.intent ?? {} });
        let outcome: T;
        try {
          outcome = await options.run(io);
        } catch (err) {
          if (isHalted(err) || engine.halted !== undefined) throw engine.halted ?? err;
          engine.store.recordOutcome(id, name, 'failed', { error: describe(err), code: err instanceof XsctlError ? err.code : '' });
          engine.record(id, 'step-failed', { step: name, host, error: describe(err), code: err instanceof XsctlError ? err.code : '' });
          throw err;
        }
        engine.assertAlive();
        engine.store.recordOutcome(id, name, 'done', outcome, options.compensation?.(outcome), options.releases);
        engine.record(id, 'step-done', { step: name, host, outcome: (outcome ?? null) as Record<string, unknown> });
        return outcome;
      },
    };
  }
}

export function describe(err: unknown): string {
  if (err instanceof XsctlError) return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}
