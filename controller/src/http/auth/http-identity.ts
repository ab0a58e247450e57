import type { TLSSocket } from 'node:tls';
import type { FastifyRequest } from 'fastify';
import { identityFromCertificate, type PeerIdentity, type Role } from '@xsctl/common/pki/index';
import type { DashboardSessions } from './dashboard-sessions.js';

export const sessionCookie = 'xsctl_session';

export interface HttpIdentity {
  name: string;
  role: Role;
  via: 'certificate' | 'session';
}

/** `a=b; c=d` -> value of `name`. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * The xsctl identity of the client certificate TLS verified (kind and role from its SAN URIs), or
 * null: no certificate, one the CA did not sign, one without an xsctl kind, or a revoked one.
 */
export function certificateIdentity(req: FastifyRequest, revoked: (serial: string) => boolean): PeerIdentity | null {
  const socket = req.raw.socket as TLSSocket;
  if (socket.authorized !== true) return null;
  const cert = socket.getPeerCertificate();
  const cn = cert.subject?.CN;
  const id = identityFromCertificate(Array.isArray(cn) ? cn[0] : cn, cert.subjectaltname);
  if (id === null || revoked(cert.serialNumber)) return null;
  return id;
}

/**
 * Who is asking: a CLI certificate from the project CA (verified by TLS, kind and role from its
 * SAN URIs), else a session cookie opened by a one-time login link. Anything else is nobody. A
 * session lives no longer than the certificate that asked for its link: revoking that ends it.
 */
export function httpIdentity(req: FastifyRequest, sessions: DashboardSessions, revoked: (serial: string) => boolean = () => false): HttpIdentity | undefined {
  const id = certificateIdentity(req, revoked);
  if (id !== null && id.kind === 'cli') return { name: id.name, role: id.role ?? 'viewer', via: 'certificate' };
  const sessionId = cookieValue(req.headers.cookie, sessionCookie);
  const s = sessions.session(sessionId);
  if (s === undefined || sessionId === undefined) return undefined;
  if (revoked(s.serial)) {
    sessions.end(sessionId);
    return undefined;
  }
  return { name: s.name, role: s.role, via: 'session' };
}
