import type { CallContext } from 'nice-grpc-common';
import { peerKinds, roles, type PeerIdentity } from '../pki/identity.js';
import { peerKindKey, peerNameKey, peerRoleKey, peerSerialKey } from './peer-identity-interceptor.js';

/** The identity the interceptor placed in metadata, or null for a peer without an xsctl certificate. */
export function peerIdentity(context: CallContext): (PeerIdentity & { serial?: string }) | null {
  const name = context.metadata.get(peerNameKey);
  const kind = peerKinds.find((k) => k === context.metadata.get(peerKindKey));
  if (name === undefined || kind === undefined) return null;
  const role = roles.find((r) => r === context.metadata.get(peerRoleKey)) ?? null;
  const serial = context.metadata.get(peerSerialKey);
  return serial === undefined ? { name, kind, role } : { name, kind, role, serial };
}
