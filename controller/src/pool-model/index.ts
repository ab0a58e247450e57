export { buildPoolModel, hostOf, isResidentGuest, PoolModelError, type AntiAffinityGroup, type ModelHost, type ModelSr, type ModelVm, type PoolModel } from './pool-model.js';
export { poolModelClasses, recordsFromRaw, inputFromRaw, noAnswers, type PoolClass, type PoolInput, type PoolRecords, type XapiAnswers, type XapiReason } from './pool-input.js';
export { readPoolInput, readPoolRecords, readXapiAnswers, xapiQuestionConcurrency, type ReadPoolOptions } from './read-pool-input.js';
export { capacityCodes, hostBoundCodes, immobileCodes, placementCodes } from './xapi-reasons.js';
export { defaultDom0Bytes, dom0BytesAfterUpgrade, estimateOverheadBytes, memoryPolicies, requiredBytes, type MemoryPolicy } from './memory.js';
export * from './versions.js';
