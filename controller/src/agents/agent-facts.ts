import { PoolRole } from '@xsctl/proto/gen/xsctl/agent/v1/host';
import { RemoteError } from '@xsctl/common/errors/index';
import { Status } from 'nice-grpc-common';

const refusedStatuses: readonly Status[] = [Status.PERMISSION_DENIED, Status.UNAUTHENTICATED];

/**
 * Whether the agent refused us (its auth layer answered, or the TLS handshake failed: wrong CA,
 * expired or revoked certificate) rather than not answering at all. An admin fixes the first with
 * certificates and the second with the network, so the views keep them apart.
 */
export function agentRefused(err: unknown): boolean {
  return err instanceof RemoteError && (refusedStatuses.includes(err.grpcStatus) || /certificate|handshake/i.test(err.message));
}

/** The agent's pool.conf role as the views show it. */
export function poolRoleName(role: PoolRole | undefined): 'master' | 'slave' | 'unknown' {
  return role === PoolRole.POOL_ROLE_MASTER ? 'master' : role === PoolRole.POOL_ROLE_SLAVE ? 'slave' : 'unknown';
}
