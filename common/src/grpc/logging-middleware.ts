import { ServerError, Status, type CallContext, type ServerMiddlewareCall } from 'nice-grpc-common';
import type { Logger } from 'pino';
import { peerIdentity } from './peer-identity.js';

/** Who called what: looked up only for a line that is written. */
function callFields(path: string, context: CallContext): { method: string; peer: string; kind: string | undefined } {
  const peer = peerIdentity(context);
  return { method: path, peer: peer?.name ?? context.peer, kind: peer?.kind };
}

/**
 * One line per call: method, peer, status, duration. Requests are not logged: they may hold secrets.
 * A successful call is logged at info; at a higher level (an agent runs at warn) nothing is built
 * for it: the peer lookup and the line's object were per-call work every GetFacts paid (bench/agent.mjs).
 */
export function loggingMiddleware(logger: Logger) {
  return async function* <Request, Response>(call: ServerMiddlewareCall<Request, Response>, context: CallContext) {
    const start = performance.now();
    try {
      const result = yield* call.next(call.request, context);
      if (logger.isLevelEnabled('info')) logger.info({ ...callFields(call.method.path, context), status: 'OK', ms: Math.round(performance.now() - start) }, 'call');
      return result;
    } catch (err) {
      const status = err instanceof ServerError ? Status[err.code] : 'UNKNOWN';
      const details = err instanceof ServerError ? err.details : undefined;
      logger.warn({ ...callFields(call.method.path, context), status, details, ms: Math.round(performance.now() - start) }, 'call failed');
      throw err;
    }
  };
}
