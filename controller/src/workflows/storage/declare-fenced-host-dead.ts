import { XapiError, type XapiClient } from '../../xapi/index.js';
import type { StorageHost } from './storage-pool.js';
import { FencedHostAnswersError } from './storage-workflow-errors.js';

/** host.declare_dead is published in clearwater (XenServer 6.2), XAPI 2.0 (xen-api datamodel_host.ml). */
const DECLARE_DEAD_SINCE = { major: 2, minor: 0 } as const;

export type DeclareDeadOutcome = { declaredDead: string } | { declaredDead: false; apiVersion: string };

/**
 * Tells the pool's master that `failed`, fenced by power and read back off, is dead
 * (host.declare_dead: xapi_host.ml runs the host-pre-declare-dead hooks, resets its VMs and
 * disables it, so nothing is placed on it until it comes back). Call it only for a host proven
 * fenced by power: xapi's own check (is_host_alive) only proves its xapi does not answer.
 * On a master older than XAPI 2.0 it is skipped: VM.power_state_reset makes the same check.
 * HOST_IS_LIVE means the host answered: FencedHostAnswersError.
 */
export async function declareFencedHostDead(xapi: XapiClient, master: StorageHost, failed: StorageHost, signal: AbortSignal): Promise<DeclareDeadOutcome> {
  const h = await xapi.getRecord('host', master.ref as never, { signal });
  const hasIt = h.API_version_major > DECLARE_DEAD_SINCE.major || (h.API_version_major === DECLARE_DEAD_SINCE.major && h.API_version_minor >= DECLARE_DEAD_SINCE.minor);
  if (!hasIt) return { declaredDead: false, apiVersion: `${h.API_version_major}.${h.API_version_minor}` };
  try {
    await xapi.callAsync('host.declare_dead', [failed.ref as never], { signal });
  } catch (err) {
    if (err instanceof XapiError && err.code === 'HOST_IS_LIVE') throw new FencedHostAnswersError(failed.name, { cause: err });
    throw err;
  }
  return { declaredDead: failed.name };
}
