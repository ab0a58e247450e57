import { ChannelCredentials, ServerCredentials } from '@grpc/grpc-js';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { identityFromCertificate, type PeerKind } from '../pki/identity.js';
import type { TlsMaterial } from '../tls-trust/tls-files.js';

/** Server side of every hop: a client certificate from our CA is required. */
export function mtlsServerCredentials(m: TlsMaterial): ServerCredentials {
  return ServerCredentials.createSsl(m.ca, [{ cert_chain: m.cert, private_key: m.key }], true);
}

/** What a client learned of the server's certificate during the handshake. */
export interface ServerPeer {
  name: string;
  kind: PeerKind;
  serial: string;
  notAfter: Date;
}

export interface ServerCheck {
  /** The server must hold a certificate of this kind (an agent, or the controller). */
  kind: PeerKind;
  /** The live revocation list: a revoked server certificate fails the handshake. */
  revoked?: (serial: string) => boolean;
  /** Called after each accepted handshake (expiry warnings). */
  onPeer?: (peer: ServerPeer) => void;
  /**
   * The name the certificate must carry when it is not the host grpc-js checks (`tlsTarget`'s
   * verifyName: an IP address, which never goes out as SNI).
   */
  verifyName?: string;
}

/**
 * Checks the server's certificate beyond the chain: the usual host name check, then its xsctl
 * kind (a controller certificate must not pass for an agent) and the revocation list.
 */
export function serverCheck(check: ServerCheck) {
  return (sniHost: string, cert: PeerCertificate): Error | undefined => {
    const host = check.verifyName ?? sniHost;
    const hostError = checkServerIdentity(host, cert);
    if (hostError !== undefined) return hostError;
    const identity = identityFromCertificate(typeof cert.subject?.CN === 'string' ? cert.subject.CN : undefined, cert.subjectaltname);
    if (identity?.kind !== check.kind) return new Error(`the server certificate of ${host} is not an xsctl ${check.kind} certificate`);
    if (check.revoked?.(cert.serialNumber) === true) return new Error(`the server certificate of ${host} is revoked (serial ${cert.serialNumber})`);
    check.onPeer?.({ name: identity.name, kind: identity.kind, serial: cert.serialNumber, notAfter: new Date(cert.valid_to) });
    return undefined;
  };
}

export function mtlsChannelCredentials(m: TlsMaterial, check?: ServerCheck): ChannelCredentials {
  return ChannelCredentials.createSsl(m.ca, m.key, m.cert, check === undefined ? undefined : { checkServerIdentity: serverCheck(check) });
}
