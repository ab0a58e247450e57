import { ServerError, Status, type CallContext, type ServerMiddlewareCall } from 'nice-grpc-common';
import type { Logger } from 'pino';
import { peerIdentity } from './peer-identity.js';

/** Who called what: looked up only for a line that is written. */
function callFields(path: string, context: CallContext): { method: string; peer: string; kind: string | undefined } {
  const peer = peerIdentity(context);
  return { method: path, peer: peer?.name ?? context.peer, kind: peer?.kind };
}

/**
 * The line for a call that succeeded, at info. At a higher level (an agent runs at warn) nothing
 * is built for it: the peer lookup and the line's object were per-call work every GetFacts paid
 * (bench/agent.mjs). `start` is the call's performance.now().
 */
export function logCallDone(logger: Logger, path: string, context: CallContext, start: number): void {
  if (logger.isLevelEnabled('info')) logger.info({ ...callFields(path, context), status: 'OK', ms: Math.round(performance.now() - start) }, 'call');
}

/** The line for a call that failed, at warn, with its status (`err` as the client will see it). */
export function logCallFailed(logger: Logger, path: string, context: CallContext, start: number, err: unknown): void {
  const status = err instanceof ServerError ? Status[err.code] : 'UNKNOWN';
  const details = err instanceof ServerError ? err.details : undefined;
  logger.warn({ ...callFields(path, context), status, details, ms: Math.round(performance.now() - start) }, 'call failed');
}

/**
 * One line per call: method, peer, status, duration. Requests are not logged: they may hold secrets.
 * A successful call is logged at info, a failed one at warn (logCallDone, logCallFailed).
 */
export function loggingMiddleware(logger: Logger) {
  return async function* <Request, Response>(call: ServerMiddlewareCall<Request, Response>, context: CallContext) {
    const start = performance.now();
    try {
      const result = yield* call.next(call.request, context);
      logCallDone(logger, call.method.path, context, start);
      return result;
    } catch (err) {
      logCallFailed(logger, call.method.path, context, start, err);
      throw err;
    }
  };
}
