import type { XapiClient } from '../xapi/xapi-client.js';
import { XapiError } from '../xapi/xapi-error.js';
import type { Ref } from '../xapi/ref.js';

/**
 * What the pool prechecks read from XAPI besides the pool model's input (pool-model/read-pool-input.ts),
 * through the same read-only session: pool.wlb_url and pool.metadata_VDIs.
 */

const unknownMethod = (err: unknown): boolean => err instanceof XapiError && err.code === 'MESSAGE_METHOD_UNKNOWN';

export async function readWlbUrl(xapi: XapiClient, poolRef: string, signal?: AbortSignal): Promise<string> {
  try {
    return await xapi.call('pool.get_wlb_url', [poolRef as Ref<'pool'>], { signal });
  } catch (err) {
    if (!unknownMethod(err)) throw err;
    return '';
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
