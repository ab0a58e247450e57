import type { CallContext, ServerMiddlewareCall } from 'nice-grpc-common';
import { PermissionDeniedError, UnauthenticatedError } from '../errors/index.js';
import type { PeerKind, Role } from '../pki/identity.js';
import { toServerError } from './error-codec.js';
import { peerIdentity } from './peer-identity.js';

export interface AuthPolicy {
  /** Certificate kinds allowed to call at all. */
  kinds: readonly PeerKind[];
  /** Method paths that need the operator role; every other method needs viewer. Unlisted writes are a bug. */
  operatorMethods?: ReadonlySet<string>;
}

export function authMiddleware(policy: AuthPolicy) {
  return async function* <Request, Response>(call: ServerMiddlewareCall<Request, Response>, context: CallContext) {
    const peer = peerIdentity(context);
    if (peer === null) throw toServerError(new UnauthenticatedError('no xsctl certificate'));
    if (!policy.kinds.includes(peer.kind)) {
      throw toServerError(new PermissionDeniedError(`${peer.kind} ${peer.name}`, `a ${policy.kinds.join(' or ')} certificate`));
    }
    const needed: Role = policy.operatorMethods?.has(call.method.path) === true ? 'operator' : 'viewer';
    if (needed === 'operator' && peer.kind === 'cli' && peer.role !== 'operator') {
      throw toServerError(new PermissionDeniedError(`${peer.name} (${peer.role ?? 'no role'})`, 'the operator role'));
    }
    return yield* call.next(call.request, context);
  };
}
