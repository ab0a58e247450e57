import type { MethodRegistry } from '../method-registry.js';
import { registerEventMethods } from './event-methods.js';
import { registerImplicitMethods } from './implicit-methods.js';
import { registerSessionMethods } from './session-methods.js';
import { registerSystemMethods } from './system-methods.js';
import { registerTaskMethods } from './task-methods.js';
import { registerUpgradeMethods } from './upgrade/index.js';
import { registerFailoverMethods } from './failover/failover-methods.js';
import { registerPbdMethods } from './storage/pbd-methods.js';

/**
 * Every method family the simulator ships with. An operation (host.disable, VM.pool_migrate, ...)
 * is added as its own file exporting a `register…(registry)` function, listed here. Its
 * parameter count, types, Async form and task come from xapi's datamodel (dispatch.ts); the
 * handler gets the unmarshalled arguments. Getters, setters, get_record and the other generated
 * messages of every class exist already (implicit-methods.ts).
 */
export const coreMethodModules: ReadonlyArray<(registry: MethodRegistry) => void> = [
  registerSessionMethods,
  registerSystemMethods,
  registerEventMethods,
  registerTaskMethods,
  registerImplicitMethods,
  registerUpgradeMethods,
  registerFailoverMethods,
  registerPbdMethods,
];

export function registerCoreMethods(registry: MethodRegistry): MethodRegistry {
  for (const register of coreMethodModules) register(registry);
  return registry;
}
