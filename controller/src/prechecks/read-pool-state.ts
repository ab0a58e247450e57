import type { XapiClient } from '../xapi/xapi-client.js';
import { XapiError } from '../xapi/xapi-error.js';
import type { Ref } from '../xapi/ref.js';
import type { XapiClass } from '../xapi/xapi-records.js';
import { plannerClasses, type PoolRecords, type RecordsByRef, type XapiRecordLike } from '../workflows/rolling-upgrade/pool-records.js';

/**
 * What the pool prechecks read from XAPI, all through a read-only session: the records the
 * rolling-upgrade planner reads, host.get_vms_which_prevent_evacuation for every host,
 * pool.metadata_VDIs and pool.wlb_url.
 */

const unknownMethod = (err: unknown): boolean => err instanceof XapiError && err.code === 'MESSAGE_METHOD_UNKNOWN';

export async function readPoolRecords(xapi: XapiClient, signal?: AbortSignal): Promise<PoolRecords> {
  const out: Partial<Record<(typeof plannerClasses)[number], RecordsByRef>> = {};
  await Promise.all(
    plannerClasses.map(async (cls) => {
      try {
        const records = await xapi.getAllRecords(cls as XapiClass, { signal });
        out[cls] = Object.fromEntries([...records].map(([ref, r]) => [ref, r as unknown as XapiRecordLike]));
      } catch (err) {
        // A class the release does not have (pool_update before 7.1).
        if (!unknownMethod(err)) throw err;
      }
    }),
  );
  return out;
}

export type EvacuationAnswer = Readonly<Record<string, readonly string[]>> | { error: string };

export async function readEvacuationBlockers(xapi: XapiClient, hostRefs: readonly string[], signal?: AbortSignal): Promise<Map<string, EvacuationAnswer>> {
  const out = new Map<string, EvacuationAnswer>();
  await Promise.all(
    hostRefs.map(async (ref) => {
      try {
        out.set(ref, await xapi.call('host.get_vms_which_prevent_evacuation', [ref as Ref<'host'>], { signal }));
      } catch (err) {
        if (signal?.aborted) throw err;
        out.set(ref, { error: err instanceof Error ? err.message : String(err) });
      }
    }),
  );
  return out;
}

/** Adds pool.wlb_url, which the typed pool record leaves out, to the pool record. */
export async function readWlbUrl(xapi: XapiClient, records: PoolRecords, signal?: AbortSignal): Promise<void> {
  for (const [ref, pool] of Object.entries(records.pool ?? {})) {
    try {
      pool['wlb_url'] = await xapi.call('pool.get_wlb_url', [ref as Ref<'pool'>], { signal });
    } catch (err) {
      if (!unknownMethod(err)) throw err;
    }
  }
}

export async function readMetadataVdis(xapi: XapiClient, poolRef: string, signal?: AbortSignal): Promise<string[]> {
  try {
    const vdis = await xapi.call('pool.get_metadata_VDIs', [poolRef as Ref<'pool'>], { signal });
    return Array.isArray(vdis) ? vdis.map(String) : [];
  } catch (err) {
    // Before XenServer 6.0 there was no database replication.
    if (unknownMethod(err)) return [];
    throw err;
  }
}
