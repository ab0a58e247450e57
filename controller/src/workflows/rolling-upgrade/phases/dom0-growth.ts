import { dom0BytesAfterUpgrade } from '../../../pool-model/memory.js';
import type { PoolModel } from '../../../pool-model/pool-model.js';
import { compareIntLists, versionNumbers } from '../../../pool-model/versions.js';
import type { RollingUpgradeParams } from '../params.js';

/**
 * How much more memory each host's dom0 takes once it runs the target release, when the run
 * names one (action option `platform_version`): the installer sizes dom0 by the release it
 * installs (memory.ts). Updates within a release (same platform_version) leave it alone.
 */
export function dom0GrowthFor(model: PoolModel, params: Pick<RollingUpgradeParams, 'actionOptions'>): Map<string, number> {
  const target = params.actionOptions['platform_version'] ?? '';
  const out = new Map<string, number>();
  if (target === '') return out;
  const targetVersion = versionNumbers(target);
  for (const h of model.hosts) {
    if (compareIntLists(targetVersion, versionNumbers(h.software['platform_version'] ?? '0')) <= 0) continue;
    const dom0 = model.vms.find((v) => v.isControlDomain && v.residentOn === h.ref);
    if (dom0 === undefined) continue;
    const after = dom0BytesAfterUpgrade(h.totalBytes, dom0.requiredBytes - dom0.overheadBytes, targetVersion);
    if (after > dom0.requiredBytes - dom0.overheadBytes) out.set(h.ref, after - (dom0.requiredBytes - dom0.overheadBytes));
  }
  return out;
}
