import type { Server } from 'nice-grpc';
import { HostServiceDefinition } from '@xsctl/proto/gen/xsctl/agent/v1/host';
import { hostService } from '../host/host-service.js';
import { MultipathServiceDefinition } from '@xsctl/proto/gen/xsctl/agent/v1/multipath';
import { multipathService } from '../multipath/multipath-service.js';
import { ScsiServiceDefinition } from '@xsctl/proto/gen/xsctl/agent/v1/scsi';
import { scsiService } from '../scsi/scsi-service.js';
import { registerStorageServices } from '../storage/storage-service.js';
import { PrecheckServiceDefinition } from '@xsctl/proto/gen/xsctl/agent/v1/precheck';
import { precheckService } from '../precheck/precheck-service.js';
import type { AgentContext } from './agent-context.js';

/**
 * The one place services are added to the agent. Keep one line per service. `lifetime` aborts when
 * the server shuts down: background work a service starts (the storage peer watch) stops with it.
 */
export function registerServices(server: Server, ctx: AgentContext, lifetime?: AbortSignal): void {
  server.add(HostServiceDefinition, hostService(ctx));
  server.add(MultipathServiceDefinition, multipathService(ctx));
  server.add(ScsiServiceDefinition, scsiService(ctx));
  registerStorageServices(server, ctx, lifetime);
  server.add(PrecheckServiceDefinition, precheckService(ctx));
}
