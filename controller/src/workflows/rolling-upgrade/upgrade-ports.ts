import type { PoolRecords } from './pool-records.js';

/**
 * What the rolling-upgrade workflow needs from XAPI, narrowed to the calls it makes. The
 * controller backs it with XapiClient (controller/src/xapi); tests back it with the simulator
 * in-process. Implementations re-login by themselves when the session ends (the master reboots)
 * and throw errors carrying XAPI's `code` and `params` verbatim.
 */
export interface UpgradeXapi {
  /** Every record of the classes the planner and the workflow read, as on the wire. */
  readRecords(signal?: AbortSignal): Promise<PoolRecords>;
  call(method: string, args: readonly unknown[], signal?: AbortSignal): Promise<unknown>;
  /**
   * `Async.<method>`, following the task to its end. `onTask` gets the task ref as soon as XAPI
   * returns it (the workflow journals it, to find the task again after a crash).
   */
  callAsync(method: string, args: readonly unknown[], options?: AsyncCallOptions): Promise<unknown>;
  /** Follows a task started earlier (possibly by a controller that died) to its end. */
  awaitTask(taskRef: string, options?: AsyncCallOptions): Promise<unknown>;
  /** A task's status, or undefined when XAPI no longer knows it (finished and destroyed, or the master restarted). */
  taskStatus(taskRef: string, signal?: AbortSignal): Promise<{ status: string; errorInfo: string[] } | undefined>;
  close(): Promise<void>;
}

export interface AsyncCallOptions {
  signal?: AbortSignal;
  onTask?: (taskRef: string) => void;
  onProgress?: (fraction: number) => void;
  /** Give up after this long (the task is cancelled). */
  timeoutMs?: number;
}

/** Agents answer (HostService.GetFacts) once a host is back. */
export type AgentProbe = (pool: string, host: { uuid: string; name: string; address: string }, signal: AbortSignal) => Promise<void>;

export interface PrecheckFinding {
  /** Named check, e.g. `dell-utility-partition`, `VM_REQUIRES_SR`. */
  check: string;
  host: string;
  vm?: string;
  severity: 'blocker' | 'warning';
  message: string;
}

/** The prechecks (controller/src/prechecks) as the workflow consumes them. */
export type PrecheckRunner = (pool: string, signal: AbortSignal) => Promise<PrecheckFinding[]>;

/** Precheck findings the workflow handles itself: HA/WLB are switched off and back on; evacuation
 * and capacity are what the plan decides, with finer-grained overrides (VM_REQUIRES_SR, ...). */
export const precheckIdsHandledByTheWorkflow: ReadonlySet<string> = new Set(['ha', 'wlb', 'evacuation', 'capacity']);

export interface RollingUpgradeDeps {
  openXapi(pool: string, signal: AbortSignal): Promise<UpgradeXapi>;
  probeAgent?: AgentProbe;
  runPrechecks?: PrecheckRunner;
  /** Saves the pool database on the controller (as `xe pool-dump-database`) before anything changes. */
  takeMetadataBackup?: (pool: string, signal: AbortSignal) => Promise<{ file: string; sha256: string; bytes: number }>;
  /** Wall-clock sleep used by waits; tests pass a faster one. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** XAPI's error code of a failure, whatever layer threw it ('' when it is not an XAPI error). */
export function xapiCode(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof (err as { code: unknown }).code === 'string') return (err as { code: string }).code;
  return '';
}

export function xapiParams(err: unknown): string[] {
  if (typeof err === 'object' && err !== null && 'params' in err && Array.isArray((err as { params: unknown }).params)) return (err as { params: unknown[] }).params.map(String);
  return [];
}

/** Errors that mean "XAPI is not reachable right now" (master rebooting, xapi restarting). */
export const transientXapiCodes: ReadonlySet<string> = new Set([
  'SESSION_INVALID',
  'HOST_STILL_BOOTING',
  'HOST_IS_SLAVE',
  'XAPI_UNREACHABLE',
  'XAPI_TIMEOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ETIMEDOUT',
]);

export function isTransient(err: unknown): boolean {
  return transientXapiCodes.has(xapiCode(err));
}

export function realSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
