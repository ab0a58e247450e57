import { XapiError } from '../../xapi/xapi-error.js';
import type { Sleep } from '../sleep.js';

export { realSleep, type Sleep } from '../sleep.js';

/** XAPI's error code of a failure, whatever layer threw it ('' when it is not an XAPI error). */
export function xapiCode(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof (err as { code: unknown }).code === 'string') return (err as { code: string }).code;
  return '';
}

export function xapiParams(err: unknown): string[] {
  return err instanceof XapiError ? [...err.params] : [];
}

/** Errors that mean "XAPI is not reachable right now" (master rebooting, xapi restarting). */
export const transientXapiCodes: ReadonlySet<string> = new Set(['SESSION_INVALID', 'HOST_STILL_BOOTING', 'HOST_IS_SLAVE', 'XAPI_UNREACHABLE', 'XAPI_TIMEOUT']);

export function isTransient(err: unknown): boolean {
  return transientXapiCodes.has(xapiCode(err));
}

/** Retries while XAPI is unreachable (master rebooting, xapi restarting), for at most `timeoutMs` of `now`'s time. */
export async function retrying<T>(fn: () => Promise<T>, signal: AbortSignal, sleep: Sleep, timeoutMs = 600_000, intervalMs = 1000): Promise<T> {
  let waited = 0;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!isTransient(err) || waited > timeoutMs || signal.aborted) throw err;
      await sleep(intervalMs, signal);
      waited += intervalMs;
    }
  }
}

/** Runs `fn` over `items`, at most `limit` at once; the first failure stops new starts and is rethrown. */
export async function inParallel<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: unknown;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const item = items[next++] as T;
      try {
        await fn(item);
      } catch (err) {
        failure ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
  if (failure !== undefined) throw failure;
}
