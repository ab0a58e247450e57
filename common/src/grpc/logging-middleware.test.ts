import { Writable } from 'node:stream';
import { Metadata, ServerError, Status, type CallContext, type ServerMiddlewareCall } from 'nice-grpc-common';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { loggingMiddleware } from './logging-middleware.js';
import { peerKindKey, peerNameKey } from './peer-identity-interceptor.js';

function capture(level: string): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level }, stream), lines };
}

const context = (): CallContext => ({
  metadata: Metadata({ [peerNameKey]: 'xsctl-controller', [peerKindKey]: 'controller' }),
  peer: 'ipv4:10.0.0.9:51000',
  signal: new AbortController().signal,
}) as unknown as CallContext;

function call(outcome: () => string): ServerMiddlewareCall<object, string> {
  return {
    method: { path: '/xsctl.agent.v1.HostService/GetFacts' },
    request: {},
    // eslint-disable-next-line require-yield -- a unary handler yields nothing
    next: async function* () {
      return outcome();
    },
  } as unknown as ServerMiddlewareCall<object, string>;
}

async function run(level: string, outcome: () => string): Promise<Array<Record<string, unknown>>> {
  const { logger, lines } = capture(level);
  const gen = loggingMiddleware(logger)(call(outcome), context());
  try {
    await gen.next();
  } catch {
    // the failure is the caller's; the line is what is checked
  }
  return lines;
}

describe('loggingMiddleware', () => {
  it('at info: one line per call with the method, the peer from its certificate and the status', async () => {
    const lines = await run('info', () => 'facts');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ msg: 'call', method: '/xsctl.agent.v1.HostService/GetFacts', peer: 'xsctl-controller', kind: 'controller', status: 'OK' });
  });

  it('at warn (an agent): nothing for a call that succeeded, a line with the peer for one that failed', async () => {
    expect(await run('warn', () => 'facts')).toEqual([]);
    const failed = await run('warn', () => {
      throw new ServerError(Status.PERMISSION_DENIED, 'no');
    });
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ msg: 'call failed', method: '/xsctl.agent.v1.HostService/GetFacts', peer: 'xsctl-controller', kind: 'controller', status: 'PERMISSION_DENIED', details: 'no' });
  });
});
