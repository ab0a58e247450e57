export { planRollingUpgrade, blockerMessage } from './plan.js';
export { planReport, type PlanReport } from './plan-report.js';
export { checkPlanInvariants } from './plan-invariants.js';
export { CapacityState, largestFirst } from './capacity-state.js';
export { placeWave, makeRoom, type Move, type Unplaced, type WavePlacement } from './place-wave.js';
export { mayGo, isFinal, type WaveRoles } from './roles.js';
export * from './plan-types.js';
export { rehearse } from './rehearse.js';
export { planMessage } from './plan-message.js';
