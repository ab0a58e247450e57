import type { CallContext } from 'nice-grpc-common';
import { peerKinds, roles, type PeerIdentity, type PeerKind, type Role } from '../pki/identity.js';
import { peerKindKey, peerNameKey, peerRoleKey, peerSerialKey } from './peer-identity-interceptor.js';

/** The identity the interceptor placed in metadata, or null for a peer without an xsctl certificate. */
export function peerIdentity(context: CallContext): (PeerIdentity & { serial?: string }) | null {
  const name = context.metadata.get(peerNameKey);
  // includes, not find with a closure: this runs on every call (bench/agent.mjs counts its garbage).
  const kind = context.metadata.get(peerKindKey);
  if (name === undefined || kind === undefined || !(peerKinds as readonly string[]).includes(kind)) return null;
  const metaRole = context.metadata.get(peerRoleKey);
  const role = metaRole !== undefined && (roles as readonly string[]).includes(metaRole) ? (metaRole as Role) : null;
  const serial = context.metadata.get(peerSerialKey);
  return serial === undefined ? { name, kind: kind as PeerKind, role } : { name, kind: kind as PeerKind, role, serial };
}
