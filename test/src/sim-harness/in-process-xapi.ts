import { parseTaskResult, XapiError } from '@xsctl/controller/xapi/index';
import { plannerClasses, type PoolRecords, type RecordsByRef } from '@xsctl/controller/workflows/rolling-upgrade/pool-records';
import type { AsyncCallOptions, UpgradeXapi } from '@xsctl/controller/workflows/rolling-upgrade/upgrade-ports';
import { dispatch, type DispatchEnv } from '../xapi-sim/dispatch.js';
import { MethodRegistry, type Credentials } from '../xapi-sim/method-registry.js';
import { TaskRunner } from '../xapi-sim/task-runner.js';
import type { XapiDb } from '../xapi-sim/xapi-db.js';
import { XapiFailure } from '../xapi-sim/xapi-failure.js';
import { registerCoreMethods } from '../xapi-sim/methods/index.js';

/**
 * The simulator without HTTP: the same dispatch (sessions, slave check, argument counts, tasks)
 * called directly, for tests and benchmarks that run a whole rolling upgrade in one process. The
 * client side behaves like XapiClient: it logs in again when the session ends, errors carry XAPI's
 * code, Async calls are followed to the end of their task.
 */
export interface InProcessSim {
  db: XapiDb;
  registry: MethodRegistry;
  tasks: TaskRunner;
  env: DispatchEnv;
  /** A new client, as the controller opens one per workflow run. */
  connect(): Promise<UpgradeXapi>;
  close(): void;
}

const credentials: Credentials = { user: 'root', password: 'in-process' };

export function inProcessSim(db: XapiDb): InProcessSim {
  const registry = registerCoreMethods(new MethodRegistry());
  const tasks = new TaskRunner(db);
  const closing = new AbortController();
  const env: DispatchEnv = { db, clock: db.clock, server: { credentials, registry, tasks, listenerHostRef: undefined }, closing: closing.signal };
  return {
    db,
    registry,
    tasks,
    env,
    connect: async () => {
      const client = new InProcessClient(env);
      await client.login();
      return client;
    },
    close: () => {
      closing.abort(new Error('closed'));
      tasks.abortAll(new Error('closed'));
    },
  };
}

function toError(method: string, err: unknown): unknown {
  if (err instanceof XapiFailure) return new XapiError(err.code, [...err.params], method);
  return err;
}

class InProcessClient implements UpgradeXapi {
  private session = '';
  private closed = false;

  constructor(private readonly env: DispatchEnv) {}

  async login(): Promise<void> {
    try {
      this.session = String(await dispatch(this.env, 'session.login_with_password', [credentials.user, credentials.password], new AbortController().signal));
    } catch (err) {
      throw toError('session.login_with_password', err);
    }
  }

  private async raw(method: string, args: readonly unknown[], signal?: AbortSignal): Promise<unknown> {
    if (this.closed) throw new XapiError('XAPI_UNREACHABLE', ['client closed'], method);
    for (let attempt = 0; ; attempt++) {
      if (this.session === '') await this.login();
      try {
        return await dispatch(this.env, method, [this.session, ...args], signal ?? new AbortController().signal);
      } catch (err) {
        if (err instanceof XapiFailure && err.code === 'SESSION_INVALID' && attempt === 0) {
          this.session = '';
          continue;
        }
        throw toError(method, err);
      }
    }
  }

  async readRecords(signal?: AbortSignal): Promise<PoolRecords> {
    const out: Record<string, RecordsByRef> = {};
    for (const cls of plannerClasses) {
      if (!this.env.db.hasClass(cls)) continue;
      out[cls] = (await this.raw(`${cls}.get_all_records`, [], signal)) as RecordsByRef;
    }
    return out as PoolRecords;
  }

  call(method: string, args: readonly unknown[], signal?: AbortSignal): Promise<unknown> {
    return this.raw(method, args, signal);
  }

  async callAsync(method: string, args: readonly unknown[], options: AsyncCallOptions = {}): Promise<unknown> {
    const task = String(await this.raw(`Async.${method}`, args, options.signal));
    options.onTask?.(task);
    return this.awaitTask(task, options, method);
  }

  async awaitTask(taskRef: string, options: AsyncCallOptions = {}, method = 'task'): Promise<unknown> {
    const { db } = this.env;
    const signal = options.signal ?? new AbortController().signal;
    const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
    let lastProgress = -1;
    for (;;) {
      if (!db.has('task', taskRef)) throw new XapiError('HANDLE_INVALID', ['task', taskRef], method);
      const task = db.getRecord('task', taskRef);
      const progress = typeof task['progress'] === 'number' ? task['progress'] : 0;
      if (progress !== lastProgress) options.onProgress?.(progress);
      lastProgress = progress;
      if (task['status'] === 'success') {
        db.destroy('task', taskRef);
        return parseTaskResult(String(task['result'] ?? ''));
      }
      if (task['status'] === 'failure' || task['status'] === 'cancelled') {
        db.destroy('task', taskRef);
        const [code = 'INTERNAL_ERROR', ...params] = (task['error_info'] ?? []) as string[];
        throw new XapiError(code, params, method);
      }
      if (signal.aborted) {
        this.env.server.tasks.cancel(taskRef);
        throw signal.reason;
      }
      if (Date.now() > deadline) {
        this.env.server.tasks.cancel(taskRef);
        throw new XapiError('XAPI_TIMEOUT', [method], method);
      }
      await db.waitForChange(30_000, signal).catch(() => undefined);
    }
  }

  async taskStatus(taskRef: string): Promise<{ status: string; errorInfo: string[] } | undefined> {
    const task = this.env.db.tryGetRecord('task', taskRef);
    if (task === undefined) return undefined;
    return { status: String(task['status']), errorInfo: (task['error_info'] ?? []) as string[] };
  }

  async close(): Promise<void> {
    if (this.session !== '') await dispatch(this.env, 'session.logout', [this.session], new AbortController().signal).catch(() => undefined);
    this.closed = true;
  }
}
