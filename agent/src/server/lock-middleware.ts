import type { CallContext, ServerMiddlewareCall } from 'nice-grpc';
import { lockKeysFor } from './method-locks.js';
import type { ResourceLocks } from './resource-locks.js';

/**
 * Takes the resources a call changes (method-locks.ts) before the handler runs and gives them
 * back when it ends, however it ends. The wait counts against the call's deadline: a call that
 * cannot get its resources in time fails with RESOURCE_BUSY, having changed nothing.
 */
export function lockMiddleware(locks: ResourceLocks) {
  return async function* <Request, Response>(call: ServerMiddlewareCall<Request, Response>, context: CallContext) {
    const keys = lockKeysFor(call.method.path, call.request);
    if (keys === null) return yield* call.next(call.request, context);
    const release = await locks.acquire(keys, call.method.path, context.signal);
    try {
      return yield* call.next(call.request, context);
    } finally {
      release();
    }
  };
}
