import { setTimeout as delay } from 'node:timers/promises';
import { composeServerMiddleware, type ServerMiddleware } from 'nice-grpc-common';
import { describe, expect, it } from 'vitest';
import { NotFoundError } from '@xsctl/common/errors/index';
import { authMiddleware, deadlineMiddleware, errorMiddleware, loggingMiddleware, malformedRequestMiddleware, tolerantDecoding, type AuthPolicy } from '@xsctl/common/grpc/index';
import { runMiddlewareCall, type BuildMiddleware, type CallOutcome, type MiddlewareCall } from '@xsctl/common/testing/run-middleware-call';
import { defaultLimits, IdentityLimits, type RoleLimits } from '../limits/identity-limits.js';
import { identityLimitsMiddleware } from '../limits/limits-middleware.js';
import { controllerCallCeilingMs, controllerCallMiddleware } from './controller-call-middleware.js';

// controllerCallMiddleware replaces the controller's six .use() layers (log, errors, auth,
// malformed, limits, deadline) with three. Every case runs through both, each with limits of its
// own, and must end the same way: status, details, log lines, what the handler saw; and with the
// status the case names, so that both cannot be wrong alike.

const read = '/xsctl.controller.v1.ControllerService/ListHosts';
const write = '/xsctl.controller.v1.ControllerService/ReloadInventory';
const stream = '/xsctl.controller.v1.MultipathRolloutService/Start';
const policy: AuthPolicy = { kinds: ['cli'], methods: new Map([[read, 'read'], [write, 'write'], [stream, 'write']]), revoked: (serial) => serial === 'DEAD' };

const vera = { name: 'vera', kind: 'cli', role: 'viewer', serial: '01' };
const olga = { name: 'olga', kind: 'cli', role: 'operator', serial: '02' };

type LimitsChange = { viewer?: Partial<RoleLimits>; operator?: Partial<RoleLimits> };

/** The default limits with `change`: fresh ones for each stack a case runs through. */
const limitsWith = (change: LimitsChange = {}) =>
  new IdentityLimits({ viewer: { ...defaultLimits.viewer, ...change.viewer }, operator: { ...defaultLimits.operator, ...change.operator } });

interface Case extends Omit<MiddlewareCall, 'path' | 'peer'> {
  name: string;
  status: string;
  path?: string;
  /** Absent: vera, a viewer. */
  peer?: MiddlewareCall['peer'];
  limits?: LimitsChange;
}

const undecodable = (() => {
  const def = tolerantDecoding({ name: 'S', fullName: 'x.S', methods: { m: { name: 'ListHosts', requestType: { decode: (_input: Uint8Array): unknown => { throw new Error('index out of range'); } } } } });
  return def.methods.m!.requestType.decode(new Uint8Array([1]));
})();

const answer = async () => 'hosts';

const cases: Case[] = [
  { name: 'a viewer reads', status: 'OK', handler: answer },
  { name: 'an operator writes', status: 'OK', path: write, peer: olga, handler: answer },
  { name: 'an operator opens a stream', status: 'OK', path: stream, peer: olga, responseStream: true, handler: answer },
  { name: 'a viewer writes', status: 'PERMISSION_DENIED', path: write, handler: answer },
  { name: 'no xsctl certificate', status: 'UNAUTHENTICATED', peer: undefined, handler: answer },
  { name: 'a revoked certificate', status: 'UNAUTHENTICATED', peer: { ...vera, serial: 'DEAD' }, handler: answer },
  { name: 'an agent certificate', status: 'PERMISSION_DENIED', peer: { name: 'xs1', kind: 'agent', serial: '03' }, handler: answer },
  { name: 'a controller certificate', status: 'PERMISSION_DENIED', peer: { name: 'ctl2', kind: 'controller', serial: '04' }, handler: answer },
  { name: 'an unclassified method', status: 'PERMISSION_DENIED', path: '/xsctl.controller.v1.ControllerService/NotInTheTable', handler: answer },
  { name: 'undecodable bytes', status: 'INVALID_ARGUMENT', request: undecodable, handler: answer },
  { name: 'a viewer over its calls in flight', status: 'RESOURCE_EXHAUSTED', limits: { viewer: { concurrent: 0 } }, handler: answer },
  { name: 'a viewer over its calls per minute', status: 'RESOURCE_EXHAUSTED', limits: { viewer: { callsPerMinute: 0 } }, handler: answer },
  { name: 'an operator over its streams', status: 'RESOURCE_EXHAUSTED', path: stream, peer: olga, responseStream: true, limits: { operator: { streams: 0 } }, handler: answer },
  { name: 'a refused kind is refused before the limits', status: 'PERMISSION_DENIED', peer: { name: 'xs1', kind: 'agent', serial: '03' }, limits: { viewer: { concurrent: 0 } }, handler: answer },
  { name: 'undecodable bytes are refused before the limits', status: 'INVALID_ARGUMENT', request: undecodable, limits: { viewer: { concurrent: 0 } }, handler: answer },
  { name: 'a typed error', status: 'NOT_FOUND', handler: async () => { throw new NotFoundError('host', 'xs9'); } },
  { name: 'an untyped error', status: 'INTERNAL', handler: async () => { throw new Error('boom at /secret/path'); } },
  { name: 'the caller\'s deadline passes, the handler honouring its signal', status: 'DEADLINE_EXCEEDED', timeoutMs: '40', handler: async (signal) => { await delay(5_000, undefined, { signal }); return 'late'; } },
  { name: 'the deadline passes, the handler ignoring its signal', status: 'DEADLINE_EXCEEDED', timeoutMs: '40', handler: async () => { await delay(600); return 'late'; } },
  { name: 'the server is shutting down', status: 'CANCELLED', shutdown: true, handler: answer },
  { name: 'the caller cancels', status: 'CANCELLED', cancelAfterMs: 30, handler: async (signal) => { await delay(5_000, undefined, { signal }); return 'late'; } },
];

/** The six layers the controller had, composed as nice-grpc's .use() composes them. */
const layered = (limits: IdentityLimits): BuildMiddleware => (logger, shutdown) =>
  [errorMiddleware(logger), authMiddleware(policy), malformedRequestMiddleware(), identityLimitsMiddleware(limits), deadlineMiddleware(controllerCallCeilingMs, { shutdown })].reduce<ServerMiddleware>(
    (m, next) => composeServerMiddleware(m, next),
    loggingMiddleware(logger),
  );
const fused = (limits: IdentityLimits): BuildMiddleware => (logger, shutdown) => controllerCallMiddleware({ logger, auth: policy, limits, shutdown });

const call = (c: Case): MiddlewareCall => ({ ...c, path: c.path ?? read, peer: 'peer' in c ? c.peer : vera });

describe('controllerCallMiddleware: three layers, the same outcome as the six', () => {
  it.each(cases)('$name', async (c) => {
    const a = await runMiddlewareCall(layered(limitsWith(c.limits)), call(c));
    const b = await runMiddlewareCall(fused(limitsWith(c.limits)), call(c));
    expect(b.outcome).toEqual(a.outcome);
    expect(b.seen).toEqual(a.seen);
    expect(b.lines).toEqual(a.lines);
    expect(b.outcome.status).toBe(c.status);
  });

  it('names the limit and the caller in the refusal, and logs it', async () => {
    const r = await runMiddlewareCall(fused(limitsWith({ viewer: { callsPerMinute: 0 } })), call(cases[0]!));
    expect(r.outcome).toEqual({ status: 'RESOURCE_EXHAUSTED', details: 'RATE_LIMITED: cli:vera (viewer) made too many calls; try again in 60 s' });
    expect(r.lines).toEqual([{ level: 40, msg: 'call failed', status: 'RESOURCE_EXHAUSTED', details: 'RATE_LIMITED: cli:vera (viewer) made too many calls; try again in 60 s', method: read, peer: 'vera', kind: 'cli', err: undefined }]);
    expect(r.seen.started).toBe(false);
  });
});

// The limits are one budget across calls: the same sequence through each stack, one IdentityLimits
// per stack, ends the same way call by call.
describe('controllerCallMiddleware: the limits across calls, as the six layers kept them', () => {
  async function sequence(build: (limits: IdentityLimits) => BuildMiddleware, viewer: Partial<RoleLimits>, calls: Case[]): Promise<Array<CallOutcome['outcome']>> {
    const stack = build(limitsWith({ viewer }));
    const outcomes = [];
    for (const c of calls) outcomes.push((await runMiddlewareCall(stack, call(c))).outcome);
    return outcomes;
  }
  const ok = cases[0]!;
  const ignoresDeadline = cases.find((x) => x.name === 'the deadline passes, the handler ignoring its signal')!;
  const shutdown = cases.find((x) => x.name === 'the server is shutting down')!;

  it('gives the slot back when a call ends, answered or refused', async () => {
    const calls = [ok, ok, { ...ok, handler: async () => { throw new NotFoundError('host', 'xs9'); } }, ok];
    const a = await sequence(layered, { concurrent: 1 }, calls);
    expect(await sequence(fused, { concurrent: 1 }, calls)).toEqual(a);
    expect(a.map((o) => o.status)).toEqual(['OK', 'OK', 'NOT_FOUND', 'OK']);
  });

  it('gives the slot back when the call is answered at its deadline, while a handler that ignores its signal still runs', async () => {
    // Not a `hold` of serverCallMiddleware: that would keep it until the handler has ended.
    for (const build of [layered, fused]) {
      const stack = build(limitsWith({ viewer: { concurrent: 1 } }));
      let finish!: () => void;
      const gate = new Promise<void>((resolve) => (finish = resolve));
      let answered!: () => void;
      const wasAnswered = new Promise<void>((resolve) => (answered = resolve));
      const late = runMiddlewareCall(stack, { ...call(ignoresDeadline), handler: async () => { await gate; return 'late'; }, onAnswered: answered });
      await wasAnswered;
      const meanwhile = await runMiddlewareCall(stack, call(ok));
      finish();
      expect((await late).outcome.status).toBe('DEADLINE_EXCEEDED');
      expect(meanwhile.outcome).toEqual({ status: 'OK', value: 'hosts' });
    }
  });

  it('a call refused at shutdown has spent its caller\'s rate budget (the limits come before the deadline)', async () => {
    const calls = [shutdown, ok];
    const a = await sequence(layered, { callsPerMinute: 1 }, calls);
    expect(await sequence(fused, { callsPerMinute: 1 }, calls)).toEqual(a);
    expect(a.map((o) => o.status)).toEqual(['CANCELLED', 'RESOURCE_EXHAUSTED']);
  });
});
