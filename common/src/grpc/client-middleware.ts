import { isAbortError } from 'abort-controller-x';
import { ClientError, composeClientMiddleware, Metadata, Status as StatusValue, type CallOptions, type ClientMiddleware, type ClientMiddlewareCall, type Status } from 'nice-grpc-common';
import { retryMiddleware, type RetryOptions } from 'nice-grpc-client-middleware-retry';
import { callTimeoutKey } from './deadline-middleware.js';
import { fromClientError } from './error-codec.js';

export interface DeadlineOptions {
  /** Milliseconds this call may take; the connection's table gives the default. */
  timeoutMs?: number;
}

/**
 * Every call gets a deadline, even when the caller forgot one: per-method from `limits`, else
 * `defaultMs`. The budget also travels to the server (`callTimeoutKey`) so it stops the work there.
 */
export function clientDeadlineMiddleware(defaultMs: number, limits: Readonly<Record<string, number>> = {}) {
  return async function* <Request, Response>(
    call: ClientMiddlewareCall<Request, Response, DeadlineOptions>,
    options: CallOptions & DeadlineOptions,
  ) {
    const ms = options.timeoutMs ?? limits[call.method.path] ?? defaultMs;
    // A timer held until the call ends: an AbortSignal.timeout() inside AbortSignal.any() is only
    // weakly referenced and may be garbage-collected before it fires.
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), ms);
    const signal = options.signal === undefined ? timeout.signal : AbortSignal.any([options.signal, timeout.signal]);
    const metadata = Metadata(options.metadata);
    metadata.set(callTimeoutKey, String(ms));
    try {
      return yield* call.next(call.request, { ...options, metadata, signal });
    } catch (err) {
      if (timeout.signal.aborted && isAbortError(err)) {
        throw new ClientError(call.method.path, StatusValue.DEADLINE_EXCEEDED, `deadline of ${ms} ms exceeded`);
      }
      throw err;
    } finally {
      clearTimeout(timer);
    }
  };
}

export interface RetryPolicy {
  /** Only these statuses are retried, and only for methods marked idempotent. */
  retryable: readonly Status[];
  /** Attempts in all, the first included. */
  attempts: number;
  baseDelayMs: number;
  idempotent: (path: string) => boolean;
}

/**
 * Retries unary idempotent calls on the listed statuses with exponential backoff and jitter, using
 * nice-grpc's retry middleware; the policy (from a call table keyed by method path) supplies its
 * per-call options, which a caller may still override per call. Aborts are never retried.
 */
export function clientRetryMiddleware(policy: RetryPolicy): ClientMiddleware<RetryOptions> {
  const defaults: ClientMiddleware<RetryOptions, RetryOptions> = async function* <Request, Response>(call: ClientMiddlewareCall<Request, Response, RetryOptions>, options: CallOptions & RetryOptions) {
    return yield* call.next(call.request, {
      retry: policy.idempotent(call.method.path),
      retryMaxAttempts: policy.attempts - 1,
      retryBaseDelayMs: policy.baseDelayMs,
      retryMaxDelayMs: policy.baseDelayMs * 2 ** Math.max(0, policy.attempts - 2),
      retryableStatuses: [...policy.retryable],
      ...options,
    });
  };
  // composeClientMiddleware(inner, outer): the defaults run first and hand their options to the retrier.
  return composeClientMiddleware(retryMiddleware, defaults);
}

/** Converts ClientError into RemoteError carrying the server's stable code. */
export async function* clientErrorMiddleware<Request, Response>(call: ClientMiddlewareCall<Request, Response>, options: CallOptions) {
  try {
    return yield* call.next(call.request, options);
  } catch (err) {
    if (err instanceof ClientError) throw fromClientError(err);
    if (isAbortError(err)) throw err;
    throw err;
  }
}
