import pRetry from 'p-retry';
import { createClient } from 'xen-api';
import { ValidationError } from '@xsctl/common/errors/index';
import type { Logger } from '@xsctl/common/log/create-logger';
import { decodeResult } from './decode-result.js';
import { normalizeRecord } from './normalize-record.js';
import { parseTaskResult } from './parse-task-result.js';
import { asRef, type Ref } from './ref.js';
import { toXapiError } from './to-xapi-error.js';
import { callPolicy, type CallPolicy, type CallTable } from './xapi-call-table.js';
import { XapiCancelledError } from './xapi-cancelled-error.js';
import { XapiError } from './xapi-error.js';
import type { XapiArgs, XapiAsyncMethodName, XapiEventBatch, XapiMethodName, XapiResult } from './xapi-methods.js';
import { XapiReadOnlyError } from './xapi-read-only-error.js';
import type { TaskRecord, XapiClass, XapiClassRecords } from './xapi-records.js';
import { XapiTimeoutError } from './xapi-timeout-error.js';
import { XapiUnreachableError } from './xapi-unreachable-error.js';
import { assertXapiTransport, redirectRefused, type XapiTransportPolicy } from './xapi-transport-policy.js';

/**
 * The slice of the `xen-api` client XapiClient drives. `transport` in the options replaces it: the
 * in-process XAPI simulator plugs in here (tests, benchmarks, `--from-dump` rehearsals), so every
 * caller still goes through this class. A transport throws XAPI failures as objects with `code`
 * and `params`, and socket failures with a node error `code` (ECONNREFUSED, ...).
 */
export interface XapiTransport {
  readonly status: 'connected' | 'connecting' | 'disconnected';
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  call(method: string, ...args: unknown[]): Promise<unknown>;
}

export type XapiTransportFactory = (url: URL, auth: { user: string; password: string }) => XapiTransport;

export interface XapiConnectOptions extends XapiTransportPolicy {
  /** The pool master, e.g. https://10.0.0.5. A slave's address works too: XAPI names the master. */
  url: string;
  user: string;
  password: string;
  /** Refuse every method that is not read-only in the call table (prechecks). */
  readOnly?: boolean;
  signal?: AbortSignal;
  /** Replaces entries of the call table for this client (slow sites, tests). */
  callTable?: CallTable;
  logger?: Pick<Logger, 'debug'>;
  /** Told about every XAPI request sent (each attempt): for metrics. `code` is '' on success. */
  observe?: (call: { method: string; seconds: number; code: string }) => void;
  /** Replaces the xen-api client (the in-process simulator). */
  transport?: XapiTransportFactory;
}

export interface XapiCallOptions {
  signal?: AbortSignal;
  /** Replaces the call table's timeout for this one call. */
  timeoutMs?: number;
}

/** Backoff between attempts of an idempotent call: 250 ms, 500 ms, 1 s, ... at most 5 s. */
const retryBackoff = { factor: 2, minTimeout: 250, maxTimeout: 5000, randomize: false } as const;

export interface XapiAsyncOptions extends XapiCallOptions {
  /** The task XAPI started, as soon as it is known: a durable caller journals it to find the task after a crash. */
  onTask?: (task: Ref<'task'>) => void;
  /** task.progress (0..1) each time it changes. */
  onProgress?: (fraction: number) => void;
}

/** Each event.from wait while watching a task, in seconds; short enough to notice aborts and deadlines. */
const taskWatchSliceSeconds = 30;

function parseXapiUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ValidationError('xapi.url', `not a URL: ${text}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ValidationError('xapi.url', 'must be http:// or https://');
  // Credentials go in their own fields so they never end up in a URL that is logged or shown.
  if (url.username !== '' || url.password !== '') throw new ValidationError('xapi.url', 'must not contain credentials');
  url.search = '';
  url.hash = '';
  return url;
}

function sleep(ms: number, signal: AbortSignal | undefined, method: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new XapiCancelledError(method, { cause: signal.reason }));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new XapiCancelledError(method, { cause: signal?.reason }));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The product's only door to XAPI. Wraps the `xen-api` client with typed records and methods,
 * per-method timeouts and retries from the call table, a read-only mode, Async calls that follow
 * their task to the end, and typed errors (XapiError with XAPI's code verbatim, XapiUnreachableError,
 * XapiTimeoutError, XapiReadOnlyError, XapiCancelledError). Credentials and call arguments are
 * never logged or put in errors.
 */
export class XapiClient {
  private xapi: XapiTransport | undefined;
  private masterUrl: URL;
  private reconnecting: Promise<void> | undefined;
  private closed = false;

  private constructor(private readonly options: XapiConnectOptions) {
    this.masterUrl = parseXapiUrl(options.url);
    // An injected transport (the in-process simulator) sends nothing over a network.
    if (options.transport === undefined) assertXapiTransport(this.masterUrl, options);
  }

  /** HOST_IS_SLAVE is followed only when the pool's config says so; otherwise it is refused. */
  private get followsRedirects(): boolean {
    return this.options.followMasterRedirect === true;
  }

  /** Logs in (following HOST_IS_SLAVE to the master only if `followMasterRedirect`) and returns a ready client. */
  static async connect(options: XapiConnectOptions): Promise<XapiClient> {
    const client = new XapiClient(options);
    await client.open(options.signal);
    return client;
  }

  /** Where the client currently talks to: the master it found, without credentials. */
  get url(): string {
    return this.masterUrl.origin;
  }

  get readOnly(): boolean {
    return this.options.readOnly === true;
  }

  async close(): Promise<void> {
    this.closed = true;
    const xapi = this.xapi;
    this.xapi = undefined;
    if (xapi !== undefined) await this.guard('session.logout', xapi.disconnect(), 5000, undefined).catch(() => undefined);
  }

  /** One XAPI call, typed by the method table; results are normalised (records, numbers). */
  async call<M extends XapiMethodName>(method: M, args: XapiArgs<M>, options: XapiCallOptions = {}): Promise<XapiResult<M>> {
    return (await this.callChecked(method, args, options)) as XapiResult<M>;
  }

  async getAllRecords<K extends XapiClass>(cls: K, options: XapiCallOptions = {}): Promise<Map<Ref<K>, XapiClassRecords[K]>> {
    const records = (await this.callChecked(`${cls}.get_all_records`, [], options)) as Record<string, XapiClassRecords[K]>;
    return new Map(Object.entries(records).map(([ref, record]) => [asRef<K>(ref), record]));
  }

  async getRecord<K extends XapiClass>(cls: K, ref: Ref<K>, options: XapiCallOptions = {}): Promise<XapiClassRecords[K]> {
    return (await this.callChecked(`${cls}.get_record`, [ref], options)) as XapiClassRecords[K];
  }

  /**
   * Runs `Async.<method>` and waits for its task to finish, within the method's timeout from the
   * call table. A failed task throws XapiError from its error_info. If the signal aborts or the
   * timeout passes, the task is asked to cancel (the operation may still complete on the pool).
   */
  async callAsync<M extends XapiAsyncMethodName>(method: M, args: XapiArgs<M>, options: XapiAsyncOptions = {}): Promise<XapiResult<M>> {
    const policy = this.policyFor(method, args, options);
    this.assertAllowed(method, policy);
    // Starting the task is never resent: a lost reply would otherwise start the operation twice.
    const start = callPolicy(`Async.${method}`, args, this.options.callTable);
    const taskRef = asRef<'task'>(await this.invoke(`Async.${method}`, args, { ...start, retries: 0 }, options.signal));
    options.onTask?.(taskRef);
    return this.followTask(method, taskRef, policy.timeoutMs, options);
  }

  /**
   * Follows a task started earlier (by this client, or by a controller that died) to its end, as
   * callAsync does, within `method`'s budget from the call table. HANDLE_INVALID when XAPI no
   * longer knows the task (it finished and was destroyed, or the master restarted).
   */
  async awaitTask<M extends XapiAsyncMethodName>(method: M, task: Ref<'task'>, options: Omit<XapiAsyncOptions, 'onTask'> = {}): Promise<XapiResult<M>> {
    const policy = this.policyFor(method, [], options);
    return this.followTask(method, task, policy.timeoutMs, options);
  }

  /** The task's record, or undefined when XAPI no longer knows it. */
  async taskStatus(task: Ref<'task'>, options: XapiCallOptions = {}): Promise<TaskRecord | undefined> {
    try {
      return await this.getRecord('task', task, options);
    } catch (error) {
      if (error instanceof XapiError && error.code === 'HANDLE_INVALID') return undefined;
      throw error;
    }
  }

  // ------------------------------------------------------------------ internals

  private async followTask<M extends XapiAsyncMethodName>(method: M, taskRef: Ref<'task'>, budgetMs: number, options: Omit<XapiAsyncOptions, 'onTask'>): Promise<XapiResult<M>> {
    const deadline = Date.now() + budgetMs;
    let task: TaskRecord;
    try {
      task = await this.watchTask(taskRef, method, deadline, budgetMs, options.signal, options.onProgress);
    } catch (error) {
      if (error instanceof XapiCancelledError || error instanceof XapiTimeoutError) {
        await this.send('task.cancel', [taskRef], 30_000, undefined).catch(() => undefined);
      }
      throw error;
    }
    void this.send('task.destroy', [taskRef], 30_000, undefined).catch(() => undefined);
    if (task.status === 'success') return decodeResult(method, parseTaskResult(task.result)) as XapiResult<M>;
    if (task.status === 'cancelled') throw new XapiCancelledError(method);
    const [code = 'INTERNAL_ERROR', ...params] = task.error_info;
    throw new XapiError(code, params, method);
  }

  private async callChecked(method: string, args: readonly unknown[], options: XapiCallOptions): Promise<unknown> {
    const policy = this.policyFor(method, args, options);
    this.assertAllowed(method, policy);
    return decodeResult(method, await this.invoke(method, args, policy, options.signal));
  }

  private policyFor(method: string, args: readonly unknown[], options: XapiCallOptions): CallPolicy {
    const policy = callPolicy(method, args, this.options.callTable);
    return options.timeoutMs === undefined ? policy : { ...policy, timeoutMs: options.timeoutMs };
  }

  private assertAllowed(method: string, policy: CallPolicy): void {
    if (this.readOnly && !policy.readOnly) throw new XapiReadOnlyError(method);
  }

  /** Sends with the policy's retries (p-retry): only idempotent calls, only after unreachable or HOST_IS_SLAVE. */
  private async invoke(method: string, args: readonly unknown[], policy: CallPolicy, signal: AbortSignal | undefined): Promise<unknown> {
    const isSlave = (error: unknown): error is XapiError => error instanceof XapiError && error.code === 'HOST_IS_SLAVE';
    try {
      return await pRetry(() => this.send(method, args, policy.timeoutMs, signal), {
        ...retryBackoff,
        retries: policy.idempotent ? policy.retries : 0,
        ...(signal === undefined ? {} : { signal }),
        shouldRetry: (error) => (isSlave(error) && this.followsRedirects) || error instanceof XapiUnreachableError,
        onFailedAttempt: async (error) => {
          // The master moved (designate_new_master, HA): every later call must go to the new one,
          // whether or not this one is sent again.
          if (isSlave(error) && this.followsRedirects) await this.followMaster(error.params[0] ?? '', signal);
          if (error.retriesLeft > 0) this.options.logger?.debug({ method, attempt: error.attemptNumber, code: (error as { code?: string }).code }, 'retrying XAPI call');
        },
      });
    } catch (error) {
      // p-retry rejects with the signal's reason when aborted between attempts.
      if (signal?.aborted === true && error === signal.reason) throw new XapiCancelledError(method, { cause: signal.reason });
      if (isSlave(error) && !this.followsRedirects) throw redirectRefused(this.url, error.params[0] ?? '');
      throw error;
    }
  }

  private async send(method: string, args: readonly unknown[], timeoutMs: number, signal: AbortSignal | undefined): Promise<unknown> {
    if (this.closed) throw new XapiUnreachableError(this.url, 'client closed');
    // xen-api drops its session after a second SESSION_INVALID in a row; log in again.
    if (this.xapi === undefined || this.xapi.status !== 'connected') await this.reopen(signal);
    const started = Date.now();
    try {
      const result = await this.guard(method, this.xapi!.call(method, ...args), timeoutMs, signal);
      this.options.logger?.debug({ method, ms: Date.now() - started }, 'XAPI call');
      this.options.observe?.({ method, seconds: (Date.now() - started) / 1000, code: '' });
      return result;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      this.options.logger?.debug({ method, ms: Date.now() - started, code }, 'XAPI call failed');
      this.options.observe?.({ method, seconds: (Date.now() - started) / 1000, code: typeof code === 'string' ? code : 'UNKNOWN' });
      // When the master's xapi restarts, xen-api's own re-login can fail (HOST_STILL_BOOTING) and
      // leave it connected without a session: every later call fails an assertion. Drop it; the
      // next call logs in afresh.
      if (code === 'ERR_ASSERTION') {
        const broken = this.xapi;
        this.xapi = undefined;
        void broken?.disconnect().catch(() => undefined);
        throw new XapiUnreachableError(this.url, 'session lost while XAPI restarts', { cause: error });
      }
      throw error;
    }
  }

  /** Races a xen-api promise against the timeout and the signal, and types whatever it throws. */
  private guard<T>(method: string, promise: Promise<T>, timeoutMs: number, signal: AbortSignal | undefined): Promise<T> {
    // The abandoned promise may still reject later; that must not become an unhandled rejection.
    promise.catch(() => undefined);
    return new Promise<T>((resolve, reject) => {
      if (signal?.aborted) {
        reject(new XapiCancelledError(method, { cause: signal.reason }));
        return;
      }
      const cleanup = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = (): void => {
        cleanup();
        reject(new XapiCancelledError(method, { cause: signal?.reason }));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new XapiTimeoutError(method, timeoutMs));
      }, timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      promise.then(
        (value) => {
          cleanup();
          resolve(value);
        },
        (error: unknown) => {
          cleanup();
          reject(toXapiError(method, error, this.url));
        },
      );
    });
  }

  private async open(signal: AbortSignal | undefined): Promise<void> {
    const auth = { user: this.options.user, password: this.options.password };
    const xapi: XapiTransport = this.options.transport?.(new URL(this.masterUrl.href), auth) ?? createXenApiClient(this.masterUrl, auth, this.options);
    const login = callPolicy('session.login_with_password', [], this.options.callTable);
    try {
      await this.guard('session.login_with_password', xapi.connect(), login.timeoutMs, signal);
    } catch (error) {
      void xapi.disconnect().catch(() => undefined);
      if (error instanceof XapiError && error.code === 'HOST_IS_SLAVE' && !this.followsRedirects) throw redirectRefused(this.url, error.params[0] ?? '', { cause: error });
      // xen-api followed HOST_IS_SLAVE and the master the host named did not answer (a slave
      // whose master is dead: xapi_session.ml answers HOST_IS_SLAVE without asking the master).
      // Name the master that is unreachable, not the slave that answered.
      const followed = (xapi as unknown as { _url?: { hostname?: unknown } })._url?.hostname;
      if (error instanceof XapiUnreachableError && typeof followed === 'string' && followed !== '' && followed !== this.masterUrl.hostname) {
        const master = new URL(this.masterUrl.href);
        master.hostname = followed;
        throw new XapiUnreachableError(master.origin, `${error.reason} (named the pool master by ${this.url}, HOST_IS_SLAVE)`, { cause: error });
      }
      throw error;
    }
    // xen-api follows HOST_IS_SLAVE during login on its own and keeps the master in its private
    // URL; remember it so a reconnect goes straight to the master.
    const hostname = (xapi as unknown as { _url?: { hostname?: unknown } })._url?.hostname;
    if (typeof hostname === 'string' && hostname !== '' && hostname !== this.masterUrl.hostname) this.masterUrl.hostname = hostname;
    const previous = this.xapi;
    this.xapi = xapi;
    if (previous !== undefined) void previous.disconnect().catch(() => undefined);
    if (this.closed) await this.close();
  }

  private reopen(signal: AbortSignal | undefined): Promise<void> {
    // Concurrent calls that all find the session gone share one login.
    this.reconnecting ??= this.open(signal).finally(() => {
      this.reconnecting = undefined;
    });
    return this.reconnecting;
  }

  private async followMaster(address: string, signal: AbortSignal | undefined): Promise<void> {
    if (address === '' || address === this.masterUrl.hostname) return;
    this.options.logger?.debug({ master: address }, 'XAPI master moved');
    this.masterUrl.hostname = address.includes(':') && !address.startsWith('[') ? `[${address}]` : address;
    await this.reopen(signal);
  }

  /** Follows one task with event.from on that object until it leaves pending. */
  private async watchTask(ref: Ref<'task'>, method: string, deadline: number, budgetMs: number, signal: AbortSignal | undefined, onProgress?: (fraction: number) => void): Promise<TaskRecord> {
    let token = '';
    let progress = -1;
    const seen = (task: TaskRecord): void => {
      if (task.progress === progress) return;
      progress = task.progress;
      onProgress?.(progress);
    };
    for (;;) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new XapiTimeoutError(method, budgetMs);
      const wait = Math.min(taskWatchSliceSeconds, Math.max(0.1, remaining / 1000));
      const args = [[`task/${ref}`], token, wait];
      let batch: XapiEventBatch;
      try {
        batch = decodeResult('event.from', await this.invoke('event.from', args, callPolicy('event.from', args, this.options.callTable), signal)) as XapiEventBatch;
      } catch (error) {
        if (error instanceof XapiError && error.code === 'MESSAGE_METHOD_UNKNOWN') return this.pollTask(ref, method, deadline, budgetMs, signal, seen);
        throw error;
      }
      token = batch.token;
      for (const event of batch.events) {
        if (event.ref !== ref) continue;
        if (event.operation === 'del') throw new XapiError('HANDLE_INVALID', ['task', ref], method);
        const task = normalizeRecord('task', event.snapshot);
        seen(task);
        if (task.status !== 'pending' && task.status !== 'cancelling') return task;
      }
    }
  }

  /** For XAPI without event.from (before XenServer 6.1): poll the task record. */
  private async pollTask(ref: Ref<'task'>, method: string, deadline: number, budgetMs: number, signal: AbortSignal | undefined, seen: (task: TaskRecord) => void): Promise<TaskRecord> {
    for (;;) {
      const task = await this.getRecord('task', ref, { signal });
      seen(task);
      if (task.status !== 'pending' && task.status !== 'cancelling') return task;
      if (Date.now() >= deadline) throw new XapiTimeoutError(method, budgetMs);
      await sleep(1000, signal, method);
    }
  }
}

function createXenApiClient(url: URL, auth: { user: string; password: string }, options: XapiConnectOptions): XapiTransport {
  const client = createClient({
    url: url.href,
    auth,
    allowUnauthorized: options.allowUnauthorized === true,
    // Read-only is enforced by XapiClient with the call table's allow-list, which also permits the
    // event.from and task calls that xen-api's own read-only mode forbids.
    readOnly: false,
    watchEvents: false,
    // Retries and timeouts are XapiClient's business; xen-api's only backstop abandoned requests.
    roCallRetryOptions: { tries: 1 },
    callTimeout: (method: string, args: unknown[]) => callPolicy(method, args, options.callTable).timeoutMs + 60_000,
    syncStackTraces: false,
  });
  // xen-api follows HOST_IS_SLAVE at login by itself (a second try, with the password, at the
  // address the host names): allowed only when the pool's config says so.
  if (options.followMasterRedirect !== true) {
    const own = client as unknown as { _sessionOpenRetryOptions?: Record<string, unknown> };
    own._sessionOpenRetryOptions = { ...own._sessionOpenRetryOptions, tries: 1 };
  }
  return client;
}
