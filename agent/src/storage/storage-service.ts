import type { DrbdServiceImplementation } from '@xsctl/proto/gen/xsctl/agent/v1/drbd';
import type { FloatingIpServiceImplementation } from '@xsctl/proto/gen/xsctl/agent/v1/floating_ip';
import { StorageHandover, StorageRole, type StorageServiceImplementation } from '@xsctl/proto/gen/xsctl/agent/v1/storage';
import type { TargetServiceImplementation } from '@xsctl/proto/gen/xsctl/agent/v1/target';
import type { PeerViewServiceImplementation } from '@xsctl/proto/gen/xsctl/agent/v1/peer_view';
import { drbdService } from '../drbd/drbd-service.js';
import { floatingIpService } from '../network/floating-ip-service.js';
import type { AgentContext } from '../server/agent-context.js';
import { targetService } from '../target/target-service.js';
import { assertRole } from './assert-role.js';
import { runHandover } from './handover.js';
import { storageStatus } from './storage-status.js';
import { writeStorageRoleConfig } from './write-role-config.js';
import { PeerWatch } from './peer-watch.js';
import { holdAfterAssertion } from './self-fence-decision.js';

export function storageService(ctx: AgentContext, watch?: PeerWatch): StorageServiceImplementation {
  return {
    async assertStorageRole(request, { signal }) {
      // The controller is the witness: a role change it asks for is witness contact (peer-watch.ts).
      const done = watch?.controllerCall();
      const handover = request.handover !== StorageHandover.STORAGE_HANDOVER_UNSPECIFIED;
      let ok = false;
      try {
        const r = handover ? await runHandover(ctx, request.role, request.handover, request.spec, request.dryRun, signal) : await assertRole(ctx, request.role, request.spec, request.dryRun, signal, watch === undefined ? undefined : (ip) => watch.dadProbes(ip));
        ok = r.ok;
        return r;
      } finally {
        // Before the witness contact ends: no self-fence check runs between a promotion and its hold.
        const safety = request.spec?.peerSafety;
        watch?.roleAsserted(holdAfterAssertion({ master: request.role === StorageRole.STORAGE_ROLE_MASTER, handover, dryRun: request.dryRun, ok, peerFenced: safety?.peerFenced === true, peerFencedByPower: safety?.peerFencedByPower === true }));
        done?.();
      }
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

/**
 * The hyperconverged-storage services (DRBD, tgtd, floating IP, storage role, peer view), made
 * together because they share the peer watch; server/register-storage-services.ts adds them.
 */
export function storageServices(ctx: AgentContext, lifetime?: AbortSignal): {
  peerView: PeerViewServiceImplementation;
  drbd: DrbdServiceImplementation;
  target: TargetServiceImplementation;
  floatingIp: FloatingIpServiceImplementation;
  storage: StorageServiceImplementation;
} {
  const watch = new PeerWatch(ctx);
  lifetime?.addEventListener('abort', () => void watch.close(), { once: true });
  return { peerView: peerViewService(watch), drbd: drbdService(ctx), target: targetService(ctx), floatingIp: floatingIpService(ctx), storage: storageService(ctx, watch) };
}
