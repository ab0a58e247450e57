import { setMaxListeners } from 'node:events';

/**
 * The signal a bounded fan-out of calls (XAPI's, agents') listens to, instead of the caller's. A caller's
 * signal (a workflow's or a service's) lives for weeks; a listener or two per call
 * in flight on it look like a leak to Node past 10 ("MaxListenersExceededWarning: Possible
 * EventTarget memory leak detected. 11 abort listeners added to [AbortSignal]"), though every
 * one is removed when its call ends. The calls listen to a signal derived for the fan-out, whose
 * limit is the fan-out's own bound (`maxListeners`); the caller's signal keeps one listener of
 * ours, removed by `release` when the fan-out ends (which also stops calls a failure left in
 * flight). Not AbortSignal.any: on Node 20 every derived signal stays in its long-lived source's
 * set of dependants for good (nodejs/node#55351, pruned on 22 and 24): one entry per fan-out, forever.
 */
export function fanOutSignal(caller: AbortSignal | undefined, maxListeners: number, ended = 'the fan-out ended'): { signal: AbortSignal | undefined; release: () => void } {
  if (caller === undefined) return { signal: undefined, release: () => undefined };
  const derived = new AbortController();
  setMaxListeners(maxListeners, derived.signal);
  const follow = () => derived.abort(caller.reason);
  if (caller.aborted) follow();
  else caller.addEventListener('abort', follow, { once: true });
  return {
    signal: derived.signal,
    release: () => {
      caller.removeEventListener('abort', follow);
      derived.abort(new Error(ended));
    },
  };
}
