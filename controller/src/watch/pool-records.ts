import { normalizeRecord, type XapiClass, type XapiClassRecords, type XapiEventRecord } from '../xapi/index.js';

/** The classes the controller follows for the dashboard: enough for pools, hosts, storage paths and hotfixes. */
export const watchedClasses = ['pool', 'host', 'host_metrics', 'VM', 'SR', 'PBD', 'pool_update'] as const satisfies readonly XapiClass[];
export type WatchedClass = (typeof watchedClasses)[number];

const byLowerName = new Map<string, WatchedClass>(watchedClasses.map((c) => [c.toLowerCase(), c]));

/** A pool's objects as XAPI's events left them, by class and ref. */
export type PoolRecords = { [K in WatchedClass]: Map<string, XapiClassRecords[K]> };

export function emptyRecords(): PoolRecords {
  return { pool: new Map(), host: new Map(), host_metrics: new Map(), VM: new Map(), SR: new Map(), PBD: new Map(), pool_update: new Map() };
}

/** Applies one event.from batch; returns the classes that changed. */
export function applyEvents(records: PoolRecords, events: readonly XapiEventRecord[]): Set<WatchedClass> {
  const changed = new Set<WatchedClass>();
  for (const e of events) {
    const cls = byLowerName.get(e.class.toLowerCase());
    if (cls === undefined) continue;
    const map = records[cls] as Map<string, unknown>;
    if (e.operation === 'del') map.delete(e.ref);
    else map.set(e.ref, normalizeRecord(cls, e.snapshot));
    changed.add(cls);
  }
  return changed;
}
