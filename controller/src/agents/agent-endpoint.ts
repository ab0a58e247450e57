import type { PoolConfig } from '../config/inventory.js';
import type { AgentEndpoint } from './agent-connection.js';

/** Agents are reached at the XAPI host address and the pool's agent port; the cert names the hostname. */
export function agentEndpoint(pool: PoolConfig, host: { address: string; hostname: string }): AgentEndpoint {
  const address = host.address.includes(':') ? `[${host.address}]:${pool.agentPort}` : `${host.address}:${pool.agentPort}`;
  return { address, serverName: host.hostname };
}
