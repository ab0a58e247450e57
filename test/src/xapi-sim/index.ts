export {
  startXapiSimulator,
  loadSimulatorDb,
  DEFAULT_SIM_CREDENTIALS,
  type StartXapiSimulatorOptions,
  type SimulatorSource,
  type XapiSimulator,
} from './start-xapi-simulator.js';
export { recordCalls, type RecordedCall } from './record-calls.js';
export { isHostAlive, setHostLive } from './methods/failover/failover-methods.js';
export { HOST_ASSUMED_DEAD_INTERVAL_MS, watchHostHeartbeats } from './host-heartbeat.js';
export { XapiDb, formatEventToken, parseEventToken, type XapiEvent, type EventOperation, type XapiDbOptions } from './xapi-db.js';
export { XapiFailure, handleInvalid } from './xapi-failure.js';
export { NULL_REF, newRef, isRef, isLiveRef, type XapiRecord, type XapiValue } from './xapi-value.js';
export { systemClock, createScaledClock, formatXapiDate, type Clock } from './clock.js';
export {
  MethodRegistry,
  type MethodContext,
  type MethodHandler,
  type MethodSpec,
  type MethodResolver,
  type Credentials,
  type ServerInfo,
} from './method-registry.js';
export { registerCoreMethods, coreMethodModules } from './methods/index.js';
export { TaskRunner, type TaskHandle, type TaskOptions } from './task-runner.js';
export { dispatch, dispatchCall, SimConnectionRefused, type DispatchEnv, type DispatchResult } from './dispatch.js';
export { datamodel, resolveMessage, releaseAtOrBefore, fieldsIn, type XapiRelease, type ResolvedMessage } from './datamodel.js';
export { releaseOfProduct, releaseOfSoftwareVersion, protocolOffer, type ProtocolOffer } from './xapi-release.js';
export { currentRelease, currentProtocol, pinRelease } from './pool-release.js';
export { xapiState, setXapiState, onXapiStateChange, type XapiProcessState } from './xapi-process.js';
export { shapeRecord } from './record-shape.js';
export { apiRecord, apiRecords } from './methods/implicit-methods.js';
export { loadPoolDump, loadPoolDumpFile, PoolDumpError } from './load-pool-dump.js';
export { buildPoolFromDescription } from './build-pool-from-description.js';
export {
  readPoolDescriptionFile,
  validatePoolDescription,
  PoolDescriptionError,
  type PoolDescription,
  type HostDescription,
  type SrDescription,
  type VmDescription,
} from './pool-description.js';
export { relations, type Relation } from './relations.js';
export { demoPoolFile, sharedDumpFile } from './fixture-paths.js';
export { setFailedPaths, storageFabric } from './methods/storage/pbd-methods.js';
