import { setTimeout as sleep } from 'node:timers/promises';
import { inquire, type LunIdentity } from '../../initiator/iscsi-inq.js';
import type { PoolStorageConfig } from '../../config/pool-storage-config.js';
import { InitiatorCheckFailedError } from './storage-workflow-errors.js';

/**
 * What an initiator sees on the floating IP after a role change: the LUN answers with the same
 * vendor, product and serial as the spec fixes (rule 7). Retries until `timeoutMs`.
 */
export async function verifyFromInitiator(storage: PoolStorageConfig, signal: AbortSignal): Promise<{ identity: LunIdentity; waitedMs: number } | { skipped: string }> {
  if (storage.initiatorProbe === null) return { skipped: 'no initiatorProbe configured' };
  const lun = storage.spec.target?.luns[0];
  const ip = storage.spec.floatingIp?.address ?? '';
  if (lun === undefined || storage.spec.target === undefined) return { skipped: 'no LUN in the spec' };
  const want = { vendor: lun.vendorId, product: lun.productId, serial: lun.scsiSn };
  const start = performance.now();
  let last = '';
  while (performance.now() - start < storage.initiatorProbe.timeoutMs) {
    try {
      const user = storage.spec.target.incomingUser;
      const identity = await inquire(
        { address: ip, iqn: storage.spec.target.iqn, lun: lun.lun, ...(user === undefined ? {} : { user: user.user, password: user.password }) },
        { via: storage.initiatorProbe.via, timeoutMs: 5_000, signal },
      );
      if ((want.vendor === '' || identity.vendor === want.vendor) && (want.product === '' || identity.product === want.product) && identity.serial === want.serial) {
        return { identity, waitedMs: Math.round(performance.now() - start) };
      }
      last = `saw ${identity.vendor}/${identity.product}/${identity.serial}, expected ${want.vendor}/${want.product}/${want.serial}`;
      throw new InitiatorCheckFailedError(ip, last);
    } catch (err) {
      if (err instanceof InitiatorCheckFailedError) throw err;
      signal.throwIfAborted();
      last = err instanceof Error ? err.message : String(err);
    }
    await sleep(200, undefined, { signal });
  }
  throw new InitiatorCheckFailedError(ip, `no answer within ${storage.initiatorProbe.timeoutMs} ms (${last})`);
}
