import { ServerError, Status, type CallContext, type ServerMiddlewareCall } from 'nice-grpc-common';
import type { Logger } from 'pino';
import { peerIdentity } from './peer-identity.js';

/** One line per call: method, peer, status, duration. Requests are not logged: they may hold secrets. */
export function loggingMiddleware(logger: Logger) {
  return async function* <Request, Response>(call: ServerMiddlewareCall<Request, Response>, context: CallContext) {
    const start = performance.now();
    const peer = peerIdentity(context);
    const base = { method: call.method.path, peer: peer?.name ?? context.peer, kind: peer?.kind };
    try {
      const result = yield* call.next(call.request, context);
      logger.info({ ...base, status: 'OK', ms: Math.round(performance.now() - start) }, 'call');
      return result;
    } catch (err) {
      const status = err instanceof ServerError ? Status[err.code] : 'UNKNOWN';
      const details = err instanceof ServerError ? err.details : undefined;
      logger.warn({ ...base, status, details, ms: Math.round(performance.now() - start) }, 'call failed');
      throw err;
    }
  };
}
