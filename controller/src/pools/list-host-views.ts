import { HostServiceDefinition } from '@xsctl/proto/gen/xsctl/agent/v1/host';
import { AgentState, type AgentView, type HostView, type ListHostsResponse, type PoolError } from '@xsctl/proto/gen/xsctl/controller/v1/controller';
import { XsctlError } from '@xsctl/common/errors/index';
import type { ControllerContext } from '../server/controller-context.js';
import { readPoolHosts, type PoolHostRecord } from './read-pool-hosts.js';
import { agentEndpoint } from '../agents/agent-endpoint.js';
import { agentRefused, poolRoleName } from '../agents/agent-facts.js';
import { certificateSamples, expiryNotices } from '../trust/certificate-expiry.js';

async function agentView(ctx: ControllerContext, pool: string, host: PoolHostRecord, signal: AbortSignal): Promise<AgentView> {
  const endpoint = agentEndpoint(ctx.pool(pool), host);
  const base = { endpoint: endpoint.address };
  try {
    const connection = ctx.agents.get(endpoint);
    const { facts } = await connection.client(HostServiceDefinition).getFacts({}, { signal });
    return {
      ...base,
      state: AgentState.AGENT_STATE_OK,
      errorCode: '',
      errorMessage: '',
      hostname: facts?.hostname ?? '',
      productBrand: facts?.productBrand ?? '',
      productVersion: facts?.productVersion ?? '',
      buildNumber: facts?.buildNumber ?? '',
      poolRole: poolRoleName(facts?.poolRole),
      masterAddress: facts?.masterAddress ?? '',
      uptimeSeconds: facts?.uptimeSeconds ?? 0,
      agentVersion: facts?.agentVersion ?? '',
      certificateNotAfter: connection.peer?.notAfter.toISOString() ?? '',
    };
  } catch (err) {
    // One unreachable agent is a fact about that host, not a failure of the whole listing.
    const code = err instanceof XsctlError ? err.code : 'AGENT_ERROR';
    return {
      ...base,
      state: agentRefused(err) ? AgentState.AGENT_STATE_REJECTED : AgentState.AGENT_STATE_UNREACHABLE,
      errorCode: code,
      errorMessage: err instanceof Error ? err.message : String(err),
      hostname: '', productBrand: '', productVersion: '', buildNumber: '', poolRole: '', masterAddress: '', uptimeSeconds: 0, agentVersion: '', certificateNotAfter: '',
    };
  }
}

function mismatches(host: PoolHostRecord, agent: AgentView): string[] {
  if (agent.state !== AgentState.AGENT_STATE_OK) return [];
  const out: string[] = [];
  if (agent.productVersion !== host.productVersion) out.push(`version: XAPI ${host.productVersion}, agent ${agent.productVersion}`);
  if (agent.hostname !== host.hostname) out.push(`hostname: XAPI ${host.hostname}, agent ${agent.hostname}`);
  const agentMaster = agent.poolRole === 'master';
  if (agentMaster !== host.isMaster) out.push(`role: XAPI ${host.isMaster ? 'master' : 'slave'}, pool.conf ${agent.poolRole}`);
  return out;
}

/** XAPI records merged with agent facts; an unreachable agent or XAPI is reported, not thrown. */
export async function listHostViews(ctx: ControllerContext, poolName: string, signal: AbortSignal): Promise<ListHostsResponse> {
  const pools = poolName === '' ? ctx.config.pools : [ctx.pool(poolName)];
  const hosts: HostView[] = [];
  const poolErrors: PoolError[] = [];
  await Promise.all(
    pools.map(async (pool) => {
      let records: PoolHostRecord[];
      try {
        const xapi = await ctx.openXapi(pool, { readOnly: true, signal });
        try {
          records = await readPoolHosts(xapi, signal);
        } finally {
          await xapi.close();
        }
      } catch (err) {
        poolErrors.push({ pool: pool.name, code: err instanceof XsctlError ? err.code : 'XAPI_ERROR', message: err instanceof Error ? err.message : String(err) });
        return;
      }
      const views = await Promise.all(records.map((h) => agentView(ctx, pool.name, h, signal)));
      records.forEach((h, i) => {
        const agent = views[i] as AgentView;
        const { ref, uuid, nameLabel, hostname, address, enabled, live, isMaster, productVersion, productBrand, buildNumber, residentVms, memoryTotalBytes, memoryFreeBytes } = h;
        hosts.push({
          pool: pool.name,
          xapi: { ref, uuid, nameLabel, hostname, address, enabled, live, isMaster, productVersion, productBrand, buildNumber, residentVms, memoryTotalBytes, memoryFreeBytes },
          agent,
          mismatches: mismatches(h, agent),
        });
      });
    }),
  );
  hosts.sort((a, b) => a.pool.localeCompare(b.pool));
  return { hosts, poolErrors, certificateNotices: expiryNotices(await certificateSamples(ctx.config.tls.cert, ctx.agents)) };
}
