import type { Clock } from '../xapi-sim/clock.js';

interface Timer {
  at: number;
  seq: number;
  resolve: () => void;
}

/**
 * A discrete-event clock for benchmarks: sleeping never waits. Whenever the process has nothing
 * else to do (a setImmediate turn), time jumps to the earliest pending wake-up. A rolling upgrade
 * that takes hours of simulated time runs in a second and its duration is exact, whatever the
 * machine's load. Aborted sleeps are forgotten (they do not move time).
 */
export function createVirtualClock(start = Date.UTC(2024, 0, 1)): Clock & { pending(): number } {
  let now = start;
  let seq = 0;
  const timers: Timer[] = [];
  let scheduled = false;

  const schedule = (): void => {
    if (scheduled || timers.length === 0) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = timers.shift();
      if (next !== undefined) {
        now = Math.max(now, next.at);
        next.resolve();
      }
      schedule();
    });
  };

  return {
    now: () => now,
    pending: () => timers.length,
    sleep(ms, signal) {
      return new Promise<void>((resolve, reject) => {
        if (signal?.aborted) {
          reject(signal.reason as Error);
          return;
        }
        const timer: Timer = {
          at: now + Math.max(0, ms),
          seq: seq++,
          resolve: () => {
            signal?.removeEventListener('abort', onAbort);
            resolve();
          },
        };
        const onAbort = (): void => {
          const i = timers.indexOf(timer);
          if (i >= 0) timers.splice(i, 1);
          reject(signal?.reason as Error);
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        timers.push(timer);
        schedule();
      });
    },
  };
}
