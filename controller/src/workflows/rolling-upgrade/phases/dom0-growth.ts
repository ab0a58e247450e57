import { dom0BytesAfterUpgrade } from '../../../pool-model/memory.js';
import type { PoolModel } from '../../../pool-model/pool-model.js';
import { versionNumbers } from '../../../pool-model/versions.js';
import type { RollingUpgradeParams } from '../params.js';

/**
 * How much more memory each host's dom0 takes once it runs the target release, when the run
 * names one (action option `platform_version`): an upgrade across a major platform version
 * resizes dom0 (memory.ts). Updates within a release leave it alone.
 */
export function dom0GrowthFor(model: PoolModel, params: Pick<RollingUpgradeParams, 'actionOptions'>): Map<string, number> {
  const target = params.actionOptions['platform_version'] ?? '';
  const out = new Map<string, number>();
  if (target === '') return out;
  const major = versionNumbers(target)[0] ?? 0;
  for (const h of model.hosts) {
    const current = versionNumbers(h.software['platform_version'] ?? '0')[0] ?? 0;
    if (major <= current) continue;
    const dom0 = model.vms.find((v) => v.isControlDomain && v.residentOn === h.ref);
    if (dom0 === undefined) continue;
    const after = dom0BytesAfterUpgrade(h.totalBytes, dom0.requiredBytes - dom0.overheadBytes, major);
    if (after > dom0.requiredBytes - dom0.overheadBytes) out.set(h.ref, after - (dom0.requiredBytes - dom0.overheadBytes));
  }
  return out;
}
