import type { MethodRegistry } from '../method-registry.js';
import { enumerableClasses } from './generic-getters.js';

export function registerSystemMethods(registry: MethodRegistry): void {
  // xen-api learns the pool's classes from this list: every `<class>.get_all_records` it sees is a
  // class it fetches and watches.
  registry.register('system.listMethods', {
    session: false,
    arity: 0,
    handler: (ctx) => {
      const generated = enumerableClasses(ctx.db).flatMap((cls) =>
        ['get_all_records', 'get_all', 'get_record', 'get_by_uuid'].map((m) => `${cls}.${m}`),
      );
      return [...new Set([...ctx.server.registry.names(), ...ctx.server.registry.asyncNames(), ...generated])].sort();
    },
  });
}
