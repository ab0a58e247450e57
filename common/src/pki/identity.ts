import { ValidationError } from '../errors/index.js';

/** What a certificate was issued for. The kind decides which hop may present it. */
export type PeerKind = 'controller' | 'agent' | 'cli';
export type Role = 'viewer' | 'operator';

export const peerKinds: readonly PeerKind[] = ['controller', 'agent', 'cli'];
export const roles: readonly Role[] = ['viewer', 'operator'];

export interface PeerIdentity {
  name: string;
  kind: PeerKind;
  /** Only CLI certificates carry a role. */
  role: Role | null;
}

// Kind and role live in SAN URIs, which a client cannot forge without the CA key.
const kindPrefix = 'urn:xsctl:kind:';
const rolePrefix = 'urn:xsctl:role:';

export function identityUris(kind: PeerKind, role: Role | null): string[] {
  return role === null ? [kindPrefix + kind] : [kindPrefix + kind, rolePrefix + role];
}

const namePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export function assertCertName(name: string): string {
  if (!namePattern.test(name)) {
    throw new ValidationError('name', 'use 1-63 letters, digits, dot, dash or underscore');
  }
  return name;
}

export function parseKind(value: string): PeerKind {
  const kind = peerKinds.find((k) => k === value);
  if (kind === undefined) throw new ValidationError('kind', `expected one of ${peerKinds.join(', ')}`);
  return kind;
}

export function parseRole(value: string): Role {
  const role = roles.find((r) => r === value);
  if (role === undefined) throw new ValidationError('role', `expected one of ${roles.join(', ')}`);
  return role;
}

/**
 * Reads the identity from Node's `subjectaltname` string ("DNS:a, URI:urn:xsctl:kind:cli, ...")
 * and the subject CN. Returns null when the certificate carries no xsctl kind.
 */
export function identityFromCertificate(subjectCn: string | undefined, subjectAltName: string | undefined): PeerIdentity | null {
  if (subjectCn === undefined || subjectAltName === undefined) return null;
  let kind: PeerKind | null = null;
  let role: Role | null = null;
  for (const entry of subjectAltName.split(/,\s*/)) {
    if (!entry.startsWith('URI:')) continue;
    const uri = entry.slice(4);
    if (uri.startsWith(kindPrefix)) kind = peerKinds.find((k) => k === uri.slice(kindPrefix.length)) ?? null;
    if (uri.startsWith(rolePrefix)) role = roles.find((r) => r === uri.slice(rolePrefix.length)) ?? null;
  }
  if (kind === null) return null;
  return { name: subjectCn, kind, role: kind === 'cli' ? (role ?? 'viewer') : null };
}
