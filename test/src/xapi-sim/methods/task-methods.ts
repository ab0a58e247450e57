import type { MethodRegistry } from '../method-registry.js';
import { stringArg } from './args.js';

export function registerTaskMethods(registry: MethodRegistry): void {
  registry.register('task.create', {
    arity: 2,
    handler: (ctx, args) => ctx.server.tasks.create(stringArg(args, 0), stringArg(args, 1), ctx.sessionRef),
  });
  registry.register('task.cancel', {
    arity: 1,
    async: true,
    handler: (ctx, args) => {
      ctx.server.tasks.cancel(stringArg(args, 0), ctx.task?.ref);
    },
  });
  registry.register('task.destroy', {
    arity: 1,
    handler: (ctx, args) => {
      ctx.db.destroy('task', stringArg(args, 0));
    },
  });
}
