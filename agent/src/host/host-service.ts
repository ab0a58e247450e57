import type { HostServiceImplementation } from '@xsctl/proto/gen/xsctl/agent/v1/host';
import type { AgentContext } from '../server/agent-context.js';
import { StatCachedFiles } from '../fs/stat-cached-files.js';
import { hostFactsReader } from './read-host-facts.js';

export function hostService(ctx: AgentContext): HostServiceImplementation {
  // The controller asks every agent for its facts again and again; the files rarely change.
  const readFacts = hostFactsReader(ctx.root, new StatCachedFiles());
  return {
    async getFacts(_request, { signal }) {
      return { facts: await readFacts(signal) };
    },
  };
}
