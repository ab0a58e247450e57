import { isIP } from 'node:net';
import { checkServerIdentity, connect, type PeerCertificate } from 'node:tls';
import type { TlsMaterial } from '@xsctl/common/pki/index';

/**
 * The notAfter of the certificate a peer presents, read from one TLS handshake made with the
 * controller's own credentials (the agent accepts nothing else). gRPC does not expose the peer
 * certificate to a client, so this asks the server directly.
 */
export function probeCertificate(address: string, serverName: string, tls: TlsMaterial, timeoutMs = 5000): Promise<Date> {
  const idx = address.lastIndexOf(':');
  const host = address.slice(0, idx).replace(/^\[|\]$/g, '');
  const port = Number(address.slice(idx + 1));
  return new Promise((resolve, reject) => {
    // Node checks the certificate against servername, else against host: an IP address as
    // serverName is checked without going out as SNI (RFC 6066, DEP0123).
    const sni = isIP(serverName) === 0 ? { servername: serverName } : { checkServerIdentity: (_host: string, cert: PeerCertificate) => checkServerIdentity(serverName, cert) };
    const socket = connect({ host, port, ...sni, ca: tls.ca, cert: tls.cert, key: tls.key, ALPNProtocols: ['h2'], timeout: timeoutMs });
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
