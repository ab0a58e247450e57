import type { Server } from 'nice-grpc';
import { DrbdServiceDefinition, type DrbdServiceImplementation } from '@xsctl/proto/gen/xsctl/agent/v1/drbd';
import { FloatingIpServiceDefinition, type FloatingIpServiceImplementation } from '@xsctl/proto/gen/xsctl/agent/v1/floating_ip';
import { StorageServiceDefinition, type StorageServiceImplementation } from '@xsctl/proto/gen/xsctl/agent/v1/storage';
import { TargetServiceDefinition, type TargetServiceImplementation } from '@xsctl/proto/gen/xsctl/agent/v1/target';
import { PeerViewServiceDefinition, type PeerViewServiceImplementation } from '@xsctl/proto/gen/xsctl/agent/v1/peer_view';
import type { AgentContext } from './agent-context.js';
import { lazyImplementation, once } from './lazy-implementation.js';

/**
 * The hyperconverged-storage services (DRBD, tgtd, floating IP, storage role, peer view), loaded
 * together on the first call to any of them (storage-service.ts): they share the peer watch.
 */
export function registerStorageServices(server: Server, ctx: AgentContext, lifetime?: AbortSignal): void {
  const services = once(async () => (await import('../storage/storage-service.js')).storageServices(ctx, lifetime));
  server.add(PeerViewServiceDefinition, lazyImplementation<PeerViewServiceImplementation>(PeerViewServiceDefinition, async () => (await services()).peerView));
  server.add(DrbdServiceDefinition, lazyImplementation<DrbdServiceImplementation>(DrbdServiceDefinition, async () => (await services()).drbd));
  server.add(TargetServiceDefinition, lazyImplementation<TargetServiceImplementation>(TargetServiceDefinition, async () => (await services()).target));
  server.add(FloatingIpServiceDefinition, lazyImplementation<FloatingIpServiceImplementation>(FloatingIpServiceDefinition, async () => (await services()).floatingIp));
  server.add(StorageServiceDefinition, lazyImplementation<StorageServiceImplementation>(StorageServiceDefinition, async () => (await services()).storage));
}
