import { X509Certificate } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { connect, type ConnectionOptions } from 'node:tls';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, credentials as grpcCredentials, Metadata, status as GrpcStatus, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { HostServiceDefinition } from '@xsctl/proto/gen/xsctl/agent/v1/host';
import { createLogger } from '@xsctl/common/log/create-logger';
import { mtlsChannelCredentials } from '@xsctl/common/grpc/index';
import { initCa, issueCertificate, loadTlsMaterial, parseRevocationList, pkiLayout, revokeCertificate, RevocationStore, type IssueOptions, type TlsMaterial } from '@xsctl/common/pki/index';
import { startAgentServer, type RunningAgentServer } from '@xsctl/agent/server/create-agent-server';
import { CommandRunner } from '@xsctl/agent/exec/command-runner';
import { SandboxRoot } from '@xsctl/agent/fs/sandbox-root';
import { AgentConnection } from '@xsctl/controller/agents/agent-connection';
import { loadControllerConfig } from '@xsctl/controller/config/inventory';
import { Journal } from '@xsctl/controller/journal/journal';
import { createControllerContext } from '@xsctl/controller/server/create-controller-context';
import { startControllerServer, type RunningControllerServer } from '@xsctl/controller/server/create-controller-server';
import { serviceRegistrations } from '@xsctl/controller/server/register-services';
import { methodAccess } from '@xsctl/controller/server/registration';
import { startHttpServer, type RunningHttpServer } from '@xsctl/controller/http/start-http-server';
import type { ControllerContext } from '@xsctl/controller/server/controller-context';
import { anything } from '../src/registration/anything.js';
import { generatedServices, type GeneratedMethod } from '../src/proto/generated-services.js';
import { tempDir } from '@xsctl/common/testing/temp-dir';

/**
 * R5 (issue 10): every hop — agent gRPC, controller gRPC, controller HTTPS — against every way a
 * caller can be wrong. Methods come from the generated definitions, so a method added to a proto
 * is in the matrix without editing this file. Each refusal is checked to be a refusal (the
 * handshake failed, or the auth layer answered), and each hop has a positive control so the
 * matrix cannot pass against a server that refuses everything.
 */

const logger = createLogger('test', { level: 'silent' });
const dayMs = 86_400_000;

let dir: string;
let pkiDir: string;
const certs: Record<string, TlsMaterial> = {};
let foreign: Record<string, TlsMaterial>;
let agent: RunningAgentServer;
let controller: RunningControllerServer;
let http: RunningHttpServer;
let ctx: ControllerContext & { close(): void };
let agentMethods: GeneratedMethod[];
let controllerMethods: GeneratedMethod[];

async function issue(into: Record<string, TlsMaterial>, d: string, key: string, options: IssueOptions): Promise<void> {
  into[key] = await loadTlsMaterial(await issueCertificate(d, options));
}

/** A certificate our CA signed with `openssl x509 -req`, valid for client and server use, but with no xsctl kind in its SAN. */
async function noKindCertificate(): Promise<TlsMaterial> {
  const key = join(dir, 'nokind.key');
  const csr = join(dir, 'nokind.csr');
  const crt = join(dir, 'nokind.crt');
  const ext = join(dir, 'nokind.ext');
  await writeFile(ext, 'extendedKeyUsage=clientAuth,serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:nokind\n');
  await execa('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', csr, '-subj', '/CN=nokind/O=xsctl']);
  const layout = pkiLayout(pkiDir);
  await execa('openssl', ['x509', '-req', '-in', csr, '-CA', layout.caCert, '-CAkey', layout.caKey, '-CAcreateserial', '-days', '10', '-extfile', ext, '-out', crt]);
  return { ca: await readFile(layout.caCert), cert: await readFile(crt), key: await readFile(key) };
}

beforeAll(async () => {
  dir = await tempDir('xsctl-authmatrix-');
  pkiDir = join(dir, 'pki');
  await initCa(pkiDir);
  const now = Date.now();
  await issue(certs, pkiDir, 'controller', { kind: 'controller', name: 'ctl', ipAddresses: ['127.0.0.1'] });
  await issue(certs, pkiDir, 'agent', { kind: 'agent', name: 'xs-m', ipAddresses: ['127.0.0.1'] });
  await issue(certs, pkiDir, 'operator', { kind: 'cli', name: 'olga', role: 'operator' });
  await issue(certs, pkiDir, 'viewer', { kind: 'cli', name: 'vera', role: 'viewer' });
  await issue(certs, pkiDir, 'otherAgent', { kind: 'agent', name: 'xs-other', ipAddresses: ['127.0.0.1'] });
  // Expired yesterday; valid only from tomorrow: one per kind that calls somebody.
  for (const [kind, name] of [['controller', 'ctl'], ['cli', 'olga']] as const) {
    const role = kind === 'cli' ? { role: 'operator' as const } : {};
    await issue(certs, pkiDir, `${kind}Expired`, { kind, name: `${name}-expired`, ...role, ipAddresses: ['127.0.0.1'], notBefore: new Date(now - 3 * dayMs), days: 2 });
    await issue(certs, pkiDir, `${kind}Future`, { kind, name: `${name}-future`, ...role, ipAddresses: ['127.0.0.1'], notBefore: new Date(now + dayMs), days: 2 });
    await issue(certs, pkiDir, `${kind}Revoked`, { kind, name: `${name}-revoked`, ...role, ipAddresses: ['127.0.0.1'] });
  }
  await issue(certs, pkiDir, 'agentRevoked', { kind: 'agent', name: 'xs-revoked', ipAddresses: ['127.0.0.1'] });
  await revokeCertificate(pkiDir, { name: 'ctl-revoked' }, 'keyCompromise');
  await revokeCertificate(pkiDir, { name: 'olga-revoked' }, 'keyCompromise');
  await revokeCertificate(pkiDir, { name: 'xs-revoked' }, 'keyCompromise');
  certs['noKind'] = await noKindCertificate();

  const otherDir = join(dir, 'other-pki');
  await initCa(otherDir);
  foreign = {};
  await issue(foreign, otherDir, 'controller', { kind: 'controller', name: 'ctl', ipAddresses: ['127.0.0.1'] });
  await issue(foreign, otherDir, 'operator', { kind: 'cli', name: 'olga', role: 'operator' });

  const list = await parseRevocationList(await readFile(pkiLayout(pkiDir).crl, 'utf8'), certs['controller']!.ca);
  expect(list.serials.size).toBe(3);

  const root = join(dir, 'root');
  await mkdir(root);
  agent = await startAgentServer({
    ctx: { root: new SandboxRoot(root), runner: new CommandRunner({ logger }), logger, stateDir: '/var/lib/xsctl-agent' },
    tls: certs['agent']!,
    listen: '127.0.0.1:0',
    logger,
  });

  const configFile = join(dir, 'controller.yaml');
  await writeFile(join(dir, 'pw'), 'secret\n');
  await writeFile(
    configFile,
    `tls: {ca: ${pkiDir}/ca/ca.crt, cert: ${pkiDir}/ctl.crt, key: ${pkiDir}/ctl.key, crl: ${pkiDir}/ca/crl.pem}\njournal: ':memory:'\nwatch: {xapiEvents: false, agentProbeSeconds: 0}\npools:\n  - name: lab\n    xapi: {url: "https://127.0.0.1:1", user: root, passwordFile: pw}\n    agentPort: ${agent.port}\n`,
  );
  const config = await loadControllerConfig(configFile);
  const revocations = new RevocationStore(list);
  ctx = createControllerContext({ configFile, config, tls: certs['controller']!, journal: new Journal(':memory:'), logger, revocations });
  controller = await startControllerServer({ ctx, tls: certs['controller']!, listen: '127.0.0.1:0', logger });
  http = await startHttpServer({ ctx, listen: '127.0.0.1:0', logger, tls: certs['controller']! });

  agentMethods = (await generatedServices('agent')).flatMap((s) => s.methods);
  controllerMethods = (await generatedServices('controller')).flatMap((s) => s.methods);
}, 120_000);

afterAll(async () => {
  await http?.close();
  await controller?.shutdown(100);
  await agent?.shutdown(100);
  ctx?.close();
});

// ------------------------------------------------------------------ raw gRPC calls

interface Outcome {
  code: GrpcStatus;
  details: string;
}

/**
 * Calls `method` with an empty request over a raw grpc-js client, so no xsctl client middleware
 * (retries, deadlines, error mapping) hides what the server answered.
 */
function callRaw(client: Client, method: GeneratedMethod, metadata = new Metadata()): Promise<Outcome> {
  const body = Buffer.from(method.requestType.encode(method.requestType.fromPartial({})).finish());
  const deadline = Date.now() + 15_000;
  const ser = (b: Buffer): Buffer => b;
  const de = (b: Buffer): Buffer => b;
  return new Promise((resolve) => {
    const done = (err: ServiceError | null): void => resolve(err === null ? { code: GrpcStatus.OK, details: '' } : { code: err.code, details: err.details });
    if (!method.requestStream && !method.responseStream) {
      client.makeUnaryRequest(method.path, ser, de, body, metadata, { deadline }, (err) => done(err));
      return;
    }
    const call = method.requestStream
      ? client.makeBidiStreamRequest(method.path, ser, de, metadata, { deadline })
      : client.makeServerStreamRequest(method.path, ser, de, body, metadata, { deadline });
    if (method.requestStream) {
      (call as unknown as { write(b: Buffer): void; end(): void }).write(body);
      (call as unknown as { end(): void }).end();
    }
    let settled = false;
    call.on('data', () => {
      // A refused call never streams data: the first message means the call got through.
      if (!settled) {
        settled = true;
        call.cancel();
        resolve({ code: GrpcStatus.OK, details: 'streamed data' });
      }
    });
    call.on('error', (err: ServiceError) => {
      if (!settled) {
        settled = true;
        done(err);
      }
    });
    call.on('status', (s: { code: GrpcStatus; details: string }) => {
      if (!settled) {
        settled = true;
        resolve({ code: s.code, details: s.details });
      }
    });
  });
}

function rawClient(port: number, creds: ChannelCredentials, serverName: string): Client {
  return new Client(`127.0.0.1:${port}`, creds, { 'grpc.ssl_target_name_override': serverName, 'grpc.default_authority': serverName });
}

/** Client credentials that trust our CA (the server is genuine) and present `who`. */
const presenting = (who: TlsMaterial | null): ChannelCredentials =>
  who === null ? grpcCredentials.createSsl(certs['controller']!.ca) : grpcCredentials.createSsl(certs['controller']!.ca, who.key, who.cert);

async function everyMethod(port: number, serverName: string, methods: GeneratedMethod[], who: TlsMaterial | null, metadata?: () => Metadata): Promise<Map<string, Outcome>> {
  const client = rawClient(port, presenting(who), serverName);
  try {
    const out = new Map<string, Outcome>();
    for (const m of methods) out.set(m.path, await callRaw(client, m, metadata?.()));
    return out;
  } finally {
    client.close();
  }
}

/** What a raw TLS handshake with `who` as client certificate ends in: 'ok' or the error code (before any gRPC). */
function handshake(port: number, who: TlsMaterial | null, extra: ConnectionOptions = {}): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, ca: certs['controller']!.ca, ...(who === null ? {} : { cert: who.cert, key: who.key }), ALPNProtocols: ['h2'], rejectUnauthorized: false, ...extra });
    socket.once('secureConnect', () => {
      // TLS 1.3: the server judges the client certificate after the client's Finished; a refusal
      // arrives as an alert on the first read.
      socket.once('data', () => resolve('ok'));
      setTimeout(() => {
        resolve(socket.destroyed ? 'closed' : 'ok');
        socket.destroy();
      }, 1_000);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    socket.once('close', () => resolve('closed'));
  });
}

const refusedAtHandshake = (o: Outcome): boolean => o.code === GrpcStatus.UNAVAILABLE;

function expectEvery(outcomes: Map<string, Outcome>, ok: (o: Outcome) => boolean, label: string): void {
  const bad = [...outcomes].filter(([, o]) => !ok(o)).map(([p, o]) => `${p}: ${GrpcStatus[o.code]} ${o.details}`);
  expect(bad, label).toEqual([]);
  expect(outcomes.size, label).toBeGreaterThan(0);
}

const spoofed = (kind: string, role: string, name = 'olga', serial?: string) => () => {
  const m = new Metadata();
  m.set('x-xsctl-peer-name', name);
  m.set('x-xsctl-peer-kind', kind);
  m.set('x-xsctl-peer-role', role);
  if (serial !== undefined) m.set('x-xsctl-peer-serial', serial);
  return m;
};

const serialOf = (t: TlsMaterial): string => new X509Certificate(t.cert).serialNumber;

// ------------------------------------------------------------------ agent gRPC

describe('agent gRPC: only an unrevoked controller certificate from our CA', () => {
  it('positive control: the controller reads, and hands the agent the revocation list before its first call', async () => {
    const conn = new AgentConnection({ address: `127.0.0.1:${agent.port}`, serverName: 'xs-m' }, certs['controller']!, { revocations: ctx.revocations! });
    try {
      const { facts } = await conn.client(HostServiceDefinition).getFacts({}, { signal: AbortSignal.timeout(15_000) });
      expect(facts?.agentVersion).toMatch(/^\d+\.\d+\.\d+/);
    } finally {
      conn.close();
    }
    expect(agent.trust.store.current?.number).toBe(ctx.revocations!.current!.number);
    // The agent kept it: a restarted agent still refuses the revoked controller.
    expect(await readFile(agent.trust.file, 'utf8')).toContain('-----BEGIN X509 CRL-----');
  });

  it.each([
    ['no certificate', null],
    ['another CA', 'foreign.controller'],
    ['expired', 'controllerExpired'],
    ['not yet valid', 'controllerFuture'],
    ['an agent certificate used as a client', 'otherAgent'],
  ])('%s: the handshake fails, every method UNAVAILABLE', async (_label, key) => {
    const who = key === null ? null : key.startsWith('foreign.') ? foreign[key.slice(8)]! : certs[key]!;
    expect(await handshake(agent.port, who)).not.toBe('ok');
    expectEvery(await everyMethod(agent.port, 'xs-m', agentMethods, who), refusedAtHandshake, key ?? 'none');
  });

  it.each([
    ['revoked (the list the controller handed over)', 'controllerRevoked', GrpcStatus.UNAUTHENTICATED],
    ['no xsctl kind', 'noKind', GrpcStatus.UNAUTHENTICATED],
    ['a CLI certificate sent to an agent', 'operator', GrpcStatus.PERMISSION_DENIED],
  ])('%s: refused by the auth layer on every method', async (_label, key, code) => {
    expect(agent.trust.store.current).not.toBeNull();
    expectEvery(await everyMethod(agent.port, 'xs-m', agentMethods, certs[key]!), (o) => o.code === code, key);
  });

  it('spoofed identity headers: a certificate without a kind claiming to be the controller, a revoked controller claiming a good serial', async () => {
    expectEvery(await everyMethod(agent.port, 'xs-m', agentMethods, certs['noKind']!, spoofed('controller', '', 'ctl')), (o) => o.code === GrpcStatus.UNAUTHENTICATED, 'noKind+headers');
    const goodSerial = serialOf(certs['controller']!);
    expectEvery(await everyMethod(agent.port, 'xs-m', agentMethods, certs['controllerRevoked']!, spoofed('controller', '', 'ctl', goodSerial)), (o) => o.code === GrpcStatus.UNAUTHENTICATED, 'revoked+serial');
    expectEvery(await everyMethod(agent.port, 'xs-m', agentMethods, certs['operator']!, spoofed('controller', '', 'ctl')), (o) => o.code === GrpcStatus.PERMISSION_DENIED, 'cli+headers');
  });

  it('the controller refuses a revoked agent, and a controller certificate posing as an agent, at the handshake', async () => {
    const revokedAgent = await startAgentServer({
      ctx: { root: new SandboxRoot(await tempDir('xsctl-authmatrix-root-')), runner: new CommandRunner({ logger }), logger, stateDir: '/var/lib/xsctl-agent' },
      tls: certs['agentRevoked']!,
      listen: '127.0.0.1:0',
      logger,
    });
    try {
      const conn = new AgentConnection({ address: `127.0.0.1:${revokedAgent.port}`, serverName: 'xs-revoked' }, certs['controller']!, { revocations: ctx.revocations! });
      const err = await conn.client(HostServiceDefinition).getFacts({}, { signal: AbortSignal.timeout(15_000) }).catch((e: unknown) => e);
      conn.close();
      expect(String((err as Error).message)).toMatch(/UNAVAILABLE|revoked/);
      // Without the list, the same agent would answer: the refusal is the revocation check.
      const control = new AgentConnection({ address: `127.0.0.1:${revokedAgent.port}`, serverName: 'xs-revoked' }, certs['controller']!);
      expect((await control.client(HostServiceDefinition).getFacts({}, { signal: AbortSignal.timeout(15_000) })).facts?.agentVersion).toMatch(/\d/);
      control.close();
    } finally {
      await revokedAgent.shutdown(100);
    }
    // The controller's gRPC server holds a controller certificate: as an "agent" it is refused.
    const impostor = new AgentConnection({ address: `127.0.0.1:${controller.port}`, serverName: 'ctl' }, certs['controller']!, { revocations: ctx.revocations! });
    const err = await impostor.client(HostServiceDefinition).getFacts({}, { signal: AbortSignal.timeout(15_000) }).catch((e: unknown) => e);
    impostor.close();
    expect(String((err as Error).message)).toMatch(/UNAVAILABLE|not an xsctl agent/);
  });
});

// ------------------------------------------------------------------ controller gRPC

describe('controller gRPC: only unrevoked CLI certificates from our CA; writes need the operator role', () => {
  it('positive control: an operator and a viewer read', async () => {
    const whoAmI = controllerMethods.find((m) => m.path.endsWith('/WhoAmI'))!;
    for (const key of ['operator', 'viewer']) {
      const client = rawClient(controller.port, presenting(certs[key]!), 'ctl');
      expect((await callRaw(client, whoAmI)).code, key).toBe(GrpcStatus.OK);
      client.close();
    }
  });

  it.each([
    ['no certificate', null],
    ['another CA', 'foreign.operator'],
    ['expired', 'cliExpired'],
    ['not yet valid', 'cliFuture'],
    ['an agent certificate used as a client', 'otherAgent'],
  ])('%s: the handshake fails, every method UNAVAILABLE', async (_label, key) => {
    const who = key === null ? null : key.startsWith('foreign.') ? foreign[key.slice(8)]! : certs[key]!;
    expect(await handshake(controller.port, who)).not.toBe('ok');
    expectEvery(await everyMethod(controller.port, 'ctl', controllerMethods, who), refusedAtHandshake, key ?? 'none');
  });

  it.each([
    ['revoked', 'cliRevoked', GrpcStatus.UNAUTHENTICATED],
    ['no xsctl kind', 'noKind', GrpcStatus.UNAUTHENTICATED],
    ['a controller certificate as a client', 'controller', GrpcStatus.PERMISSION_DENIED],
  ])('%s: refused by the auth layer on every method', async (_label, key, code) => {
    expectEvery(await everyMethod(controller.port, 'ctl', controllerMethods, certs[key]!), (o) => o.code === code, key);
  });

  it('a viewer attempting each write is refused with PERMISSION_DENIED, with or without spoofed operator headers', async () => {
    const access = methodAccess(serviceRegistrations(anything as ControllerContext));
    const writes = controllerMethods.filter((m) => access.get(m.path) === 'write');
    expect(writes.length).toBeGreaterThanOrEqual(16);
    expectEvery(await everyMethod(controller.port, 'ctl', writes, certs['viewer']!), (o) => o.code === GrpcStatus.PERMISSION_DENIED, 'viewer');
    expectEvery(await everyMethod(controller.port, 'ctl', writes, certs['viewer']!, spoofed('cli', 'operator', 'olga')), (o) => o.code === GrpcStatus.PERMISSION_DENIED, 'viewer+headers');
    // Every method the tables call read is not refused to a viewer for its role (a control on the filter above).
    expect(controllerMethods.filter((m) => access.get(m.path) === undefined)).toEqual([]);
  });

  it('spoofed identity headers on a certificate without a kind, and a revoked certificate claiming a good serial', async () => {
    expectEvery(await everyMethod(controller.port, 'ctl', controllerMethods, certs['noKind']!, spoofed('cli', 'operator')), (o) => o.code === GrpcStatus.UNAUTHENTICATED, 'noKind+headers');
    expectEvery(await everyMethod(controller.port, 'ctl', controllerMethods, certs['cliRevoked']!, spoofed('cli', 'operator', 'olga', serialOf(certs['operator']!))), (o) => o.code === GrpcStatus.UNAUTHENTICATED, 'revoked+serial');
  });

  it('the CLI refuses an agent posing as the controller (same CA, wrong kind)', async () => {
    const creds = mtlsChannelCredentials(certs['operator']!, { kind: 'controller' });
    const client = new Client(`127.0.0.1:${agent.port}`, creds, { 'grpc.ssl_target_name_override': 'xs-m' });
    const o = await callRaw(client, controllerMethods.find((m) => m.path.endsWith('/WhoAmI'))!);
    client.close();
    expect(o.code).toBe(GrpcStatus.UNAVAILABLE);
  });
});

// ------------------------------------------------------------------ HTTPS

function httpsCall(path: string, who: TlsMaterial | null, method = 'GET', headers: Record<string, string> = {}): Promise<number> {
  const port = Number(new URL(http.address).port);
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers, ca: certs['controller']!.ca, servername: 'ctl', ...(who === null ? {} : { cert: who.cert, key: who.key }), agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

const httpPaths = ['/', '/api/pools', '/api/hosts', '/api/views', '/api/workflows', '/api/workflows/x', '/healthz', '/metrics'];

describe('controller HTTPS: a CLI certificate from our CA (or a login session), never anything else', () => {
  it('positive control: a viewer certificate reads every path', async () => {
    for (const p of httpPaths.filter((x) => x !== '/api/workflows/x' && x !== '/api/hosts')) expect(await httpsCall(p, certs['viewer']!), p).toBe(200);
  });

  it.each([
    ['no certificate', null],
    ['another CA', 'foreign.operator'],
    ['expired', 'cliExpired'],
    ['not yet valid', 'cliFuture'],
    ['revoked', 'cliRevoked'],
    ['no xsctl kind', 'noKind'],
    ['an agent certificate used as a client', 'agent'],
    ['a controller certificate used as a client', 'controller'],
  ])('%s: 401 on every path', async (_label, key) => {
    const who = key === null ? null : key.startsWith('foreign.') ? foreign[key.slice(8)]! : certs[key]!;
    for (const p of httpPaths) expect(await httpsCall(p, who), `${key} ${p}`).toBe(401);
  });

  it('spoofed identity headers change nothing', async () => {
    const headers = { 'x-xsctl-peer-name': 'olga', 'x-xsctl-peer-kind': 'cli', 'x-xsctl-peer-role': 'operator', 'x-client-cert': certs['operator']!.cert.toString().replace(/\n/g, '') };
    for (const p of httpPaths) expect(await httpsCall(p, certs['noKind']!, 'GET', headers), p).toBe(401);
  });

  it('a viewer (or an operator) attempting a write: the API has no write route', async () => {
    for (const who of ['viewer', 'operator']) {
      for (const p of httpPaths) for (const m of ['POST', 'PUT', 'PATCH', 'DELETE']) expect(await httpsCall(p, certs[who]!, m), `${who} ${m} ${p}`).toBe(404);
    }
  });
});

// ------------------------------------------------------------------ TLS versions

describe('TLS 1.0 and 1.1 are refused on every hop', () => {
  const old = { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' } as const;

  it.each([
    ['agent gRPC', () => agent.port, 'controller', 'h2'],
    ['controller gRPC', () => controller.port, 'operator', 'h2'],
    ['controller HTTPS', () => Number(new URL(http.address).port), 'operator', 'http/1.1'],
  ])('%s: the server answers a TLS 1.0/1.1 hello with alert 70 (protocol version); TLS 1.2 works', async (_label, port, who, alpn) => {
    // The alert comes from the server: the client did offer the old versions.
    for (const v of ['TLSv1', 'TLSv1.1'] as const) expect(await handshake(port(), certs[who]!, { ...old, minVersion: v, maxVersion: v, ALPNProtocols: [alpn] }), v).toBe('ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION');
    expect(await handshake(port(), certs[who]!, { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ALPNProtocols: [alpn] })).not.toMatch(/^ERR_/);
  });
});
