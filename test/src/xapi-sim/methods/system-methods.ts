import type { DispatchEnv } from '../dispatch.js';
import { wireNames } from '../datamodel.js';
import type { MethodRegistry } from '../method-registry.js';
import { currentRelease } from '../pool-release.js';

/**
 * system.listMethods as gen_server.ml generates it: the sync wire name of every message of the
 * release's datamodel (no `Async.` names), answered before any parameter or session check.
 * xen-api learns the pool's classes from it (every `<class>.get_all_records` is a class it
 * watches). Simulator-only methods (no datamodel entry) are listed too so tools can find them.
 */
export function listMethods(env: DispatchEnv): string[] {
  const modelled = wireNames(currentRelease(env.db));
  const known = new Set(modelled);
  const extra = env.server.registry.names().filter((n) => !known.has(n) && n.startsWith('simulator.'));
  return [...modelled, ...extra];
}

export function registerSystemMethods(_registry: MethodRegistry): void {
  // Dispatched directly (dispatch.ts): listMethods takes no session and checks nothing.
}
