import type { Server } from 'nice-grpc';
import { HostServiceDefinition } from '@xsctl/proto/gen/xsctl/agent/v1/host';
import { hostService } from '../host/host-service.js';
import { MultipathServiceDefinition, type MultipathServiceImplementation } from '@xsctl/proto/gen/xsctl/agent/v1/multipath';
import { ScsiServiceDefinition, type ScsiServiceImplementation } from '@xsctl/proto/gen/xsctl/agent/v1/scsi';
import { PrecheckServiceDefinition, type PrecheckServiceImplementation } from '@xsctl/proto/gen/xsctl/agent/v1/precheck';
import { registerStorageServices } from './register-storage-services.js';
import { lazyImplementation } from './lazy-implementation.js';
import type { AgentContext } from './agent-context.js';

/**
 * The one place services are added to the agent. Keep one line per service. `lifetime` aborts when
 * the server shuts down: background work a service starts (the storage peer watch) stops with it.
 * Every service but Host loads its code on its first call (lazy-implementation.ts).
 */
export function registerServices(server: Server, ctx: AgentContext, lifetime?: AbortSignal): void {
  server.add(HostServiceDefinition, hostService(ctx));
  server.add(MultipathServiceDefinition, lazyImplementation<MultipathServiceImplementation>(MultipathServiceDefinition, async () => (await import('../multipath/multipath-service.js')).multipathService(ctx)));
  server.add(ScsiServiceDefinition, lazyImplementation<ScsiServiceImplementation>(ScsiServiceDefinition, async () => (await import('../scsi/scsi-service.js')).scsiService(ctx)));
  registerStorageServices(server, ctx, lifetime);
  server.add(PrecheckServiceDefinition, lazyImplementation<PrecheckServiceImplementation>(PrecheckServiceDefinition, async () => (await import('../precheck/precheck-service.js')).precheckService(ctx)));
}
