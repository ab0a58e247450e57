import { Writable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { Metadata, ServerError, Status, composeServerMiddleware, type CallContext, type ServerMiddleware, type ServerMiddlewareCall } from 'nice-grpc-common';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { NotFoundError } from '../errors/index.js';
import { authMiddleware, type AuthPolicy } from './auth-middleware.js';
import { callTimeoutKey, deadlineMiddleware } from './deadline-middleware.js';
import { errorMiddleware } from './error-middleware.js';
import { loggingMiddleware } from './logging-middleware.js';
import { malformedRequestMiddleware, tolerantDecoding } from './malformed-request.js';
import { peerKindKey, peerNameKey, peerSerialKey } from './peer-identity-interceptor.js';
import { serverCallMiddleware } from './server-call-middleware.js';

// serverCallMiddleware replaces the agent's five .use() layers with one generator per call. Every
// case below runs through both (the five layers composed as nice-grpc composes them, and the one
// middleware) and must end the same way: status, details, log lines, what the handler saw.

const path = '/xsctl.agent.v1.HostService/GetFacts';
const policy: AuthPolicy = { kinds: ['controller'], methods: new Map([[path, 'read']]), revoked: (serial) => serial === 'DEAD' };

interface Seen {
  started: boolean;
  /** The handler signal's abort reason, as a name or status, once it aborted. */
  aborted?: string;
}

interface Case {
  name: string;
  /** The status the call must end with (gRPC's name for it). */
  status: string;
  peer?: { kind: string; serial: string };
  request?: unknown;
  timeoutMs?: string;
  shutdown?: boolean;
  /** Aborts the caller's signal this many ms into the call. */
  cancelAfterMs?: number;
  handler: (signal: AbortSignal) => Promise<string>;
}

/** A request whose bytes did not decode, as the tolerant decoder hands it on. */
const undecodable = (() => {
  const def = tolerantDecoding({ name: 'S', fullName: 'x.S', methods: { m: { name: 'M', requestType: { decode: (_input: Uint8Array): unknown => { throw new Error('index out of range'); } } } } });
  return def.methods.m!.requestType.decode(new Uint8Array([1]));
})();

const cases: Case[] = [
  { name: 'an answered call', status: 'OK', handler: async () => 'facts' },
  { name: 'no xsctl certificate', status: 'UNAUTHENTICATED', peer: undefined, handler: async () => 'facts' },
  { name: 'a revoked certificate', status: 'UNAUTHENTICATED', peer: { kind: 'controller', serial: 'DEAD' }, handler: async () => 'facts' },
  { name: 'a kind the policy refuses', status: 'PERMISSION_DENIED', peer: { kind: 'agent', serial: '01' }, handler: async () => 'facts' },
  { name: 'undecodable bytes from an allowed peer', status: 'INVALID_ARGUMENT', request: undecodable, handler: async () => 'facts' },
  { name: 'undecodable bytes from no peer: authorisation first', status: 'UNAUTHENTICATED', peer: undefined, request: undecodable, handler: async () => 'facts' },
  { name: 'a typed error', status: 'NOT_FOUND', handler: async () => { throw new NotFoundError('host', 'xs9'); } },
  { name: 'an untyped error', status: 'INTERNAL', handler: async () => { throw new Error('boom at /secret/path'); } },
  { name: 'the deadline sent by the caller passes, the handler honouring its signal', status: 'DEADLINE_EXCEEDED', timeoutMs: '40', handler: async (signal) => { await delay(5_000, undefined, { signal }); return 'late'; } },
  { name: 'the deadline passes, the handler ignoring its signal', status: 'DEADLINE_EXCEEDED', timeoutMs: '40', handler: async () => { await delay(150); return 'late'; } },
  { name: 'the server is shutting down', status: 'CANCELLED', shutdown: true, handler: async () => 'facts' },
  { name: 'the caller cancels', status: 'CANCELLED', cancelAfterMs: 30, handler: async (signal) => { await delay(5_000, undefined, { signal }); return 'late'; } },
];

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

type Build = (logger: pino.Logger, shutdown: AbortSignal) => ServerMiddleware;

// deadlineMiddleware is itself serverCallMiddleware({ deadline }): for the deadline cases the layered
// side checks only how the phases compose, so each case's own `status` is the independent check.
const layered: Build = (logger, shutdown) =>
  [errorMiddleware(logger), authMiddleware(policy), malformedRequestMiddleware(), deadlineMiddleware(10_000, { shutdown })].reduce<ServerMiddleware>((m, next) => composeServerMiddleware(m, next), loggingMiddleware(logger));
const fused: Build = (logger, shutdown) => serverCallMiddleware({ log: logger, errors: logger, auth: policy, refuseMalformed: true, deadline: { defaultMs: 10_000, shutdown } });

async function run(build: Build, c: Case) {
  const { logger, lines } = capture();
  const stopping = new AbortController();
  if (c.shutdown === true) stopping.abort();
  const caller = new AbortController();
  const peer = 'peer' in c ? c.peer : { kind: 'controller', serial: '01' };
  const metadata = Metadata();
  if (peer !== undefined) metadata.set(peerNameKey, 'ctl').set(peerKindKey, peer.kind).set(peerSerialKey, peer.serial);
  if (c.timeoutMs !== undefined) metadata.set(callTimeoutKey, c.timeoutMs);
  const context = { metadata, peer: 'ipv4:127.0.0.1:1', signal: caller.signal } as unknown as CallContext;
  const seen: Seen = { started: false };
  const call = {
    method: { path, requestStream: false, responseStream: false, options: {} },
    requestStream: false,
    responseStream: false,
    request: 'request' in c ? c.request : {},
    // eslint-disable-next-line require-yield -- a unary handler yields nothing
    next: async function* (_request: unknown, ctx: CallContext) {
      seen.started = true;
      ctx.signal.addEventListener('abort', () => {
        const r = ctx.signal.reason as unknown;
        seen.aborted = r instanceof ServerError ? Status[r.code] : (r as Error).name;
      });
      return c.handler(ctx.signal);
    },
  } as unknown as ServerMiddlewareCall<unknown, string>;
  if (c.cancelAfterMs !== undefined) setTimeout(() => caller.abort(), c.cancelAfterMs);
  const start = performance.now();
  let outcome: { status: string; details?: string; value?: unknown };
  try {
    const r = await build(logger, stopping.signal)(call, context).next();
    outcome = { status: 'OK', value: r.value };
  } catch (err) {
    outcome = err instanceof ServerError ? { status: Status[err.code], details: err.details } : { status: `not a ServerError: ${String(err)}` };
  }
  const ms = performance.now() - start;
  // Let a handler that ignored its signal finish (and its abort be seen) before comparing.
  await delay(200);
  return { outcome, ms, seen, lines: lines.map((l) => ({ level: l['level'], msg: l['msg'], status: l['status'], details: l['details'], method: l['method'], peer: l['peer'], err: (l['err'] as { message?: string } | undefined)?.message })) };
}

describe('serverCallMiddleware: one middleware, the same outcome as the five layers', () => {
  it.each(cases)('$name', async (c) => {
    const [a, b] = [await run(layered, c), await run(fused, c)];
    expect(b.outcome).toEqual(a.outcome);
    expect(b.seen).toEqual(a.seen);
    expect(b.lines).toEqual(a.lines);
    // And what that outcome is, so that both cannot be wrong alike.
    expect(b.outcome.status).toBe(c.status);
  });

  it('answers at the deadline, not when a handler that ignores its signal ends', async () => {
    const c = cases.find((x) => x.name === 'the deadline passes, the handler ignoring its signal')!;
    const r = await run(fused, c);
    expect(r.ms).toBeLessThan(140);
    expect(r.seen).toEqual({ started: true, aborted: 'DEADLINE_EXCEEDED' });
  });

  it('logs an untyped error with its message and the method, and answers without it', async () => {
    const r = await run(fused, cases.find((x) => x.name === 'an untyped error')!);
    expect(r.outcome.details).not.toContain('/secret/path');
    expect(r.lines).toEqual([
      expect.objectContaining({ msg: 'unhandled error', method: path, err: 'boom at /secret/path' }),
      expect.objectContaining({ msg: 'call failed', status: 'INTERNAL', peer: 'ctl' }),
    ]);
  });

  it('refuses before the handler runs: no certificate, a revoked one, shutdown', async () => {
    for (const name of ['no xsctl certificate', 'a revoked certificate', 'the server is shutting down']) {
      expect((await run(fused, cases.find((x) => x.name === name)!)).seen.started).toBe(false);
    }
  });
});

// `hold` (the agent's resource locks, once a layer of their own after the deadline).
describe('serverCallMiddleware hold', () => {
  /** A hold granted after `grantAfterMs`, recording when it is granted and released. */
  function recordingHold(grantAfterMs: number) {
    const events: string[] = [];
    const hold = (_path: string, _request: unknown, signal: AbortSignal): Promise<() => void> =>
      new Promise((resolve) => {
        setTimeout(() => {
          events.push(signal.aborted ? 'granted after the call gave up' : 'granted');
          resolve(() => events.push('released'));
        }, grantAfterMs);
      });
    return { events, hold };
  }

  async function runHeld(hold: NonNullable<Parameters<typeof serverCallMiddleware>[0]['hold']>, handler: (signal: AbortSignal) => Promise<string>, events: string[], timeoutMs = '10000') {
    const metadata = Metadata().set(peerNameKey, 'ctl').set(peerKindKey, 'controller').set(peerSerialKey, '01').set(callTimeoutKey, timeoutMs);
    const context = { metadata, peer: 'ipv4:127.0.0.1:1', signal: new AbortController().signal } as unknown as CallContext;
    const call = {
      method: { path, requestStream: false, responseStream: false, options: {} },
      request: {},
      // eslint-disable-next-line require-yield -- a unary handler yields nothing
      next: async function* (_request: unknown, ctx: CallContext) {
        events.push('handler started');
        try {
          return await handler(ctx.signal);
        } finally {
          events.push('handler ended');
        }
      },
    } as unknown as ServerMiddlewareCall<unknown, string>;
    const mw = serverCallMiddleware({ errors: pino({ level: 'silent' }), auth: policy, deadline: { defaultMs: 10_000 }, hold });
    try {
      await mw(call, context).next();
      events.push('answered OK');
    } catch (err) {
      events.push(`answered ${err instanceof ServerError ? Status[err.code] : String(err)}`);
    }
  }

  it('runs the handler holding it, and releases it when the handler ends', async () => {
    const { events, hold } = recordingHold(10);
    await runHeld(hold, async () => 'facts', events);
    expect(events).toEqual(['granted', 'handler started', 'handler ended', 'released', 'answered OK']);
  });

  it('releases it when the handler fails', async () => {
    const { events, hold } = recordingHold(10);
    await runHeld(hold, async () => { throw new NotFoundError('host', 'xs9'); }, events);
    expect(events).toEqual(['granted', 'handler started', 'handler ended', 'released', 'answered NOT_FOUND']);
  });

  it('answers at the deadline but keeps holding until a handler that ignores its signal has ended', async () => {
    const { events, hold } = recordingHold(5);
    await runHeld(hold, async () => { await delay(150); return 'late'; }, events, '40');
    expect(events).toEqual(['granted', 'handler started', 'answered DEADLINE_EXCEEDED']);
    await delay(250);
    expect(events).toEqual(['granted', 'handler started', 'answered DEADLINE_EXCEEDED', 'handler ended', 'released']);
  });

  it('a wait past the deadline: DEADLINE_EXCEEDED without running the handler, and a grant that comes later released at once', async () => {
    const { events, hold } = recordingHold(120);
    await runHeld(hold, async () => 'facts', events, '40');
    expect(events).toEqual(['answered DEADLINE_EXCEEDED']);
    await delay(200);
    expect(events).toEqual(['answered DEADLINE_EXCEEDED', 'granted after the call gave up', 'released']);
  });

  it('nothing to hold (null): the handler runs at once', async () => {
    const events: string[] = [];
    await runHeld(() => null, async () => 'facts', events);
    expect(events).toEqual(['handler started', 'handler ended', 'answered OK']);
  });
});
