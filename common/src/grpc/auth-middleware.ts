import type { CallContext, ServerMiddlewareCall } from 'nice-grpc-common';
import { PermissionDeniedError, UnauthenticatedError } from '../errors/index.js';
import type { PeerKind, Role } from '../pki/identity.js';
import { toServerError } from './error-codec.js';
import { peerIdentity } from './peer-identity.js';

/** `read` methods change nothing; `write` methods need the operator role when a CLI user calls. */
export type MethodAccess = 'read' | 'write';

export interface AuthPolicy {
  /** Certificate kinds allowed to call at all. */
  kinds: readonly PeerKind[];
  /**
   * Every callable method path and what it needs. Default deny: a path missing here is refused to
   * everyone, so a method added to a proto without being classified cannot be called by a viewer.
   */
  methods: ReadonlyMap<string, MethodAccess>;
  /** The live revocation list: a revoked certificate is refused on every call, even on an open connection. */
  revoked?: (serial: string) => boolean;
}

/**
 * Refuses a call its peer may not make (throws the ServerError the client is answered with):
 * no xsctl certificate, a revoked one, a kind the policy does not admit, a method missing from the
 * policy, or a write by a CLI user without the operator role.
 */
export function authorizeCall(policy: AuthPolicy, path: string, context: CallContext): void {
  const peer = peerIdentity(context);
  if (peer === null) throw toServerError(new UnauthenticatedError('no xsctl certificate'));
  if (policy.revoked !== undefined && (peer.serial === undefined || policy.revoked(peer.serial))) {
    throw toServerError(new UnauthenticatedError(`the certificate of ${peer.kind} ${peer.name} is revoked${peer.serial === undefined ? ' (no serial)' : ` (serial ${peer.serial})`}`));
  }
  if (!policy.kinds.includes(peer.kind)) {
    throw toServerError(new PermissionDeniedError(`${peer.kind} ${peer.name}`, `a ${policy.kinds.join(' or ')} certificate`));
  }
  const access = policy.methods.get(path);
  if (access === undefined) {
    throw toServerError(new PermissionDeniedError(`${peer.kind} ${peer.name}`, `${path} to be classified read or write (unclassified methods are refused)`));
  }
  const needed: Role = access === 'write' ? 'operator' : 'viewer';
  if (needed === 'operator' && peer.kind === 'cli' && peer.role !== 'operator') {
    throw toServerError(new PermissionDeniedError(`${peer.name} (${peer.role ?? 'no role'})`, 'the operator role'));
  }
}

export function authMiddleware(policy: AuthPolicy) {
  return async function* <Request, Response>(call: ServerMiddlewareCall<Request, Response>, context: CallContext) {
    authorizeCall(policy, call.method.path, context);
    return yield* call.next(call.request, context);
  };
}
