/**
 * The simulator's only source of time. Operations that take time in a real pool (evacuate, reboot)
 * sleep on this clock, so a rehearsal can run an hour-long upgrade in seconds with a faster clock.
 */
export interface Clock {
  /** Milliseconds since the epoch, on this clock. */
  now(): number;
  /** Resolves after `ms` of this clock's time; rejects with the signal's reason if aborted first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

function realSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: realSleep,
};

/**
 * A clock that runs `factor` times faster than wall time, starting from wall time now.
 * Sleeps are shortened by the same factor, so timeouts and durations stay consistent.
 */
export function createScaledClock(factor: number, start = Date.now()): Clock {
  if (!(factor > 0)) throw new RangeError(`clock factor must be > 0, got ${factor}`);
  const wallStart = Date.now();
  return {
    now: () => start + (Date.now() - wallStart) * factor,
    sleep: (ms, signal) => realSleep(ms / factor, signal),
  };
}

/** XAPI's DateTime wire format: `20240131T12:34:56Z`. */
export function formatXapiDate(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-]/g, '');
}

export const XAPI_EPOCH_DATE = '19700101T00:00:00Z';
