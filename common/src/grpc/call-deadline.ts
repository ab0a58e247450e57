import { isAbortError } from 'abort-controller-x';
import { ServerError, Status, type CallContext } from 'nice-grpc-common';

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
   * per call, paid by every GetFacts (bench/agent.mjs).
   */
  shutdown?: AbortSignal;
}

const noop = (): void => undefined;

/**
 * One call's deadline on the server: the handler's signal (aborted when the caller cancels, the
 * deadline passes or the server shuts down), the timer, and `race`, which answers at the deadline
 * even when a handler ignores its signal. `end()` when the call ends.
 *
 * Per call: one AbortController, one AbortSignal.any(), one timer and one promise per awaited step.
 * No standing `expired` promise raced against every step with Promise.race and a catch on each
 * (garbage every GetFacts paid, and the collector of a JIT-less runtime pays for all of it:
 * bench/agent.mjs). Listeners on the caller's and the shutdown signals instead of
 * AbortSignal.any() cost more under Bun (a closure and a listener record each, per call).
 * The timer is a plain setTimeout held until the call ends: `AbortSignal.timeout()` passed into
 * `AbortSignal.any()` is only weakly referenced and is garbage-collected before it fires, which let
 * a call with a 3 s ceiling run to OK at 8.3 s.
 */
export class CallDeadline {
  readonly #deadline = new AbortController();
  /** The handler's signal. */
  readonly signal: AbortSignal;
  readonly #caller: AbortSignal;
  readonly #timer: NodeJS.Timeout;
  /** Made when the limit passes, not per call: an Error captures a stack trace. */
  #exceeded: ServerError | undefined;
  /** Rejects the step being awaited (`race`) when the limit passes. */
  #rejectStep: ((err: unknown) => void) | undefined;

  /** Throws the shutdown signal's reason when the server is already shutting down. */
  constructor(path: string, context: CallContext, defaultMs: number, options: ServerDeadlineOptions = {}) {
    const shutdown = options.shutdown;
    shutdown?.throwIfAborted();
    const ceiling = options.limits?.[path] ?? defaultMs;
    // A client may ask for less time than the ceiling, never for more.
    const asked = Number(context.metadata.get(callTimeoutKey) ?? Number.NaN);
    const ms = Number.isFinite(asked) && asked >= 0 ? Math.min(ceiling, asked) : ceiling;
    this.#caller = context.signal;
    this.signal = AbortSignal.any(shutdown === undefined ? [context.signal, this.#deadline.signal] : [context.signal, this.#deadline.signal, shutdown]);
    this.#timer = setTimeout(() => {
      const exceeded = new ServerError(Status.DEADLINE_EXCEEDED, ms === ceiling ? `DEADLINE_EXCEEDED: ${path} ran past the server's ${ceiling} ms limit` : `DEADLINE_EXCEEDED: the caller's deadline passed`);
      this.#exceeded = exceeded;
      this.#deadline.abort(exceeded);
      this.#rejectStep?.(exceeded);
    }, ms);
  }

  /** `step`'s outcome, or DEADLINE_EXCEEDED as soon as the limit passes (the step's later failure is then ignored). */
  race<T>(step: Promise<T>): Promise<T> {
    if (this.#exceeded !== undefined) {
      step.catch(noop);
      return Promise.reject(this.#exceeded);
    }
    return new Promise<T>((resolve, reject) => {
      this.#rejectStep = reject;
      step.then(resolve, reject);
    });
  }

  /** Whether `err` is this deadline's own DEADLINE_EXCEEDED (the race answered it, not the step). */
  exceededBy(err: unknown): boolean {
    return err !== undefined && err === this.#exceeded;
  }

  /** What the call fails with: DEADLINE_EXCEEDED for the abort the deadline caused (not for the caller's own cancel), else `err`. */
  failure(err: unknown): unknown {
    if (this.#exceeded !== undefined && !this.#caller.aborted && (err === this.#exceeded || isAbortError(err))) return this.#exceeded;
    return err;
  }

  /** Stops the timer. */
  end(): void {
    clearTimeout(this.#timer);
    this.#rejectStep = undefined;
  }
}
