import type { HostServiceImplementation } from '@xsctl/proto/gen/xsctl/agent/v1/host';
import type { AgentContext } from '../server/agent-context.js';
import { readHostFacts } from './read-host-facts.js';

export function hostService(ctx: AgentContext): HostServiceImplementation {
  return {
    async getFacts(_request, { signal }) {
      return { facts: await readHostFacts(ctx.root, signal) };
    },
  };
}
