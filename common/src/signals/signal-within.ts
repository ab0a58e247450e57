import { fanOutSignal } from './fan-out-signal.js';

/**
 * The signal for one call bounded in time: aborted when `caller` aborts (if there is one) or after
 * `ms` with `why`, whichever comes first; `release()` when the call ends. The timer is a plain
 * setTimeout held until then: on Node 20 an AbortSignal.timeout() inside AbortSignal.any() is held
 * only weakly and, once garbage-collected, never fires (here: 0 of 5 fired after a gc(); Bun fires
 * all 5), so the bound was left to the call's own timeouts. fanOutSignal underneath: the
 * long-lived `caller` keeps no entry per call (nodejs/node#55351).
 */
export function signalWithin(caller: AbortSignal | undefined, ms: number, why: string): { signal: AbortSignal; release: () => void } {
  const { signal, release } = fanOutSignal(caller ?? new AbortController().signal, 10, why);
  const timer = setTimeout(release, ms);
  return {
    signal: signal!,
    release: () => {
      clearTimeout(timer);
      release();
    },
  };
}
