import { isAbortError } from 'abort-controller-x';
import { ServerError, Status, type CallContext, type ServerMiddlewareCall } from 'nice-grpc-common';
import type { Logger } from 'pino';
import { XsctlError } from '../errors/index.js';
import { toServerError } from './error-codec.js';

/**
 * The status a call's failure is answered with: typed errors mapped, an abort CANCELLED, anything
 * untyped INTERNAL with its stack in the log (never in the answer).
 */
export function statusErrorOf(logger: Logger, err: unknown, path: string): ServerError {
  if (err instanceof ServerError) return err;
  if (err instanceof XsctlError) return toServerError(err);
  if (isAbortError(err)) return new ServerError(Status.CANCELLED, 'CANCELLED: the call was cancelled');
  logger.error({ err, method: path }, 'unhandled error');
  return new ServerError(Status.INTERNAL, 'INTERNAL: internal error (see the server log)');
}

/** Maps typed errors to statuses; anything untyped becomes INTERNAL and its stack stays in the log. */
export function errorMiddleware(logger: Logger) {
  return async function* <Request, Response>(call: ServerMiddlewareCall<Request, Response>, context: CallContext) {
    try {
      return yield* call.next(call.request, context);
    } catch (err) {
      throw statusErrorOf(logger, err, call.method.path);
    }
  };
}
