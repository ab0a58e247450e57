export { rollingUpgradeKind, ROLLING_UPGRADE } from './rolling-upgrade-workflow.js';
export { normalizeParams, type RollingUpgradeParams } from './params.js';
export { precheckIdsHandledByTheWorkflow, type AgentProbe, type PrecheckFinding, type PrecheckRunner, type RollingUpgradeDeps } from './deps.js';
export { realSleep, isTransient, xapiCode } from './retry.js';
export { upgradeActionNames, upgradeActions, type UpgradeActionName } from './upgrade-actions.js';
export { defaultHostStages, disableStage, evacuateStage, shutdownPinnedStage, enableStage, startPinnedStage } from './phases/host-stages.js';
// What another workflow that takes hosts out one at a time reuses (the multipath rollout): the
// run context, the waves with its own host stages, and the compensations of those stages.
export { runContext, type PlannedRun, type RunContext } from './run-context.js';
export { wavesPhase, type WavesOutcome } from './phases/waves.js';
export { compensate as compensateHostStages } from './compensations.js';
export { parsePaths } from './phases/wave-recheck.js';
export { retrying, type Sleep } from './retry.js';
export type { HostRun, HostStage, MoveOutcome } from './phases/host-stage.js';
export * from './upgrade-errors.js';
