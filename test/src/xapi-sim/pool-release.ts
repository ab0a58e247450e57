import type { XapiRelease } from './datamodel.js';
import { protocolOffer, releaseOfSoftwareVersion, type ProtocolOffer } from './xapi-release.js';
import type { XapiDb } from './xapi-db.js';

/**
 * The release a simulated pool answers as: pinned by the simulator's options or the pool
 * description, else the one the master's software_version names (so it changes when a rolling
 * upgrade reboots the master into a new version, as the real master's xapi does).
 */
interface PoolReleaseState {
  pinned: XapiRelease | undefined;
  protocol: ProtocolOffer | undefined;
  cacheKey: string;
  cached: XapiRelease | undefined;
}

const states = new WeakMap<XapiDb, PoolReleaseState>();

function stateOf(db: XapiDb): PoolReleaseState {
  let s = states.get(db);
  if (s === undefined) {
    s = { pinned: undefined, protocol: undefined, cacheKey: '', cached: undefined };
    states.set(db, s);
  }
  return s;
}

/** Pins the release (and optionally the protocol offer) whatever the hosts report. */
export function pinRelease(db: XapiDb, release: XapiRelease | undefined, protocol?: ProtocolOffer): void {
  const s = stateOf(db);
  s.pinned = release;
  s.protocol = protocol;
}

export function currentRelease(db: XapiDb): XapiRelease {
  const s = stateOf(db);
  if (s.pinned !== undefined) return s.pinned;
  let sv: Record<string, string> = {};
  try {
    const master = db.peek('host', db.masterRef());
    sv = (master?.['software_version'] ?? {}) as Record<string, string>;
  } catch {
    // A database without a pool (tests building one up): the newest release.
  }
  const key = `${sv['product_version'] ?? ''}/${sv['xapi_build'] ?? ''}`;
  if (s.cached === undefined || s.cacheKey !== key) {
    s.cached = key === '/' ? { kind: 'named', code: 'nile' } : releaseOfSoftwareVersion(sv);
    s.cacheKey = key;
  }
  return s.cached;
}

export function currentProtocol(db: XapiDb): ProtocolOffer {
  return stateOf(db).protocol ?? protocolOffer(currentRelease(db));
}
