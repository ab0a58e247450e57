import type { Server } from 'nice-grpc';
import { DrbdServiceDefinition } from '@xsctl/proto/gen/xsctl/agent/v1/drbd';
import { FloatingIpServiceDefinition } from '@xsctl/proto/gen/xsctl/agent/v1/floating_ip';
import { StorageServiceDefinition, type StorageServiceImplementation } from '@xsctl/proto/gen/xsctl/agent/v1/storage';
import { TargetServiceDefinition } from '@xsctl/proto/gen/xsctl/agent/v1/target';
import { drbdService } from '../drbd/drbd-service.js';
import { floatingIpService } from '../network/floating-ip-service.js';
import type { AgentContext } from '../server/agent-context.js';
import { targetService } from '../target/target-service.js';
import { assertRole } from './assert-role.js';
import { storageStatus } from './storage-status.js';

export function storageService(ctx: AgentContext): StorageServiceImplementation {
  return {
    async assertStorageRole(request, { signal }) {
      return assertRole(ctx, request.role, request.spec, request.dryRun, signal);
    },
    async getStorageStatus(request, { signal }) {
      return { status: await storageStatus(ctx, request.spec, signal) };
    },
  };
}

/** The hyperconverged-storage services (DRBD, tgtd, floating IP, storage role): one registration line. */
export function registerStorageServices(server: Server, ctx: AgentContext): void {
  server.add(DrbdServiceDefinition, drbdService(ctx));
  server.add(TargetServiceDefinition, targetService(ctx));
  server.add(FloatingIpServiceDefinition, floatingIpService(ctx));
  server.add(StorageServiceDefinition, storageService(ctx));
}
