import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, createServer, Status, type Server } from 'nice-grpc';
import { makeTestPki, type TestPki } from '../testing/make-test-pki.js';
import type { TlsMaterial } from '../tls-trust/tls-files.js';
import { mtlsChannel, type ChannelCheck } from './mtls-channel.js';
import { mtlsServerCredentials } from './mtls-credentials.js';

const serialize = (v: object): Buffer => Buffer.from(JSON.stringify(v));
const deserialize = (b: Buffer): { ok?: boolean } => JSON.parse(b.toString() || '{}') as { ok?: boolean };
const PingDefinition = {
  ping: { path: '/test.Ping/Ping', requestStream: false, responseStream: false, requestSerialize: serialize, requestDeserialize: deserialize, responseSerialize: serialize, responseDeserialize: deserialize, options: {} },
} as const;

// Real handshakes against servers holding real certificates: what the channel accepts and refuses.
let pki: TestPki;
let client: TlsMaterial;
const servers: Server[] = [];
/** Node's process warnings while the file runs (DEP0123: an IP address went out as SNI). */
const warnings: string[] = [];
const onWarning = (w: Error & { code?: string }): void => void warnings.push(w.code ?? w.name);

async function serve(tls: TlsMaterial): Promise<string> {
  const server = createServer();
  server.add(PingDefinition, { ping: async () => ({ ok: true }) });
  servers.push(server);
  return `127.0.0.1:${await server.listen('127.0.0.1:0', mtlsServerCredentials(tls))}`;
}

/** 'OK', or the status the call failed with. */
async function ping(address: string, check: ChannelCheck): Promise<string> {
  const channel = mtlsChannel(address, client, check);
  try {
    await createClient(PingDefinition, channel).ping({}, { signal: AbortSignal.timeout(5_000) });
    return 'OK';
  } catch (err) {
    return Status[(err as { code: Status }).code] ?? String(err);
  } finally {
    channel.close();
  }
}

beforeAll(async () => {
  process.on('warning', onWarning);
  pki = await makeTestPki();
  client = await pki.issue({ kind: 'controller', name: 'ctl' });
});

afterAll(async () => {
  process.off('warning', onWarning);
  await Promise.all(servers.map((s) => s.forceShutdown()));
});

describe('mtlsChannel: the server certificate is checked against the IP address, which never goes out as SNI', () => {
  it('dials an agent whose certificate names the address, with no DEP0123 warning', async () => {
    const address = await serve(await pki.issue({ kind: 'agent', name: 'xs-ip', ipAddresses: ['127.0.0.1'] }));
    expect(await ping(address, { kind: 'agent' })).toBe('OK');
    // Node emits the warning on the next tick of the handshake.
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings.filter((w) => w === 'DEP0123')).toEqual([]);
  });

  it('refuses a certificate for another IP address', async () => {
    const address = await serve(await pki.issue({ kind: 'agent', name: 'xs-other', ipAddresses: ['127.0.0.2'] }));
    expect(await ping(address, { kind: 'agent' })).toBe('UNAVAILABLE');
  });

  it('refuses a certificate of another kind naming the address', async () => {
    const address = await serve(await pki.issue({ kind: 'controller', name: 'ctl-ip', ipAddresses: ['127.0.0.1'] }));
    expect(await ping(address, { kind: 'agent' })).toBe('UNAVAILABLE');
  });

  it('checks a DNS server name instead of the address when given one', async () => {
    const address = await serve(await pki.issue({ kind: 'agent', name: 'xs-dns' }));
    expect(await ping(address, { kind: 'agent', serverName: 'xs-dns' })).toBe('OK');
    expect(await ping(address, { kind: 'agent', serverName: 'xs-elsewhere' })).toBe('UNAVAILABLE');
    // The address's IP is not in this certificate.
    expect(await ping(address, { kind: 'agent' })).toBe('UNAVAILABLE');
  });

  it('checks an IP address given as the server name', async () => {
    const address = await serve(await pki.issue({ kind: 'agent', name: 'xs-ip2', ipAddresses: ['10.9.8.7'] }));
    expect(await ping(address, { kind: 'agent', serverName: '10.9.8.7' })).toBe('OK');
    expect(await ping(address, { kind: 'agent', serverName: '10.9.8.6' })).toBe('UNAVAILABLE');
  });
});
