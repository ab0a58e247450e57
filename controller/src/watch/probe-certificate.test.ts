import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestPki } from '@xsctl/common/testing/make-test-pki';
import type { TlsMaterial } from '@xsctl/common/pki/index';
import { probeCertificate } from './probe-certificate.js';

/*
 * The controller's expiry probe of an agent (one TLS handshake) against a TLS server on 127.0.0.1
 * presenting an agent certificate for IP 127.0.0.1 and DNS name xs-probe. An IP address as the
 * agent's name is checked but never sent as SNI (RFC 6066; Node's DEP0123 warning).
 */

let server: Server;
let address = '';
let controller: TlsMaterial;
let agentCert: Buffer | undefined;
const warnings: Error[] = [];
const onWarning = (w: Error): void => void warnings.push(w);
/** The SNI of each handshake the server saw. */
const sniSeen: string[] = [];

beforeAll(async () => {
  const pki = await makeTestPki();
  const agent = await pki.issue({ kind: 'agent', name: 'xs-probe', ipAddresses: ['127.0.0.1'] });
  controller = await pki.issue({ kind: 'controller', name: 'probe-ctl' });
  agentCert = agent.cert;
  server = createServer({ ca: agent.ca, cert: agent.cert, key: agent.key, requestCert: true, rejectUnauthorized: true, ALPNProtocols: ['h2'],
    // Called during the handshake, before the probe hangs up; only when SNI was sent.
    SNICallback: (name, cb) => {
      sniSeen.push(name);
      cb(null, undefined);
    },
  }, (s) => s.end());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  process.on('warning', onWarning);
});

afterAll(async () => {
  process.off('warning', onWarning);
  server?.close();
});

describe('probeCertificate', () => {
  it("reads the agent's notAfter through an IP address as its name, with no DEP0123 warning", async () => {
    const notAfter = await probeCertificate(address, '127.0.0.1', controller);
    expect(notAfter.toISOString()).toBe(new Date(new X509Certificate(agentCert!).validTo).toISOString());
    // Node emits warnings on the next tick.
    await new Promise((r) => setImmediate(r));
    expect(warnings.map((w) => `${String((w as NodeJS.ErrnoException).code)} ${w.message}`).filter((w) => /DEP0123|ServerName to an IP/.test(w))).toEqual([]);
  });

  it('sends what the agent\'s gRPC channel sends as SNI (tlsTarget): the .invalid name for an IP address, else the name', async () => {
    sniSeen.length = 0;
    await probeCertificate(address, '127.0.0.1', controller);
    await probeCertificate(address, 'xs-probe', controller);
    expect(sniSeen).toEqual(['ip-address.invalid', 'xs-probe']);
  });

  it('refuses an address that is not host:port', async () => {
    await expect(probeCertificate('unix:/run/agent.sock', '127.0.0.1', controller)).rejects.toThrow(/not host:port/);
  });

  it('still refuses a certificate that does not carry the IP address it was given', async () => {
    await expect(probeCertificate(address, '127.0.0.2', controller)).rejects.toThrow(/127\.0\.0\.2/);
  });

  it('checks a DNS name as before (SNI and name)', async () => {
    await expect(probeCertificate(address, 'xs-probe', controller)).resolves.toBeInstanceOf(Date);
    await expect(probeCertificate(address, 'xs-other', controller)).rejects.toThrow(/xs-other/);
  });
});
