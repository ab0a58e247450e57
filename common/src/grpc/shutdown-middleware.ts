import type { CallContext, ServerMiddlewareCall } from 'nice-grpc-common';

/**
 * grpc-js's graceful shutdown waits for running calls; a root agent must not wait on a stuck
 * tool. Aborting this signal cancels every in-flight handler (and the commands it runs).
 */
export function shutdownMiddleware(shutdown: AbortSignal) {
  return async function* <Request, Response>(call: ServerMiddlewareCall<Request, Response>, context: CallContext) {
    shutdown.throwIfAborted();
    return yield* call.next(call.request, { ...context, signal: AbortSignal.any([context.signal, shutdown]) });
  };
}
