import { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ServerInterceptingCall, type ServerInterceptor } from '@grpc/grpc-js';
import { ClientError, createClient, createServer, Metadata, Status, type CallContext, type Server } from 'nice-grpc';
import { makeTestPki, type TestPki } from '../testing/make-test-pki.js';
import type { TlsMaterial } from '../tls-trust/tls-files.js';
import { authMiddleware } from './auth-middleware.js';
import { mtlsChannel } from './mtls-channel.js';
import { mtlsServerCredentials } from './mtls-credentials.js';
import { peerIdentity } from './peer-identity.js';
import { peerIdentityInterceptor, peerSerialKey } from './peer-identity-interceptor.js';

interface Who {
  name: string;
  kind: string;
  role: string;
  serial: string;
}
const serialize = (v: object): Buffer => Buffer.from(JSON.stringify(v));
const deserialize = (b: Buffer): Who => JSON.parse(b.toString() || '{}') as Who;
const WhoDefinition = {
  whoAmI: { path: '/test.Who/WhoAmI', requestStream: false, responseStream: false, requestSerialize: serialize, requestDeserialize: deserialize, responseSerialize: serialize, responseDeserialize: deserialize, options: {} },
} as const;

let pki: TestPki;
let server: Server;
let port: number;
const certs: Record<string, TlsMaterial> = {};

beforeAll(async () => {
  pki = await makeTestPki();
  const agent = await pki.issue({ kind: 'agent', name: 'xs-who', ipAddresses: ['127.0.0.1'] });
  certs['ctl'] = await pki.issue({ kind: 'controller', name: 'ctl' });
  certs['olga'] = await pki.issue({ kind: 'cli', name: 'olga', role: 'operator' });
  server = createServer({ interceptors: [peerIdentityInterceptor] });
  server.add(WhoDefinition, {
    async whoAmI(_req: Who, context: CallContext) {
      const peer = peerIdentity(context);
      return { name: peer?.name ?? '', kind: peer?.kind ?? '', role: peer?.role ?? '', serial: peer?.serial ?? '' };
    },
  });
  port = await server.listen('127.0.0.1:0', mtlsServerCredentials(agent));
});

afterAll(async () => {
  await server.forceShutdown();
});

const serialOf = async (name: string): Promise<string> => {
  const { X509Certificate } = await import('node:crypto');
  const { readFile } = await import('node:fs/promises');
  return new X509Certificate(await readFile(`${pki.dir}/${name}.crt`)).serialNumber;
};

describe('peer identity interceptor', () => {
  it('reads each connection\'s certificate once, and still gives every call the identity of its own connection', async () => {
    const reads = vi.spyOn(TLSSocket.prototype, 'getPeerCertificate');
    try {
      const ctl = mtlsChannel(`127.0.0.1:${port}`, certs['ctl']!, { kind: 'agent' });
      const olga = mtlsChannel(`127.0.0.1:${port}`, certs['olga']!, { kind: 'agent' });
      const asCtl = createClient(WhoDefinition, ctl);
      const asOlga = createClient(WhoDefinition, olga);
      const seen: Who[] = [];
      for (let i = 0; i < 5; i++) {
        // A controller certificate carries no role: one the client claims is dropped, not passed on.
        seen.push(await asCtl.whoAmI({} as Who, { metadata: Metadata({ 'x-xsctl-peer-role': 'operator' }) }));
        // A client copying another's identity into its metadata changes nothing.
        seen.push(await asOlga.whoAmI({} as Who, { metadata: Metadata({ 'x-xsctl-peer-name': 'ctl', 'x-xsctl-peer-kind': 'controller', [peerSerialKey]: '01' }) }));
      }
      ctl.close();
      olga.close();
      const ctlSerial = await serialOf('ctl');
      const olgaSerial = await serialOf('olga');
      expect(seen.filter((_, i) => i % 2 === 0)).toEqual(Array(5).fill({ name: 'ctl', kind: 'controller', role: '', serial: ctlSerial }));
      expect(seen.filter((_, i) => i % 2 === 1)).toEqual(Array(5).fill({ name: 'olga', kind: 'cli', role: 'operator', serial: olgaSerial }));
      // Server side: one read per connection (the client sockets read the server's certificate
      // through checkServerIdentity's own path, not this method, when no check is given).
      const serverReads = reads.mock.contexts.filter((socket) => (socket as TLSSocket & { server?: unknown }).server !== undefined);
      expect(serverReads).toHaveLength(2);
    } finally {
      reads.mockRestore();
    }
  });

  it('behind another interceptor (no parsed metadata to write into) wraps the call, with the same identity and the client\'s copies dropped', async () => {
    // grpc-js hands only the first interceptor its base call; a later one gets a wrapper.
    const first: ServerInterceptor = (_method, call) => new ServerInterceptingCall(call);
    const behind = createServer({ interceptors: [first, peerIdentityInterceptor] });
    behind.add(WhoDefinition, {
      async whoAmI(_req: Who, context: CallContext) {
        const peer = peerIdentity(context);
        return { name: peer?.name ?? '', kind: peer?.kind ?? '', role: peer?.role ?? '', serial: peer?.serial ?? '' };
      },
    });
    const agent = await pki.issue({ kind: 'agent', name: 'xs-behind', ipAddresses: ['127.0.0.1'] });
    const behindPort = await behind.listen('127.0.0.1:0', mtlsServerCredentials(agent));
    const olga = mtlsChannel(`127.0.0.1:${behindPort}`, certs['olga']!, { kind: 'agent' });
    const ctl = mtlsChannel(`127.0.0.1:${behindPort}`, certs['ctl']!, { kind: 'agent' });
    try {
      const who = await createClient(WhoDefinition, olga).whoAmI({} as Who, { metadata: Metadata({ 'x-xsctl-peer-name': 'ctl', 'x-xsctl-peer-kind': 'controller', 'x-xsctl-peer-role': 'viewer', [peerSerialKey]: '01' }) });
      expect(who).toEqual({ name: 'olga', kind: 'cli', role: 'operator', serial: await serialOf('olga') });
      const ctlWho = await createClient(WhoDefinition, ctl).whoAmI({} as Who, { metadata: Metadata({ 'x-xsctl-peer-role': 'operator' }) });
      expect(ctlWho).toEqual({ name: 'ctl', kind: 'controller', role: '', serial: await serialOf('ctl') });
    } finally {
      olga.close();
      ctl.close();
      await behind.forceShutdown();
    }
  });

  it('refuses the next call of a connection whose identity is cached once its serial is revoked', async () => {
    const revoked = new Set<string>();
    const guarded = createServer({ interceptors: [peerIdentityInterceptor] }).use(authMiddleware({ kinds: ['controller'], methods: new Map([['/test.Who/WhoAmI', 'read']]), revoked: (serial) => revoked.has(serial.toUpperCase()) }));
    guarded.add(WhoDefinition, { whoAmI: async () => ({ name: 'ok', kind: '', role: '', serial: '' }) });
    const agent = await pki.issue({ kind: 'agent', name: 'xs-guard', ipAddresses: ['127.0.0.1'] });
    const guardedPort = await guarded.listen('127.0.0.1:0', mtlsServerCredentials(agent));
    const reads = vi.spyOn(TLSSocket.prototype, 'getPeerCertificate');
    const channel = mtlsChannel(`127.0.0.1:${guardedPort}`, certs['ctl']!, { kind: 'agent' });
    try {
      const client = createClient(WhoDefinition, channel);
      expect((await client.whoAmI({} as Who)).name).toBe('ok');
      // The serial as openssl would list it (X509Certificate's upper-case hex), revoked mid-connection.
      revoked.add((await serialOf('ctl')).toUpperCase());
      const err = await client.whoAmI({} as Who).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ClientError);
      expect((err as ClientError).code).toBe(Status.UNAUTHENTICATED);
      expect((err as ClientError).details).toMatch(/revoked/);
      // Same connection: the refusal came from the cached serial, not from a second read.
      expect(reads.mock.contexts.filter((socket) => (socket as TLSSocket & { server?: unknown }).server !== undefined)).toHaveLength(1);
    } finally {
      reads.mockRestore();
      channel.close();
      await guarded.forceShutdown();
    }
  });
});
