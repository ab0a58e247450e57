import type { CallContext, ServerMiddlewareCall } from 'nice-grpc-common';
import { peerIdentity } from '@xsctl/common/grpc/index';
import type { IdentityLimits } from './identity-limits.js';

/**
 * gRPC side of the per-identity limits; runs after the auth middleware (which has refused every
 * caller without an identity). Server-streaming calls count as streams, the rest as calls.
 */
export function identityLimitsMiddleware(limits: IdentityLimits) {
  return async function* <Request, Response>(call: ServerMiddlewareCall<Request, Response>, context: CallContext) {
    const peer = peerIdentity(context);
    if (peer === null) return yield* call.next(call.request, context);
    const release = await limits.acquire({ name: `${peer.kind}:${peer.name}`, role: peer.role ?? 'viewer' }, call.method.responseStream ? 'stream' : 'call');
    try {
      return yield* call.next(call.request, context);
    } finally {
      release();
    }
  };
}
