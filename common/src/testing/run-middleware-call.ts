import { Writable } from 'node:stream';
import { Metadata, ServerError, Status, type CallContext, type ServerMiddleware, type ServerMiddlewareCall } from 'nice-grpc-common';
import { pino } from 'pino';
import { callTimeoutKey } from '../grpc/deadline-middleware.js';
import { peerKindKey, peerNameKey, peerRoleKey, peerSerialKey } from '../grpc/peer-identity-interceptor.js';

/*
 * One call through a server middleware stack, as nice-grpc makes it, for the parity tests of a
 * fused stack (serverCallMiddleware) against the layers it replaces: the agent's
 * (common/src/grpc/server-call-middleware.test.ts) and the controller's
 * (controller/src/server/controller-call-middleware.test.ts).
 */

/** The identity the peer interceptor would put in metadata. */
export interface CallPeer {
  name: string;
  kind: string;
  role?: string;
  serial?: string;
}

export interface MiddlewareCall {
  path: string;
  /** A server-streaming method (the handler still answers one value). */
  responseStream?: boolean;
  /** The caller; undefined: no xsctl certificate. */
  peer: CallPeer | undefined;
  request?: unknown;
  /** The caller's deadline as clientDeadlineMiddleware sends it. */
  timeoutMs?: string;
  /** The server is already shutting down. */
  shutdown?: boolean;
  /** Aborts the caller's signal this many ms into the call. */
  cancelAfterMs?: number;
  handler: (signal: AbortSignal) => Promise<string>;
  /** Called once the stack has answered (the handler may still run). */
  onAnswered?: () => void;
}

export interface Seen {
  started: boolean;
  /** The handler signal's abort reason, as a name or status, once it aborted. */
  aborted?: string;
}

export interface CallOutcome {
  outcome: { status: string; details?: string; value?: unknown };
  /** From the call to its answer. */
  ms: number;
  seen: Seen;
  /** The log lines, the fields the parity compares. */
  lines: Array<Record<string, unknown>>;
}

/** A middleware stack for one call: its logger, and the signal the server aborts when it shuts down. */
export type BuildMiddleware = (logger: pino.Logger, shutdown: AbortSignal) => ServerMiddleware;

function capture(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

const noop = (): void => undefined;

/**
 * Runs `c` through `build`'s stack and returns how it ended. It returns once the handler has ended
 * too (a handler that ignores its signal runs past the answer), so that what it saw is complete.
 */
export async function runMiddlewareCall(build: BuildMiddleware, c: MiddlewareCall): Promise<CallOutcome> {
  const { logger, lines } = capture();
  const stopping = new AbortController();
  if (c.shutdown === true) stopping.abort();
  const caller = new AbortController();
  const metadata = Metadata();
  if (c.peer !== undefined) {
    metadata.set(peerNameKey, c.peer.name).set(peerKindKey, c.peer.kind);
    if (c.peer.role !== undefined) metadata.set(peerRoleKey, c.peer.role);
    if (c.peer.serial !== undefined) metadata.set(peerSerialKey, c.peer.serial);
  }
  if (c.timeoutMs !== undefined) metadata.set(callTimeoutKey, c.timeoutMs);
  const context = { metadata, peer: 'ipv4:127.0.0.1:1', signal: caller.signal } as unknown as CallContext;
  const seen: Seen = { started: false };
  let handlerEnded: Promise<void> = Promise.resolve();
  const responseStream = c.responseStream === true;
  const call = {
    method: { path: c.path, requestStream: false, responseStream, options: {} },
    requestStream: false,
    responseStream,
    request: c.request ?? {},
    // eslint-disable-next-line require-yield -- the handler answers one value
    next: async function* (_request: unknown, ctx: CallContext) {
      seen.started = true;
      ctx.signal.addEventListener('abort', () => {
        const r = ctx.signal.reason as unknown;
        seen.aborted = r instanceof ServerError ? Status[r.code] : (r as Error).name;
      });
      const answer = c.handler(ctx.signal);
      handlerEnded = answer.then(noop, noop);
      return answer;
    },
  } as unknown as ServerMiddlewareCall<unknown, string>;
  const cancel = c.cancelAfterMs === undefined ? undefined : setTimeout(() => caller.abort(), c.cancelAfterMs);
  const start = performance.now();
  let outcome: CallOutcome['outcome'];
  try {
    const r = await build(logger, stopping.signal)(call, context).next();
    outcome = { status: 'OK', value: r.value };
  } catch (err) {
    outcome = err instanceof ServerError ? { status: Status[err.code], details: err.details } : { status: `not a ServerError: ${String(err)}` };
  }
  const ms = performance.now() - start;
  clearTimeout(cancel);
  c.onAnswered?.();
  await handlerEnded;
  return {
    outcome,
    ms,
    seen,
    lines: lines.map((l) => ({ level: l['level'], msg: l['msg'], status: l['status'], details: l['details'], method: l['method'], peer: l['peer'], kind: l['kind'], err: (l['err'] as { message?: string } | undefined)?.message })),
  };
}
