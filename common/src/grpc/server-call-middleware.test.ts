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
import { runMiddlewareCall, type BuildMiddleware, type MiddlewareCall } from '../testing/run-middleware-call.js';

// serverCallMiddleware replaces the agent's five .use() layers with one generator per call. Every
// case below runs through both (the five layers composed as nice-grpc composes them, and the one
// middleware) and must end the same way: status, details, log lines, what the handler saw.

const path = '/xsctl.agent.v1.HostService/GetFacts';
const policy: AuthPolicy = { kinds: ['controller'], methods: new Map([[path, 'read']]), revoked: (serial) => serial === 'DEAD' };

interface Case extends Omit<MiddlewareCall, 'path' | 'peer'> {
  name: string;
  /** The status the call must end with (gRPC's name for it). */
  status: string;
  /** Absent: an allowed controller; undefined: no xsctl certificate. */
  peer?: { kind: string; serial: string };
}

/** A request whose bytes did not decode, as the tolerant decoder hands it on. */
const undecodable = (() => {
  const def = tolerantDecoding({ name: 'S', fullName: 'x.S', methods: { m: { name: 'M', requestType: { decode: (_input: Uint8Array): unknown => { throw new Error('index out of range'); } } } } });
  return def.methods.m!.requestType.decode(new Uint8Array([1]));
})();

/** A handler that ignores its signal runs this long, against a deadline of 40 ms (see the timing test below). */
const ignoresSignalMs = 600;

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
  { name: 'the deadline passes, the handler ignoring its signal', status: 'DEADLINE_EXCEEDED', timeoutMs: '40', handler: async () => { await delay(ignoresSignalMs); return 'late'; } },
  { name: 'the server is shutting down', status: 'CANCELLED', shutdown: true, handler: async () => 'facts' },
  { name: 'the caller cancels', status: 'CANCELLED', cancelAfterMs: 30, handler: async (signal) => { await delay(5_000, undefined, { signal }); return 'late'; } },
];

// deadlineMiddleware is itself serverCallMiddleware({ deadline }): for the deadline cases the layered
// side checks only how the phases compose, so each case's own `status` is the independent check.
const layered: BuildMiddleware = (logger, shutdown) =>
  [errorMiddleware(logger), authMiddleware(policy), malformedRequestMiddleware(), deadlineMiddleware(10_000, { shutdown })].reduce<ServerMiddleware>((m, next) => composeServerMiddleware(m, next), loggingMiddleware(logger));
const fused: BuildMiddleware = (logger, shutdown) => serverCallMiddleware({ log: logger, errors: logger, auth: policy, refuseMalformed: true, deadline: { defaultMs: 10_000, shutdown } });

const run = (build: BuildMiddleware, c: Case) => runMiddlewareCall(build, { ...c, path, peer: 'peer' in c ? (c.peer === undefined ? undefined : { name: 'ctl', ...c.peer }) : { name: 'ctl', kind: 'controller', serial: '01' } });

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
    // Well under the handler's 600 ms, with room for a loaded machine (150 ms against 140 was flaky).
    expect(r.ms).toBeLessThan(ignoresSignalMs - 100);
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
    // 40 ms against 600: the answer comes first even when a loaded machine delays the timer.
    await runHeld(hold, async () => { await delay(600); return 'late'; }, events, '40');
    expect(events).toEqual(['granted', 'handler started', 'answered DEADLINE_EXCEEDED']);
    await delay(750);
    expect(events).toEqual(['granted', 'handler started', 'answered DEADLINE_EXCEEDED', 'handler ended', 'released']);
  });

  it('a wait past the deadline: DEADLINE_EXCEEDED without running the handler, and a grant that comes later released at once', async () => {
    const { events, hold } = recordingHold(600);
    await runHeld(hold, async () => 'facts', events, '40');
    expect(events).toEqual(['answered DEADLINE_EXCEEDED']);
    await delay(750);
    expect(events).toEqual(['answered DEADLINE_EXCEEDED', 'granted after the call gave up', 'released']);
  });

  it('nothing to hold (null): the handler runs at once', async () => {
    const events: string[] = [];
    await runHeld(() => null, async () => 'facts', events);
    expect(events).toEqual(['handler started', 'handler ended', 'answered OK']);
  });
});
