import type { CallContext, ServerMiddlewareCall } from 'nice-grpc-common';

/**
 * Bounds every call on the server side too: a client without a deadline must not pin a root
 * process forever. `limits` holds per-method ceilings; `defaultMs` covers the rest.
 */
export function deadlineMiddleware(defaultMs: number, limits: Readonly<Record<string, number>> = {}) {
  return async function* <Request, Response>(call: ServerMiddlewareCall<Request, Response>, context: CallContext) {
    const ms = limits[call.method.path] ?? defaultMs;
    const signal = AbortSignal.any([context.signal, AbortSignal.timeout(ms)]);
    return yield* call.next(call.request, { ...context, signal });
  };
}
