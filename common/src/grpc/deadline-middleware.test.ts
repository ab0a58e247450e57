import { setTimeout as delay } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChannelCredentials, ServerCredentials } from '@grpc/grpc-js';
import { ClientError, Metadata, Status, createChannel, createClient, createClientFactory, createServer, type CallContext, type MethodDefinition, type Server } from 'nice-grpc';
import { pino } from 'pino';
import { clientDeadlineMiddleware } from './client-middleware.js';
import { callTimeoutKey, deadlineMiddleware } from './deadline-middleware.js';
import { errorMiddleware } from './error-middleware.js';

// Forced collections: the bug was a timeout signal collected before it fired.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

interface Msg {
  ms: number;
}
const serialize = (v: Msg): Buffer => Buffer.from(JSON.stringify(v));
const deserialize = (b: Buffer): Msg => JSON.parse(b.toString()) as Msg;
function method<S extends boolean>(path: string, responseStream: S): MethodDefinition<Msg, Msg, Msg, Msg, false, S> {
  return { path, requestStream: false, responseStream, requestSerialize: serialize, requestDeserialize: deserialize, responseSerialize: serialize, responseDeserialize: deserialize, options: {} };
}
const SlowDefinition = {
  honest: method('/test.Slow/Honest', false),
  deaf: method('/test.Slow/Deaf', false),
  patient: method('/test.Slow/Patient', false),
  stream: method('/test.Slow/Stream', true),
};

/** A server of SlowDefinition behind the given middleware, and what its handlers saw. */
interface SlowServer {
  port: number;
  /** Each handler signal's abort: its reason, and when, ms after the handler started. */
  aborts: Array<{ reason: unknown; ms: number }>;
  /** Handlers started so far. */
  started: number;
}

async function serveSlow(server: Server): Promise<SlowServer> {
  const slow: SlowServer = { port: 0, aborts: [], started: 0 };
  // Waits as long as it is asked to, unless its signal aborts.
  const honest = async (req: Msg, { signal }: CallContext) => {
    slow.started++;
    const start = performance.now();
    signal.addEventListener('abort', () => slow.aborts.push({ reason: signal.reason, ms: performance.now() - start }));
    await delay(req.ms, undefined, { signal });
    return { ms: req.ms };
  };
  server.add(SlowDefinition, {
    honest,
    patient: honest,
    // Ignores its signal: the middleware must still answer at the deadline.
    async deaf(req: Msg) {
      slow.started++;
      await delay(req.ms);
      return { ms: req.ms };
    },
    async *stream(req: Msg, { signal }: CallContext) {
      yield { ms: 0 };
      await delay(req.ms, undefined, { signal });
      yield { ms: req.ms };
    },
  });
  slow.port = await server.listen('127.0.0.1:0', ServerCredentials.createInsecure());
  return slow;
}

function clientOf(slow: SlowServer) {
  const channel = createChannel(`127.0.0.1:${slow.port}`, ChannelCredentials.createInsecure());
  return { c: createClient(SlowDefinition, channel), close: () => channel.close() };
}

async function outcome(p: Promise<unknown>): Promise<{ status: string; ms: number }> {
  const start = performance.now();
  try {
    await p;
    return { status: 'OK', ms: performance.now() - start };
  } catch (err) {
    if (!(err instanceof ClientError)) throw err;
    return { status: Status[err.code] ?? String(err.code), ms: performance.now() - start };
  }
}

/** A 4 s call to Patient (10 s ceiling) that sent a 300 ms budget: DEADLINE_EXCEEDED, and its handler aborted, well before 2.5 s. */
async function expectStoppedAtSentBudget(slow: SlowServer): Promise<void> {
  const { c, close } = clientOf(slow);
  const before = slow.aborts.length;
  const r = await outcome(c.patient({ ms: 4_000 }, { metadata: Metadata({ [callTimeoutKey]: '300' }) }));
  close();
  expect(r.status).toBe('DEADLINE_EXCEEDED');
  expect(r.ms).toBeLessThan(2_500);
  expect(slow.aborts.length).toBe(before + 1);
  expect(slow.aborts.at(-1)?.ms).toBeLessThan(2_500);
}

let server: Server;
let slow: SlowServer;
let collector: NodeJS.Timeout;

beforeAll(async () => {
  collector = setInterval(gc, 20);
  server = createServer().use(deadlineMiddleware(1_000, { limits: { '/test.Slow/Stream': 1_200, '/test.Slow/Patient': 10_000 } }));
  slow = await serveSlow(server);
});

afterAll(async () => {
  clearInterval(collector);
  await server.shutdown();
});

const client = () => clientOf(slow);

describe('server deadline middleware', () => {
  it('fires its ceiling under garbage collection: a 1 s limit stops a 4 s call', async () => {
    const { c, close } = client();
    const r = await outcome(c.honest({ ms: 4_000 }));
    close();
    expect(r.status).toBe('DEADLINE_EXCEEDED');
    expect(r.ms).toBeGreaterThanOrEqual(950);
    expect(r.ms).toBeLessThan(2_500);
    expect(slow.aborts.at(-1)?.ms).toBeGreaterThanOrEqual(950);
  });

  it('answers at the ceiling even when the handler ignores its signal', async () => {
    const { c, close } = client();
    const r = await outcome(c.deaf({ ms: 4_000 }));
    close();
    expect(r.status).toBe('DEADLINE_EXCEEDED');
    expect(r.ms).toBeLessThan(2_500);
  });

  it("aborts the handler at the client's shorter deadline", async () => {
    const channel = createChannel(`127.0.0.1:${slow.port}`, ChannelCredentials.createInsecure());
    const c = createClientFactory().use(clientDeadlineMiddleware(300)).create(SlowDefinition, channel);
    const before = slow.aborts.length;
    const r = await outcome(c.patient({ ms: 4_000 }));
    channel.close();
    expect(r.status).toBe('DEADLINE_EXCEEDED');
    await delay(200);
    expect(slow.aborts.length).toBe(before + 1);
    // Far below the 4 s the handler would run and the 10 s ceiling.
    expect(slow.aborts.at(-1)?.ms).toBeLessThan(2_500);
  });

  it('stops the handler at the budget the client sent, without any cancel from the client', async () => {
    await expectStoppedAtSentBudget(slow);
  });

  it('never lets a client ask for more than the ceiling', async () => {
    const { c, close } = client();
    const r = await outcome(c.honest({ ms: 4_000 }, { metadata: Metadata({ [callTimeoutKey]: '60000' }) }));
    close();
    expect(r.status).toBe('DEADLINE_EXCEEDED');
    expect(r.ms).toBeLessThan(2_500);
  });

  it('ends a stream at its per-method ceiling', async () => {
    const { c, close } = client();
    const seen: number[] = [];
    const r = await outcome((async () => {
      for await (const m of c.stream({ ms: 4_000 })) seen.push(m.ms);
    })());
    close();
    expect(seen).toEqual([0]);
    expect(r.status).toBe('DEADLINE_EXCEEDED');
    expect(r.ms).toBeGreaterThanOrEqual(1_150);
    expect(r.ms).toBeLessThan(2_700);
  });

  it('lets a call that finishes in time through', async () => {
    const { c, close } = client();
    expect(await c.honest({ ms: 50 })).toEqual({ ms: 50 });
    close();
  });
});

// The shutdown signal is one more source of the handler's signal (it had a middleware layer of its
// own): a server shutting down cancels what runs and refuses what comes, and the deadline still
// answers DEADLINE_EXCEEDED beside it. The error middleware in front maps the abort as the agent's does.
describe('server deadline middleware with a shutdown signal', () => {
  let stopping: AbortController;
  let own: Server;
  let shut: SlowServer;

  beforeAll(async () => {
    stopping = new AbortController();
    own = createServer()
      .use(errorMiddleware(pino({ level: 'silent' })))
      .use(deadlineMiddleware(1_000, { limits: { '/test.Slow/Patient': 10_000 }, shutdown: stopping.signal }));
    shut = await serveSlow(own);
  });

  afterAll(async () => {
    await own.shutdown();
  });

  it('still answers DEADLINE_EXCEEDED at the deadline, not CANCELLED, while the server is not shutting down', async () => {
    await expectStoppedAtSentBudget(shut);
  });

  it('cancels a call in flight when shutdown begins (the handler sees its signal abort), long before its deadline', async () => {
    const { c, close } = clientOf(shut);
    const before = shut.aborts.length;
    const startedBefore = shut.started;
    const call = outcome(c.patient({ ms: 8_000 }));
    // Let the handler start before the server begins to stop.
    for (let i = 0; i < 200 && shut.started === startedBefore; i++) await delay(10);
    expect(shut.started).toBe(startedBefore + 1);
    stopping.abort();
    const r = await call;
    close();
    expect(r.status).toBe('CANCELLED');
    // The 10 s ceiling and the 8 s the handler would run are far off.
    expect(r.ms).toBeLessThan(2_500);
    expect(shut.aborts.length).toBe(before + 1);
    expect((shut.aborts.at(-1)?.reason as Error).name).toBe('AbortError');
  });

  it('refuses a call that arrives after shutdown began, without running its handler', async () => {
    const { c, close } = clientOf(shut);
    const before = shut.started;
    const r = await outcome(c.deaf({ ms: 10 }));
    close();
    expect(r.status).toBe('CANCELLED');
    expect(shut.started).toBe(before);
  });
});
