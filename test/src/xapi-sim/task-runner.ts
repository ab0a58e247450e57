import { formatXapiDate, XAPI_EPOCH_DATE } from './clock.js';
import type { XapiRelease } from './datamodel.js';
import { encodeValue } from './xmlrpc-codec.js';
import { inferRpc, parseType, toRpc, type DmType } from './wire-value.js';
import { XapiFailure } from './xapi-failure.js';
import type { XapiDb } from './xapi-db.js';
import { newRef, NULL_REF, type XapiValue } from './xapi-value.js';

/** The database task a call runs in (xapi's Context task), as its method sees it. */
export interface TaskHandle {
  readonly ref: string;
  /** Fraction done, 0..1, as task.progress. */
  setProgress(fraction: number): void;
}

export interface TaskOptions {
  /** How the result is marshalled into task.result (rpc_of_<result type>). */
  resultType?: DmType;
  release?: XapiRelease;
  /** The session the task belongs to (task.session, an internal column). */
  session?: string;
  /** The task this one is a subtask of (task.subtask_of). */
  subtaskOf?: string;
}

/**
 * Runs calls in xapi's database tasks (taskHelper.ml): a `task` row is created pending with
 * type "<none/>", the call's label as name_label and this host as resident_on; when the call
 * settles the row gets progress 1, finished, and either status success with result = the
 * XML-RPC rendering of the value (Xmlrpc.to_string, int64 as an untyped <value>, a void result as
 * `<value></value>`), or failure with error_info, or cancelled. Async calls return the ref at
 * once and the row stays until task.destroy; sync calls of async-capable messages destroy their
 * task when they return (Context.finally_destroy_context).
 */
export class TaskRunner {
  private readonly running = new Map<string, AbortController>();
  private readonly settled = new Map<string, Promise<void>>();

  constructor(private readonly db: XapiDb) {
    db.addClass('task');
  }

  /** task.create: a pending task nobody runs (clients use it to track their own HTTP transfers). */
  create(nameLabel: string, nameDescription = '', session = '', subtaskOf?: string): string {
    return this.db.create('task', this.pendingTask(nameLabel, nameDescription, { session, ...(subtaskOf === undefined ? {} : { subtaskOf }) }));
  }

  /** Resolves when the task started by `start` has finished (whatever its outcome). */
  whenSettled(ref: string): Promise<void> {
    return this.settled.get(ref) ?? Promise.resolve();
  }

  /** Starts `run` in a new task and returns the task's ref at once. */
  start(nameLabel: string, parentSignal: AbortSignal, run: (task: TaskHandle, signal: AbortSignal) => Promise<unknown>, options: TaskOptions = {}): string {
    const { ref, controller, done } = this.begin(nameLabel, parentSignal, options);
    const settled = (async () => {
      try {
        const result = await run(this.handle(ref), controller.signal);
        if (controller.signal.aborted) throw controller.signal.reason;
        this.succeed(ref, result, options);
      } catch (error) {
        this.fail(ref, controller, error);
      } finally {
        done();
        this.settled.delete(ref);
      }
    })();
    this.settled.set(ref, settled);
    return ref;
  }

  /** Runs `run` in a task that lives only as long as the call, and returns its result. */
  async runSync<T>(nameLabel: string, parentSignal: AbortSignal, run: (task: TaskHandle, signal: AbortSignal) => Promise<T> | T, options: TaskOptions = {}): Promise<T> {
    const { ref, controller, done } = this.begin(nameLabel, parentSignal, options);
    try {
      const result = await run(this.handle(ref), controller.signal);
      if (controller.signal.aborted) throw controller.signal.reason;
      return result;
    } catch (error) {
      // A sync call that is cancelled answers TASK_CANCELLED, as xapi's exec_with_context re-raises.
      if (controller.signal.aborted && !(error instanceof XapiFailure)) throw new XapiFailure('TASK_CANCELLED', [ref]);
      throw error;
    } finally {
      done();
      if (this.db.has('task', ref)) this.db.destroy('task', ref);
    }
  }

  /** task.cancel: asks the running method to stop; it ends as `cancelled`. */
  cancel(ref: string, by = newRef()): void {
    const row = this.db.getRecord('task', ref);
    if (row['status'] !== 'pending') return;
    // xapi_task.ml cancel: the cancelling call's own task is recorded in current_operations.
    this.db.update('task', ref, { current_operations: { [by]: 'cancel' } });
    const controller = this.running.get(ref);
    if (controller !== undefined) controller.abort(new XapiFailure('TASK_CANCELLED', [ref]));
    else this.finish(ref, 'cancelled', { progress: 1 });
  }

  abortAll(reason: unknown): void {
    for (const controller of this.running.values()) controller.abort(reason);
  }

  private begin(nameLabel: string, parentSignal: AbortSignal, options: TaskOptions): { ref: string; controller: AbortController; done: () => void } {
    const ref = this.db.create('task', this.pendingTask(nameLabel, '', options));
    const controller = new AbortController();
    const onParentAbort = (): void => controller.abort(parentSignal.reason);
    if (parentSignal.aborted) controller.abort(parentSignal.reason);
    else parentSignal.addEventListener('abort', onParentAbort, { once: true });
    this.running.set(ref, controller);
    const done = (): void => {
      parentSignal.removeEventListener('abort', onParentAbort);
      this.running.delete(ref);
    };
    return { ref, controller, done };
  }

  private handle(ref: string): TaskHandle {
    return { ref, setProgress: (fraction) => this.updateIfPresent(ref, { progress: Math.min(1, Math.max(0, fraction)) }) };
  }

  private succeed(ref: string, result: unknown, options: TaskOptions): void {
    const type = options.resultType ?? parseType('unknown');
    const rpc = options.release === undefined || type.k === 'unknown' ? (result === undefined ? toRpc(parseType('void'), result, { kind: 'named', code: 'rio' }) : inferRpc(result)) : toRpc(type, result, options.release);
    this.finish(ref, 'success', { result: encodeValue(rpc), progress: 1 });
  }

  private fail(ref: string, controller: AbortController, error: unknown): void {
    if (controller.signal.aborted && (!(error instanceof XapiFailure) || error.code === 'TASK_CANCELLED')) {
      this.finish(ref, 'cancelled', { progress: 1 });
      return;
    }
    const [code, params] = error instanceof XapiFailure ? [error.code, [...error.params]] : ['INTERNAL_ERROR', [error instanceof Error ? error.message : String(error)]];
    this.finish(ref, 'failure', { error_info: [code, ...params], progress: 1 });
  }

  private pendingTask(nameLabel: string, nameDescription: string, options: TaskOptions): Record<string, XapiValue> {
    const uuid = newRef().slice('OpaqueRef:'.length);
    return {
      uuid,
      name_label: nameLabel,
      name_description: nameDescription,
      allowed_operations: ['cancel'],
      current_operations: {},
      created: formatXapiDate(this.db.clock.now()),
      finished: XAPI_EPOCH_DATE,
      status: 'pending',
      resident_on: this.db.hasClass('pool') && this.db.count('pool') > 0 ? this.db.masterRef() : NULL_REF,
      progress: 0,
      // taskHelper.ml make: ~_type:"<none/>".
      type: '<none/>',
      result: '',
      error_info: [],
      other_config: {},
      subtask_of: options.subtaskOf ?? NULL_REF,
      backtrace: '()',
      session: options.session ?? NULL_REF,
    };
  }

  private finish(ref: string, status: 'success' | 'failure' | 'cancelled', fields: Record<string, XapiValue>): void {
    this.updateIfPresent(ref, {
      ...fields,
      status,
      finished: formatXapiDate(this.db.clock.now()),
      allowed_operations: [],
      current_operations: {},
    });
  }

  private updateIfPresent(ref: string, fields: Record<string, XapiValue>): void {
    // The client may destroy a task while it still runs; its outcome then goes nowhere.
    if (this.db.has('task', ref)) this.db.update('task', ref, fields);
  }
}
