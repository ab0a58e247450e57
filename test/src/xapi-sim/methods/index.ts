import type { MethodRegistry } from '../method-registry.js';
import { registerEventMethods } from './event-methods.js';
import { registerGenericGetters } from './generic-getters.js';
import { registerObjectSetters } from './object-setters.js';
import { registerSessionMethods } from './session-methods.js';
import { registerSystemMethods } from './system-methods.js';
import { registerTaskMethods } from './task-methods.js';
import { registerUpgradeMethods } from './upgrade/index.js';

/**
 * Every method family the simulator ships with. An operation (host.disable, VM.pool_migrate, ...)
 * is added as its own file exporting a `register…(registry)` function, listed here.
 */
export const coreMethodModules: ReadonlyArray<(registry: MethodRegistry) => void> = [
  registerSessionMethods,
  registerSystemMethods,
  registerEventMethods,
  registerTaskMethods,
  registerGenericGetters,
  registerObjectSetters,
  registerUpgradeMethods,
];

export function registerCoreMethods(registry: MethodRegistry): MethodRegistry {
  for (const register of coreMethodModules) register(registry);
  return registry;
}
