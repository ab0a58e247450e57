export { rollingUpgradeKind, ROLLING_UPGRADE } from './rolling-upgrade-workflow.js';
export { normalizeParams, type RollingUpgradeParams } from './params.js';
export { precheckIdsHandledByTheWorkflow, type AgentProbe, type PrecheckFinding, type PrecheckRunner, type RollingUpgradeDeps } from './deps.js';
export { realSleep, isTransient, xapiCode } from './retry.js';
export { upgradeActionNames, upgradeActions, type UpgradeActionName } from './upgrade-actions.js';
export { defaultHostStages } from './phases/host-stages.js';
export type { HostRun, HostStage, MoveOutcome } from './phases/host-stage.js';
export * from './upgrade-errors.js';
