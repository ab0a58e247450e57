import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientError, Status, createChannel, createClient } from 'nice-grpc';
import { HostServiceDefinition } from '@xsctl/proto/gen/xsctl/agent/v1/host';
import { TargetServiceDefinition } from '@xsctl/proto/gen/xsctl/agent/v1/target';
import { mtlsChannel, serverCheck, tlsTarget } from '@xsctl/common/grpc/index';
import type { TlsMaterial } from '@xsctl/common/tls-trust/index';
import { createLogger } from '@xsctl/common/log/create-logger';
import { makeTestPki, type TestPki } from '@xsctl/common/testing/make-test-pki';
import { tempDir } from '@xsctl/common/testing/temp-dir';
import { ChannelCredentials, getChannelzHandlers } from '@grpc/grpc-js';
import { HealthDefinition } from 'nice-grpc-server-health';
import { CommandRunner } from '../exec/command-runner.js';
import { SandboxRoot } from '../fs/sandbox-root.js';
import { startAgentServer, type RunningAgentServer } from './create-agent-server.js';

const logger = createLogger('test', { level: 'silent' });
let pki: TestPki;
let agent: RunningAgentServer;
let rootDir: string;

beforeAll(async () => {
  pki = await makeTestPki();
  rootDir = await tempDir('xsctl-root-');
  const root = new SandboxRoot(rootDir);
  agent = await startAgentServer({
    ctx: { root, runner: new CommandRunner({ logger }), logger, stateDir: '/var/lib/xsctl-agent' },
    tls: await pki.issue({ kind: 'agent', name: 'xs-a', ipAddresses: ['127.0.0.1'] }),
    listen: '127.0.0.1:0',
    logger,
  });
});

afterAll(async () => {
  await agent.shutdown(100);
});

/** GetFacts as `tls` (or, for a client without a certificate, `credentials`), the agent's certificate checked. */
async function getFacts(tls: TlsMaterial | ChannelCredentials) {
  const address = `127.0.0.1:${agent.port}`;
  const channel = tls instanceof ChannelCredentials ? createChannel(address, tls, tlsTarget(address).channelOptions) : mtlsChannel(address, tls, { kind: 'agent' });
  try {
    return await createClient(HostServiceDefinition, channel).getFacts({}, { signal: AbortSignal.timeout(5000) });
  } finally {
    channel.close();
  }
}

async function statusOf(p: Promise<unknown>): Promise<Status | 'OK'> {
  try {
    await p;
    return 'OK';
  } catch (err) {
    if (err instanceof ClientError) return err.code;
    throw err;
  }
}

describe('agent mTLS', () => {
  it('accepts the controller certificate', async () => {
    const res = await getFacts(await pki.issue({ kind: 'controller', name: 'ctl' }));
    expect(res.facts?.root).toBe(rootDir);
    expect(res.facts?.agentVersion).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('rejects a client without a certificate', async () => {
    const ca = (await pki.issue({ kind: 'controller', name: 'ctl2' })).ca;
    // The agent's certificate checked as mtlsChannel checks it: only the missing client certificate fails.
    const noCertificate = ChannelCredentials.createSsl(ca, null, null, { checkServerIdentity: serverCheck({ kind: 'agent', verifyName: '127.0.0.1' }) });
    expect(await statusOf(getFacts(noCertificate))).toBe(Status.UNAVAILABLE);
  });

  it('rejects a certificate from another CA', async () => {
    const other = await makeTestPki();
    const foreign = await other.issue({ kind: 'controller', name: 'ctl' });
    const ours = await pki.issue({ kind: 'controller', name: 'ctl3' });
    // Trust our CA (so the server is verified) but present a client cert from the other CA.
    expect(await statusOf(getFacts({ ca: ours.ca, key: foreign.key, cert: foreign.cert }))).toBe(Status.UNAVAILABLE);
  });

  it('rejects an agent certificate presented as a client', async () => {
    const creds = await pki.issue({ kind: 'agent', name: 'xs-b' });
    expect(await statusOf(getFacts(creds))).toBe(Status.UNAVAILABLE);
  });

  it('rejects a CLI certificate: only the controller may call an agent', async () => {
    const creds = await pki.issue({ kind: 'cli', name: 'alice', role: 'operator' });
    expect(await statusOf(getFacts(creds))).toBe(Status.PERMISSION_DENIED);
  });
});

describe('agent server bookkeeping', () => {
  it('keeps no channelz records: its server and listening socket are unknown to grpc-js channelz', async () => {
    // One call first, so a server that tracked calls would be registered with them.
    await getFacts(await pki.issue({ kind: 'controller', name: 'ctl-z' }));
    const handlers = getChannelzHandlers();
    const reply = await new Promise<{ server: Array<{ listen_socket: Array<{ name: string }> }> }>((resolve, reject) => {
      handlers.GetServers({ request: { start_server_id: 0, max_results: 0 } } as never, ((err: Error | null, value: unknown) => (err === null ? resolve(value as never) : reject(err))) as never);
    });
    const listening = reply.server.flatMap((s) => s.listen_socket.map((l) => l.name));
    expect(listening.some((name) => name.endsWith(`:${agent.port}`))).toBe(false);
  });
});

describe('agent shutdown', () => {
  it('aborts in-flight calls instead of waiting for them', async () => {
    const root = new SandboxRoot(await tempDir('xsctl-root-'));
    const own = await startAgentServer({
      ctx: { root, runner: new CommandRunner({ logger }), logger, stateDir: '/var/lib/xsctl-agent' },
      tls: await pki.issue({ kind: 'agent', name: 'xs-s', ipAddresses: ['127.0.0.1'] }),
      listen: '127.0.0.1:0',
      logger,
    });
    const channel = mtlsChannel(`127.0.0.1:${own.port}`, await pki.issue({ kind: 'controller', name: 'ctl-s' }), { kind: 'agent' });
    // Health.Watch streams until the server ends it: an in-flight call that never finishes by itself.
    const stream = createClient(HealthDefinition, channel).watch({ service: '' });
    const first = await stream[Symbol.asyncIterator]().next();
    // 1 = SERVING in grpc.health.v1.
    expect(first.value).toEqual({ status: 1 });
    const drained = (async () => {
      try {
        for await (const _ of stream) { /* drain */ }
        return 'ended';
      } catch (err) {
        return err instanceof ClientError ? Status[err.code] : String(err);
      }
    })();
    const start = performance.now();
    await own.shutdown(20_000);
    const ms = performance.now() - start;
    channel.close();
    expect(ms).toBeLessThan(5_000);
    expect(['ended', 'CANCELLED', 'UNAVAILABLE']).toContain(await drained);
  });
});

describe('agent message size', () => {
  it('refuses a request over 1 MiB with RESOURCE_EXHAUSTED before any handler runs', async () => {
    const channel = mtlsChannel(`127.0.0.1:${agent.port}`, await pki.issue({ kind: 'controller', name: 'ctl-size' }), { kind: 'agent' }, {
      'grpc.max_send_message_length': 8 * 1024 * 1024,
    });
    try {
      const client = createClient(TargetServiceDefinition, channel);
      const huge = { targets: [{ tid: 1, iqn: 'x'.repeat(1_100_000), luns: [], initiatorAddresses: [], initiatorNames: [] }] };
      expect(await statusOf(client.renderTargetsConf(huge, { signal: AbortSignal.timeout(10_000) }))).toBe(Status.RESOURCE_EXHAUSTED);
      // Under the cap the same call reaches the handler (and its validation).
      const small = { targets: [{ tid: 1, iqn: 'x'.repeat(1000), luns: [], initiatorAddresses: [], initiatorNames: [] }] };
      expect(await statusOf(client.renderTargetsConf(small, { signal: AbortSignal.timeout(10_000) }))).toBe(Status.INVALID_ARGUMENT);
    } finally {
      channel.close();
    }
  });
});
