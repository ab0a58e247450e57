import type { Server } from 'nice-grpc';
import { DrbdServiceDefinition } from '@xsctl/proto/gen/xsctl/agent/v1/drbd';
import { FloatingIpServiceDefinition } from '@xsctl/proto/gen/xsctl/agent/v1/floating_ip';
import { StorageServiceDefinition, type StorageServiceImplementation } from '@xsctl/proto/gen/xsctl/agent/v1/storage';
import { TargetServiceDefinition } from '@xsctl/proto/gen/xsctl/agent/v1/target';
import { PeerViewServiceDefinition, type PeerViewServiceImplementation } from '@xsctl/proto/gen/xsctl/agent/v1/peer_view';
import { drbdService } from '../drbd/drbd-service.js';
import { floatingIpService } from '../network/floating-ip-service.js';
import type { AgentContext } from '../server/agent-context.js';
import { targetService } from '../target/target-service.js';
import { assertRole } from './assert-role.js';
import { storageStatus } from './storage-status.js';
import { writeStorageRoleConfig } from './write-role-config.js';
import { PeerWatch } from './peer-watch.js';

export function storageService(ctx: AgentContext): StorageServiceImplementation {
  return {
    async assertStorageRole(request, { signal }) {
      return assertRole(ctx, request.role, request.spec, request.dryRun, signal);
    },
    async getStorageStatus(request, { signal }) {
      return { status: await storageStatus(ctx, request.spec, signal) };
    },
    async writeStorageRoleConfig(request, { signal }) {
      return writeStorageRoleConfig(ctx, request, signal);
    },
  };
}

export function peerViewService(watch: PeerWatch): PeerViewServiceImplementation {
  return {
    async getPeerView(request, { signal }) {
      return { view: await watch.heartbeat(request.watch, signal) };
    },
  };
}

/** The hyperconverged-storage services (DRBD, tgtd, floating IP, storage role, peer view): one registration line. */
export function registerStorageServices(server: Server, ctx: AgentContext, lifetime?: AbortSignal): void {
  const watch = new PeerWatch(ctx);
  lifetime?.addEventListener('abort', () => void watch.close(), { once: true });
  server.add(PeerViewServiceDefinition, peerViewService(watch));
  server.add(DrbdServiceDefinition, drbdService(ctx));
  server.add(TargetServiceDefinition, targetService(ctx));
  server.add(FloatingIpServiceDefinition, floatingIpService(ctx));
  server.add(StorageServiceDefinition, storageService(ctx));
}
