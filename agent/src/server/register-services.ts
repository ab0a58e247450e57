import type { Server } from 'nice-grpc';
import { HostServiceDefinition } from '@xsctl/proto/gen/xsctl/agent/v1/host';
import { hostService } from '../host/host-service.js';
import type { AgentContext } from './agent-context.js';

/** The one place services are added to the agent. Keep one line per service. */
export function registerServices(server: Server, ctx: AgentContext): void {
  server.add(HostServiceDefinition, hostService(ctx));
}
