import type { XapiDb } from './xapi-db.js';

/**
 * Whether each host's xapi runs, as its clients see it:
 * - `up`: serving;
 * - `down`: the host is shut down or rebooting; its socket refuses connections (the simulator
 *   closes that listener, so clients get ECONNREFUSED or a reset, not an XAPI error);
 * - `starting`: xapi listens again (the management interface comes up early in xapi.ml's startup
 *   sequence) but has not signalled startup complete, so host.enable answers HOST_STILL_BOOTING
 *   (xapi_host.ml assert_safe_to_reenable -> Xapi_host_helpers.assert_startup_complete).
 */
export type XapiProcessState = 'up' | 'down' | 'starting';

interface ProcessTable {
  states: Map<string, XapiProcessState>;
  listeners: Set<(hostRef: string, state: XapiProcessState) => void>;
}

const tables = new WeakMap<XapiDb, ProcessTable>();

function table(db: XapiDb): ProcessTable {
  let t = tables.get(db);
  if (t === undefined) {
    t = { states: new Map(), listeners: new Set() };
    tables.set(db, t);
  }
  return t;
}

export function xapiState(db: XapiDb, hostRef: string): XapiProcessState {
  return table(db).states.get(hostRef) ?? 'up';
}

export function setXapiState(db: XapiDb, hostRef: string, state: XapiProcessState): void {
  const t = table(db);
  if ((t.states.get(hostRef) ?? 'up') === state) return;
  if (state === 'up') t.states.delete(hostRef);
  else t.states.set(hostRef, state);
  for (const listener of [...t.listeners]) listener(hostRef, state);
}

export function onXapiStateChange(db: XapiDb, listener: (hostRef: string, state: XapiProcessState) => void): () => void {
  const t = table(db);
  t.listeners.add(listener);
  return () => t.listeners.delete(listener);
}
