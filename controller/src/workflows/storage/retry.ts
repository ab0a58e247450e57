import pRetry from 'p-retry';

/**
 * Retries any failure (a busy survivor's agent, a XAPI still restarting after the emergency
 * transition) every 500 ms for at most `ms`; a halt or an abort of the workflow stops it.
 */
export function retry<T>(fn: () => Promise<T>, signal: AbortSignal, ms = 60_000): Promise<T> {
  return pRetry(fn, { forever: true, factor: 1, minTimeout: 500, maxTimeout: 500, maxRetryTime: ms, signal });
}
