import type { CallContext, ServerMiddlewareCall } from 'nice-grpc-common';
import type { Logger } from 'pino';
import { authorizeCall, type AuthPolicy } from './auth-middleware.js';
import { CallDeadline, type ServerDeadlineOptions } from './call-deadline.js';
import { statusErrorOf } from './error-middleware.js';
import { logCallDone, logCallFailed } from './logging-middleware.js';
import { refuseMalformedRequest } from './malformed-request.js';

export interface ServerCallOptions {
  /** One line per call (loggingMiddleware), outermost. */
  log?: Logger;
  /** Failures mapped to statuses, the untyped ones logged here (errorMiddleware). */
  errors?: Logger;
  /** Who may call what (authMiddleware). */
  auth?: AuthPolicy;
  /** Undecodable request bytes refused after authorisation (malformedRequestMiddleware). */
  refuseMalformed?: boolean;
  /** The server-side deadline (deadlineMiddleware). */
  deadline?: ServerDeadlineOptions & { defaultMs: number };
  /**
   * What a call holds while its handler runs (the agent's resource locks), taken innermost, after
   * the deadline started: the wait counts against it, and the call's signal ends it. Null: nothing
   * to hold. The release is called once the handler has ended, even when the call was answered
   * before (deadline passed, caller gone), so a handler that ignores its signal still holds what it
   * changes until it stops; a hold granted after the call gave up waiting is released at once.
   */
  hold?: (path: string, request: unknown, signal: AbortSignal) => Promise<() => void> | null;
}

const noop = (): void => undefined;

/**
 * The server's per-call stack in one middleware: what
 * `.use(loggingMiddleware(log)).use(errorMiddleware(errors)).use(authMiddleware(auth))
 *  .use(malformedRequestMiddleware()).use(deadlineMiddleware(...))` does, in that order, then
 * `hold` (a lock layer's work), with the parts not configured left out. The layers are the same phase functions (logCallDone,
 * statusErrorOf, authorizeCall, refuseMalformedRequest, CallDeadline) run in one async generator:
 * every `.use()` layer is one more generator per call, and nice-grpc composes each pair with two
 * object spreads and a closure per call. Under Bun without its JIT the five layers were some
 * 3.5 KB of garbage per GetFacts; the collector of a --smol heap runs every ~1.4 MB allocated,
 * and its pauses are the agent's p99 (bench/agent.mjs).
 */
export function serverCallMiddleware(options: ServerCallOptions) {
  const { log, errors, auth, refuseMalformed = false, hold } = options;
  const deadlineOptions = options.deadline;
  return async function* <Request, Response>(call: ServerMiddlewareCall<Request, Response>, context: CallContext) {
    const path = call.method.path;
    const start = log === undefined ? 0 : performance.now();
    let deadline: CallDeadline | undefined;
    let inner: AsyncGenerator<Response, Response | void, undefined> | undefined;
    /** The handler has ended (answered or failed): nothing left to finish or wait for. */
    let done = false;
    /** A hold still being waited for; `release` once granted. */
    let holding: Promise<() => void> | null = null;
    let release: (() => void) | undefined;
    try {
      if (auth !== undefined) authorizeCall(auth, path, context);
      if (refuseMalformed) refuseMalformedRequest(call.request);
      if (deadlineOptions !== undefined) deadline = new CallDeadline(path, context, deadlineOptions.defaultMs, deadlineOptions);
      const signal = deadline === undefined ? context.signal : deadline.signal;
      if (hold !== undefined) {
        holding = hold(path, call.request, signal);
        if (holding !== null) {
          release = deadline === undefined ? await holding : await deadline.race(holding);
          holding = null;
        }
      }
      inner = call.next(call.request, deadline === undefined ? context : { ...context, signal });
      for (;;) {
        const step = inner.next();
        let r;
        try {
          r = deadline === undefined ? await step : await deadline.race(step);
        } catch (err) {
          // The handler's own failure ended it; only the deadline's answers while it may still run.
          if (deadline?.exceededBy(err) !== true) done = true;
          throw err;
        }
        if (r.done === true) {
          done = true;
          if (log !== undefined) logCallDone(log, path, context, start);
          return r.value;
        }
        yield r.value;
      }
    } catch (err) {
      // Inside out, as the layers were: the deadline's own failure, then the status, then the line.
      const failure = deadline === undefined ? err : deadline.failure(err);
      const answered = errors === undefined ? failure : statusErrorOf(errors, failure, path);
      if (log !== undefined) logCallFailed(log, path, context, start, answered);
      throw answered;
    } finally {
      deadline?.end();
      // Gave up waiting (deadline): what is granted after all goes back at once.
      if (holding !== null) holding.then((r) => r(), noop);
      if (!done && inner !== undefined) {
        // Let the handler's own finally blocks run when the call ends early (deadline, client gone):
        // return() waits for a step still running, so the release follows the handler's end.
        const ended = inner.return(undefined as never);
        if (release === undefined) ended.catch(noop);
        else ended.then(release, release);
      } else release?.();
    }
  };
}
