import type { PrecheckFinding } from '@xsctl/proto/gen/xsctl/agent/v1/precheck';
import { checkBlobs } from './blobs/check-blobs.js';
import { checkBootDisk } from './check-boot-disk.js';
import { checkHotfixes } from './check-hotfixes.js';
import { checkClock, checkCustomisations, checkDiskSpace, checkRcLocal } from './check-host-config.js';
import { failedFinding, type PrecheckContext } from './precheck-context.js';
import { precheckIds, type PrecheckId } from './precheck-ids.js';

export { precheckIdList, precheckIds, type PrecheckId } from './precheck-ids.js';

const fixes: Record<PrecheckId, string> = {
  hotfixes: 'check that /var/update/applied is readable',
  'dell-utility-partition': 'give the boot disk explicitly',
  'partition-layout': 'give the boot disk explicitly',
  blobs: 'check /var/lib/xcp/blobs by hand',
  'disk-space': 'check `df -h / /var/log /boot` by hand',
  'rc-local': 'check /etc/rc.d/rc.local by hand',
  clock: 'check NTP by hand',
  customisations: 'check /etc/fstab, cron and iSCSI settings by hand',
};

async function guarded(id: PrecheckId, run: () => Promise<PrecheckFinding>): Promise<PrecheckFinding> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof Error && err.name === 'AbortError') throw err;
    return failedFinding(id, `the ${id} check could not run`, err, fixes[id]);
  }
}

/** Runs the wanted checks; one failing check becomes a warning finding, never a failed run. */
export async function runPrechecks(ctx: PrecheckContext, wanted: ReadonlySet<PrecheckId> = new Set(precheckIds)): Promise<PrecheckFinding[]> {
  const out: PrecheckFinding[] = [];
  const disk = new Set([...wanted].filter((id) => id === 'dell-utility-partition' || id === 'partition-layout'));
  const diskFindings = disk.size > 0 ? await checkBootDisk(ctx, disk) : [];
  const single: Partial<Record<PrecheckId, () => Promise<PrecheckFinding>>> = {
    hotfixes: () => checkHotfixes(ctx),
    blobs: () => checkBlobs(ctx),
    'disk-space': () => checkDiskSpace(ctx),
    'rc-local': () => checkRcLocal(ctx),
    clock: () => checkClock(ctx),
    customisations: () => checkCustomisations(ctx),
  };
  for (const id of precheckIds) {
    if (!wanted.has(id)) continue;
    ctx.signal?.throwIfAborted();
    const fromDisk = diskFindings.find((f) => f.id === id);
    if (fromDisk !== undefined) out.push(fromDisk);
    const run = single[id];
    if (run !== undefined) out.push(await guarded(id, run));
  }
  return out;
}
