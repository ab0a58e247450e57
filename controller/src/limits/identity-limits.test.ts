import { writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { request } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClientFactory } from 'nice-grpc';
import { Status } from 'nice-grpc-common';
import { ControllerServiceDefinition } from '@xsctl/proto/gen/xsctl/controller/v1/controller';
import { clientErrorMiddleware, mtlsChannel } from '@xsctl/common/grpc/index';
import { RemoteError } from '@xsctl/common/errors/index';
import { createLogger } from '@xsctl/common/log/create-logger';
import { makeTestPki, type TestPki } from '@xsctl/common/testing/make-test-pki';
import type { TlsMaterial } from '@xsctl/common/pki/index';
import { loadControllerConfig } from '../config/inventory.js';
import { Journal } from '../journal/journal.js';
import { startHttpServer, type RunningHttpServer } from '../http/start-http-server.js';
import { createControllerContext } from '../server/create-controller-context.js';
import { startControllerServer, type RunningControllerServer } from '../server/create-controller-server.js';
import { tempDir } from '@xsctl/common/testing/temp-dir';

/**
 * Issue 10, defect 9: a viewer could fan ListHosts (every dom0 and XAPI) out as fast as it liked.
 * The real servers, with small limits from the config; the pool's "XAPI" accepts connections and
 * never answers, so a ListHosts stays in flight for as long as the test wants.
 */
const logger = createLogger('test', { level: 'silent' });
let pki: TestPki;
let server: RunningControllerServer;
let http: RunningHttpServer;
let ctx: ReturnType<typeof createControllerContext>;
let silentXapi: Server;
const sockets = new Set<Socket>();

beforeAll(async () => {
  pki = await makeTestPki();
  silentXapi = createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => silentXapi.listen(0, '127.0.0.1', resolve));
  const xapiPort = (silentXapi.address() as { port: number }).port;
  const dir = await tempDir('xsctl-limits-');
  const tls = await pki.issue({ kind: 'controller', name: 'ctl', ipAddresses: ['127.0.0.1'] });
  const configFile = join(dir, 'controller.yaml');
  await writeFile(join(dir, 'pw'), 'secret\n');
  await writeFile(
    configFile,
    [
      `tls: {ca: ${pki.dir}/ca/ca.crt, cert: ${pki.dir}/ctl.crt, key: ${pki.dir}/ctl.key}`,
      `journal: ${dir}/j.sqlite`,
      'watch: {xapiEvents: false, agentProbeSeconds: 0}',
      'limits: {viewer: {callsPerMinute: 3, concurrent: 1, streams: 1}}',
      'pools:',
      `  - {name: lab, xapi: {url: "https://127.0.0.1:${xapiPort}", user: root, passwordFile: pw}}`,
      '',
    ].join('\n'),
  );
  const config = await loadControllerConfig(configFile);
  ctx = createControllerContext({ configFile, config, tls, journal: new Journal(':memory:'), logger });
  server = await startControllerServer({ ctx, tls, listen: '127.0.0.1:0', logger });
  http = await startHttpServer({ ctx, listen: '127.0.0.1:0', logger, tls });
});

afterAll(async () => {
  await http?.close();
  await server?.shutdown(100);
  ctx?.close();
  for (const s of sockets) s.destroy();
  silentXapi?.close();
});

function client(tls: TlsMaterial) {
  const channel = mtlsChannel(`127.0.0.1:${server.port}`, tls, { kind: 'controller' });
  return { c: createClientFactory().use(clientErrorMiddleware).create(ControllerServiceDefinition, channel), close: () => channel.close() };
}

async function failure(p: Promise<unknown>): Promise<RemoteError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof RemoteError) return err;
    throw err;
  }
  throw new Error('expected the call to fail');
}

function httpsGet(path: string, who: TlsMaterial): Promise<{ status: number; retryAfter: string | undefined }> {
  const port = Number(new URL(http.address).port);
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, ca: who.ca, cert: who.cert, key: who.key, servername: 'ctl', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] as string | undefined }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('per-identity limits (issue 10, defect 9)', () => {
  it('refuses a viewer over its calls per minute with RESOURCE_EXHAUSTED, and only that viewer', async () => {
    const vera = client(await pki.issue({ kind: 'cli', name: 'v-rate', role: 'viewer' }));
    for (let i = 0; i < 3; i++) expect((await vera.c.whoAmI({})).name).toBe('v-rate');
    const err = await failure(vera.c.whoAmI({}));
    expect(err.grpcStatus).toBe(Status.RESOURCE_EXHAUSTED);
    expect(err.code).toBe('RATE_LIMITED');
    expect(err.message).toMatch(/too many calls; try again in \d+ s/);
    vera.close();
    // Another viewer, and an operator (default limits), are not affected.
    const other = client(await pki.issue({ kind: 'cli', name: 'v-other', role: 'viewer' }));
    expect((await other.c.whoAmI({})).name).toBe('v-other');
    other.close();
    const olga = client(await pki.issue({ kind: 'cli', name: 'o-rate', role: 'operator' }));
    for (let i = 0; i < 5; i++) expect((await olga.c.whoAmI({})).role).toBe('operator');
    olga.close();
    expect((await ctx.metrics.exposition()).body).toMatch(/^xsctl_calls_limited_total\{role="viewer",limit="rate"\} 1$/m);
  });

  it('refuses a second ListHosts while the viewer has one in flight, and takes it again once that ends', async () => {
    const vic = client(await pki.issue({ kind: 'cli', name: 'v-conc', role: 'viewer' }));
    const slow = new AbortController();
    const first = vic.c.listHosts({ pool: '' }, { signal: slow.signal }).catch((e: unknown) => e);
    // Until the first call holds its slot.
    const deadline = Date.now() + 10_000;
    while (sockets.size === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(sockets.size).toBeGreaterThan(0);
    const second = await failure(vic.c.listHosts({ pool: '' }));
    expect(second.grpcStatus).toBe(Status.RESOURCE_EXHAUSTED);
    expect(second.message).toMatch(/too many calls in flight/);
    slow.abort();
    await first;
    // The slot comes back when the server has finished the aborted call.
    let again: unknown;
    for (let i = 0; i < 50; i++) {
      again = await vic.c.whoAmI({}).catch((e: unknown) => e);
      if (!(again instanceof RemoteError)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(again).toMatchObject({ name: 'v-conc' });
    vic.close();
  });

  it('counts HTTPS requests against the same budget and answers 429 with Retry-After', async () => {
    const who = await pki.issue({ kind: 'cli', name: 'v-http', role: 'viewer' });
    for (let i = 0; i < 3; i++) expect((await httpsGet('/api/pools', who)).status).toBe(200);
    const over = await httpsGet('/api/pools', who);
    expect(over.status).toBe(429);
    expect(Number(over.retryAfter)).toBeGreaterThan(0);
    // The gRPC side shares it.
    const c = client(who);
    expect((await failure(c.c.whoAmI({}))).code).toBe('RATE_LIMITED');
    c.close();
  });
});
