import { isAbortError } from 'abort-controller-x';
import { ServerError, Status, type CallContext, type ServerMiddlewareCall } from 'nice-grpc-common';
import type { Logger } from 'pino';
import { XsctlError } from '../errors/index.js';
import { toServerError } from './error-codec.js';

/** Maps typed errors to statuses; anything untyped becomes INTERNAL and its stack stays in the log. */
export function errorMiddleware(logger: Logger) {
  return async function* <Request, Response>(call: ServerMiddlewareCall<Request, Response>, context: CallContext) {
    try {
      return yield* call.next(call.request, context);
    } catch (err) {
      if (err instanceof ServerError) throw err;
      if (err instanceof XsctlError) throw toServerError(err);
      if (isAbortError(err)) throw new ServerError(Status.CANCELLED, 'CANCELLED: the call was cancelled');
      logger.error({ err, method: call.method.path }, 'unhandled error');
      throw new ServerError(Status.INTERNAL, 'INTERNAL: internal error (see the server log)');
    }
  };
}
