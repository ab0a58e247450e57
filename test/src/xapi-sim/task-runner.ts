import { formatXapiDate, XAPI_EPOCH_DATE } from './clock.js';
import { XapiFailure } from './xapi-failure.js';
import type { XapiDb } from './xapi-db.js';
import { encodeTaskResult } from './xmlrpc-value.js';
import { newRef, NULL_REF, type XapiValue } from './xapi-value.js';

/** Given to a method running as `Async.<method>`. */
export interface TaskHandle {
  readonly ref: string;
  /** Fraction done, 0..1, as task.progress. */
  setProgress(fraction: number): void;
}

/**
 * Runs methods as XAPI tasks: a `task` row is created pending, the call returns its ref at once,
 * and the row moves to success/failure/cancelled when the method settles, with the result
 * XML-RPC encoded and failures in error_info, as XAPI does.
 */
export class TaskRunner {
  private readonly running = new Map<string, AbortController>();

  constructor(private readonly db: XapiDb) {
    db.addClass('task');
  }

  /** task.create: a pending task nobody runs (clients use it to track their own HTTP transfers). */
  create(nameLabel: string, nameDescription = ''): string {
    return this.db.create('task', this.pendingTask(nameLabel, nameDescription));
  }

  start(nameLabel: string, parentSignal: AbortSignal, run: (task: TaskHandle, signal: AbortSignal) => Promise<unknown>): string {
    const ref = this.db.create('task', this.pendingTask(nameLabel, ''));
    const controller = new AbortController();
    const onParentAbort = (): void => controller.abort(parentSignal.reason);
    parentSignal.addEventListener('abort', onParentAbort, { once: true });
    this.running.set(ref, controller);
    const handle: TaskHandle = {
      ref,
      setProgress: (fraction) => this.updateIfPresent(ref, { progress: Math.min(1, Math.max(0, fraction)) }),
    };
    void (async () => {
      try {
        const result = await run(handle, controller.signal);
        if (controller.signal.aborted) throw controller.signal.reason;
        this.finish(ref, 'success', { result: encodeTaskResult(result as XapiValue | undefined), progress: 1 });
      } catch (error) {
        if (controller.signal.aborted) this.finish(ref, 'cancelled', { error_info: ['TASK_CANCELLED', ref] });
        else if (error instanceof XapiFailure) this.finish(ref, 'failure', { error_info: [error.code, ...error.params] });
        else this.finish(ref, 'failure', { error_info: ['INTERNAL_ERROR', error instanceof Error ? error.message : String(error)] });
      } finally {
        parentSignal.removeEventListener('abort', onParentAbort);
        this.running.delete(ref);
      }
    })();
    return ref;
  }

  /** task.cancel: asks the running method to stop; it ends as `cancelled`. */
  cancel(ref: string): void {
    const row = this.db.getRecord('task', ref);
    if (row['status'] !== 'pending') return;
    this.db.update('task', ref, { current_operations: { [newRef()]: 'cancel' } });
    const controller = this.running.get(ref);
    if (controller !== undefined) controller.abort(new XapiFailure('TASK_CANCELLED', [ref]));
    else this.finish(ref, 'cancelled', { error_info: ['TASK_CANCELLED', ref] });
  }

  abortAll(reason: unknown): void {
    for (const controller of this.running.values()) controller.abort(reason);
  }

  private pendingTask(nameLabel: string, nameDescription: string): Record<string, XapiValue> {
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
      type: '',
      result: '',
      error_info: [],
      other_config: {},
      subtask_of: NULL_REF,
      backtrace: '()',
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
