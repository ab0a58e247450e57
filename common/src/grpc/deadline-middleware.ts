import { isAbortError } from 'abort-controller-x';
import { ServerError, Status, type CallContext, type ServerMiddlewareCall } from 'nice-grpc-common';

/**
 * The caller's remaining budget in ms, sent by `clientDeadlineMiddleware`. nice-grpc clients
 * enforce deadlines with an abort signal and send no grpc-timeout, so without this the server
 * would learn of a deadline only from a cancel that a broken connection may never deliver.
 * Relative, like grpc-timeout, so clock skew between hosts does not matter.
 */
export const callTimeoutKey = 'x-xsctl-timeout-ms';

export interface ServerDeadlineOptions {
  /** Per-method ceilings (method path -> ms); `defaultMs` covers the rest. */
  limits?: Readonly<Record<string, number>>;
  /**
   * Aborted when the server begins to shut down. grpc-js's graceful shutdown waits for running
   * calls, and a root agent must not wait on a stuck tool: aborting it cancels every in-flight
   * handler (and the commands it runs), and a call that arrives after it is refused (CANCELLED
   * through the error middleware). It is one more source of the same per-call signal, so it
   * lives here rather than in a middleware layer of its own: each layer is an async generator
   * and an AbortSignal.any() per call, paid by every GetFacts (bench/agent.mjs).
   */
  shutdown?: AbortSignal;
}

/**
 * Bounds every call on the server side too: a client without a deadline must not pin a root
 * process forever. `options.limits` holds per-method ceilings; `defaultMs` covers the rest. A shorter
 * deadline sent by the client (`callTimeoutKey`) wins over the ceiling. The handler's signal
 * aborts when the client cancels, when the deadline passes, or when `options.shutdown` aborts.
 *
 * The timer is a plain setTimeout held until the call ends. `AbortSignal.timeout()` passed into
 * `AbortSignal.any()` is only weakly referenced and is garbage-collected before it fires, which
 * let a call with a 3 s ceiling run to OK at 8.3 s.
 */
export function deadlineMiddleware(defaultMs: number, options: ServerDeadlineOptions = {}) {
  const limits = options.limits ?? {};
  const shutdown = options.shutdown;
  return async function* <Request, Response>(call: ServerMiddlewareCall<Request, Response>, context: CallContext) {
    shutdown?.throwIfAborted();
    const ceiling = limits[call.method.path] ?? defaultMs;
    // A client may ask for less time than the ceiling, never for more.
    const asked = Number(context.metadata.get(callTimeoutKey) ?? Number.NaN);
    const ms = Number.isFinite(asked) && asked >= 0 ? Math.min(ceiling, asked) : ceiling;
    // Made when the limit passes, not per call: an Error captures a stack trace, a cost every
    // GetFacts paid (bench/agent.mjs).
    let exceeded: ServerError | undefined;
    const deadline = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    // Rejects when the limit passes, so a handler that ignores its signal still cannot outlive it.
    const expired = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        exceeded = new ServerError(
          Status.DEADLINE_EXCEEDED,
          ms === ceiling ? `DEADLINE_EXCEEDED: ${call.method.path} ran past the server's ${ceiling} ms limit` : `DEADLINE_EXCEEDED: the caller's deadline passed`,
        );
        deadline.abort(exceeded);
        reject(exceeded);
      }, ms);
    });
    expired.catch(() => undefined);
    const signal = AbortSignal.any(shutdown === undefined ? [context.signal, deadline.signal] : [context.signal, deadline.signal, shutdown]);
    const inner = call.next(call.request, { ...context, signal });
    let done = false;
    try {
      for (;;) {
        const step = inner.next();
        // If the deadline wins the race, the handler's later failure must not become an unhandled rejection.
        step.catch(() => undefined);
        const r = await Promise.race([step, expired]);
        if (r.done === true) {
          done = true;
          return r.value;
        }
        yield r.value;
      }
    } catch (err) {
      if (exceeded !== undefined && deadline.signal.aborted && !context.signal.aborted && (err === exceeded || isAbortError(err))) throw exceeded;
      throw err;
    } finally {
      clearTimeout(timer);
      // Let the handler's own finally blocks run when the call ends early (deadline, client gone).
      if (!done) void inner.return(undefined as never).catch(() => undefined);
    }
  };
}
