import { checkServerIdentity, connect } from 'node:tls';
import { targetHost, tlsHandshakeNames } from '@xsctl/common/grpc/index';
import type { TlsMaterial } from '@xsctl/common/pki/index';

/**
 * The notAfter of the certificate a peer presents, read from one TLS handshake made with the
 * controller's own credentials (the agent accepts nothing else). gRPC does not expose the peer
 * certificate to a client, so this asks the server directly.
 */
export function probeCertificate(address: string, serverName: string, tls: TlsMaterial, timeoutMs = 5000): Promise<Date> {
  const host = targetHost(address);
  // The handshake the agent's gRPC channel makes (tlsTarget decides for both): an IP address as
  // serverName is checked, and never goes out as SNI (RFC 6066, DEP0123).
  const names = tlsHandshakeNames(address, serverName);
  if (host === undefined || names === undefined) return Promise.reject(new Error(`${address} is not host:port`));
  const port = Number(address.slice(address.lastIndexOf(':') + 1));
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, servername: names.servername, checkServerIdentity: (_sni, cert) => checkServerIdentity(names.verifyName, cert), ca: tls.ca, cert: tls.cert, key: tls.key, ALPNProtocols: ['h2'], timeout: timeoutMs });
    const done = (err: Error | undefined, at?: Date): void => {
      socket.destroy();
      if (err !== undefined) reject(err);
      else resolve(at as Date);
    };
    socket.once('secureConnect', () => {
      const cert = socket.getPeerCertificate();
      const notAfter = new Date(cert.valid_to);
      done(Number.isNaN(notAfter.getTime()) ? new Error('the peer sent no certificate') : undefined, notAfter);
    });
    socket.once('timeout', () => done(new Error(`no TLS handshake within ${timeoutMs} ms`)));
    socket.once('error', (err) => done(err));
  });
}
