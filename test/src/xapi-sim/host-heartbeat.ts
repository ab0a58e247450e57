import { setHostLive } from './methods/failover/failover-methods.js';
import { hostIsLive } from './methods/upgrade/upgrade-sim-state.js';
import { onXapiStateChange } from './xapi-process.js';
import type { XapiDb } from './xapi-db.js';

/**
 * xapi_globs.ml host_assumed_dead_interval (xen-api e2ee48d, ocaml/xapi/xapi_globs.ml:723, 10 min;
 * `host_assumed_dead_interval = 600` in scripts/xapi.conf): "If we haven't heard a heartbeat from
 * a host for this interval then the host is assumed dead".
 */
export const HOST_ASSUMED_DEAD_INTERVAL_MS = 10 * 60_000;

/**
 * The master's side of the host heartbeat (db_gc.ml check_host_liveness, xen-api e2ee48d,
 * ocaml/xapi/db_gc.ml:77-125): a host that stops heartbeating (its xapi `down` without a clean
 * shutdown, which would have sent a negative heartbeat and been marked dead at once) keeps
 * host_metrics.live = true until `intervalMs` of the pool's clock has passed, then is set not
 * live. A host back `up` before that keeps its flag. Real xapi checks at each DB GC pass, so its
 * flag falls a GC period after the interval at most; a new master (emergency transition) starts
 * its timers afresh, so there it falls `intervalMs` after the transition: later, never earlier.
 */
export function watchHostHeartbeats(db: XapiDb, intervalMs: number, signal: AbortSignal): () => void {
  const generation = new Map<string, number>();
  return onXapiStateChange(db, (host, state) => {
    const g = (generation.get(host) ?? 0) + 1;
    generation.set(host, g);
    if (state !== 'down') return;
    db.clock.sleep(intervalMs, signal).then(
      () => {
        if (generation.get(host) === g && db.has('host', host) && hostIsLive(db, host)) setHostLive(db, host, false);
      },
      () => undefined,
    );
  });
}
