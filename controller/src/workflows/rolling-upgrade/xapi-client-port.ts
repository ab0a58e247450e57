import { parseTaskResult } from '../../xapi/parse-task-result.js';
import type { XapiClient } from '../../xapi/xapi-client.js';
import { XsctlError } from '@xsctl/common/errors/index';
import { XapiError } from '../../xapi/xapi-error.js';
import { XapiUnreachableError } from '../../xapi/xapi-unreachable-error.js';
import { plannerClasses, type PoolRecords, type RecordsByRef, type XapiRecordLike } from './pool-records.js';
import { realSleep, xapiCode, type AsyncCallOptions, type UpgradeXapi } from './upgrade-ports.js';

type UntypedCall = (method: string, args: readonly unknown[], options?: { signal?: AbortSignal; timeoutMs?: number }) => Promise<unknown>;

/**
 * The workflow's XAPI port on the controller's XapiClient. Async calls are started here (not with
 * XapiClient.callAsync) so the task ref reaches the journal before the task is followed: a
 * controller that dies mid-migration finds the task again. Fields the typed records leave out
 * (pool HA statefiles and configuration, VM blocked_operations, current_operations) are read with
 * their getters, which XapiClient passes through untouched.
 */
export function xapiClientPort(first: XapiClient, reconnect?: () => Promise<XapiClient>): UpgradeXapi {
  let client = first;
  let replacing: Promise<void> | undefined;
  // When the master's xapi restarts, xen-api's own re-login can fail (HOST_STILL_BOOTING) and
  // leave it without a session: every later call then fails an assertion. Such a client is
  // replaced by a new connection; the call fails as "unreachable", which the workflow retries.
  const call: UntypedCall = async (method, args, options) => {
    try {
      return await (client.call.bind(client) as unknown as UntypedCall)(method, args, options);
    } catch (err) {
      if (err instanceof XsctlError || xapiCode(err) !== 'ERR_ASSERTION') throw err;
      const broken = client;
      if (reconnect !== undefined) {
        replacing ??= reconnect()
          .then((fresh) => {
            client = fresh;
            void broken.close().catch(() => undefined);
          })
          .catch(() => undefined)
          .finally(() => {
            replacing = undefined;
          });
        await replacing;
      }
      throw new XapiUnreachableError(broken.url, 'session lost while XAPI restarts', { cause: err });
    }
  };

  const taskRecord = async (ref: string, signal?: AbortSignal): Promise<XapiRecordLike | undefined> => {
    try {
      return (await call('task.get_record', [ref], signal === undefined ? {} : { signal })) as XapiRecordLike;
    } catch (err) {
      if (err instanceof XapiError && err.code === 'HANDLE_INVALID') return undefined;
      throw err;
    }
  };

  const awaitTask = async (ref: string, options: AsyncCallOptions = {}, method = 'task'): Promise<unknown> => {
    const signal = options.signal ?? new AbortController().signal;
    const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
    let last = -1;
    for (let delay = 250; ; delay = Math.min(2000, delay * 2)) {
      const task = await taskRecord(ref, signal);
      if (task === undefined) throw new XapiError('HANDLE_INVALID', ['task', ref], method);
      const progress = Number(task['progress'] ?? 0);
      if (progress !== last) options.onProgress?.(progress);
      last = progress;
      const status = String(task['status']);
      if (status === 'success' || status === 'failure' || status === 'cancelled') {
        void call('task.destroy', [ref]).catch(() => undefined);
        if (status === 'success') return parseTaskResult(String(task['result'] ?? ''));
        const info = Array.isArray(task['error_info']) ? (task['error_info'] as unknown[]).map(String) : [];
        const [code = status === 'cancelled' ? 'TASK_CANCELLED' : 'INTERNAL_ERROR', ...params] = info;
        throw new XapiError(code, params, method);
      }
      if (signal.aborted || Date.now() > deadline) {
        await call('task.cancel', [ref]).catch(() => undefined);
        throw signal.aborted ? signal.reason : new XapiError('XAPI_TIMEOUT', [method], method);
      }
      await realSleep(delay, signal).catch(() => undefined);
    }
  };

  return {
    async readRecords(signal) {
      const out: Record<string, RecordsByRef> = {};
      const opts = signal === undefined ? {} : { signal };
      for (const cls of plannerClasses) {
        try {
          out[cls] = (await call(`${cls}.get_all_records`, [], opts)) as RecordsByRef;
        } catch (err) {
          // Classes a release does not have (pool_update before 7.1).
          if (err instanceof XapiError && err.code === 'MESSAGE_METHOD_UNKNOWN') continue;
          throw err;
        }
      }
      for (const [ref, pool] of Object.entries(out['pool'] ?? {})) {
        out['pool']![ref] = { ...pool, ha_statefiles: await call('pool.get_ha_statefiles', [ref], opts), ha_configuration: await call('pool.get_ha_configuration', [ref], opts) };
      }
      for (const [ref, vm] of Object.entries(out['VM'] ?? {})) {
        if (vm['power_state'] !== 'Running' || vm['is_control_domain'] === true) continue;
        out['VM']![ref] = { ...vm, blocked_operations: await call('VM.get_blocked_operations', [ref], opts), current_operations: await call('VM.get_current_operations', [ref], opts) };
      }
      return out as PoolRecords;
    },
    call: (method, args, signal) => call(method, args, signal === undefined ? {} : { signal }),
    async callAsync(method, args, options = {}) {
      const ref = String(await call(`Async.${method}`, args, options.signal === undefined ? {} : { signal: options.signal }));
      options.onTask?.(ref);
      return awaitTask(ref, options, method);
    },
    awaitTask: (ref, options) => awaitTask(ref, options),
    async taskStatus(ref, signal) {
      const task = await taskRecord(ref, signal);
      if (task === undefined) return undefined;
      return { status: String(task['status']), errorInfo: Array.isArray(task['error_info']) ? (task['error_info'] as unknown[]).map(String) : [] };
    },
    close: () => client.close(),
  };
}
