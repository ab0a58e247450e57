import type { MethodRegistry } from '../../method-registry.js';
import { registerHostUpgradeMethods } from './host-methods.js';
import { registerPoolUpgradeMethods } from './pool-methods.js';
import { registerVmUpgradeMethods } from './vm-methods.js';

export { configureUpgradeSim, stopUpgradeSim, upgradeSimState, type Release, type UpgradeFaults, type UpgradeSimConfig, type UpgradeSimState } from './upgrade-sim-state.js';
export { computeEvacuationPlan, hotfixNamesOf, nextRelease } from './host-methods.js';

/** The rolling-upgrade operations: host.*, VM.pool_migrate and friends, pool HA/WLB/master. */
export function registerUpgradeMethods(registry: MethodRegistry): void {
  registerHostUpgradeMethods(registry);
  registerVmUpgradeMethods(registry);
  registerPoolUpgradeMethods(registry);
}
