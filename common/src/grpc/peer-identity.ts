import type { CallContext } from 'nice-grpc-common';
import { peerKinds, roles, type PeerIdentity } from '../pki/identity.js';
import { peerKindKey, peerNameKey, peerRoleKey } from './peer-identity-interceptor.js';

/** The identity the interceptor placed in metadata, or null for a peer without an xsctl certificate. */
export function peerIdentity(context: CallContext): PeerIdentity | null {
  const name = context.metadata.get(peerNameKey);
  const kind = peerKinds.find((k) => k === context.metadata.get(peerKindKey));
  if (name === undefined || kind === undefined) return null;
  const role = roles.find((r) => r === context.metadata.get(peerRoleKey)) ?? null;
  return { name, kind, role };
}
