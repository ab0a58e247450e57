import { HostServiceDefinition } from '@xsctl/proto/gen/xsctl/agent/v1/host';
import { XsctlError } from '@xsctl/common/errors/index';
import type { TlsMaterial } from '@xsctl/common/pki/index';
import type { AgentRegistry } from '../agents/agent-registry.js';
import { agentEndpoint } from '../agents/agent-endpoint.js';
import { agentRefused, poolRoleName } from '../agents/agent-facts.js';
import type { PoolConfig } from '../config/inventory.js';
import type { AgentProbe } from './pool-view.js';
import { probeCertificate } from './probe-certificate.js';

export interface ProbeTarget {
  uuid: string;
  hostname: string;
  address: string;
}

/** Certificates change rarely: one handshake per host per hour is enough. */
const certificateEveryMs = 3600_000;

/** Asks one agent for its facts (and, now and then, which certificate it serves). Never throws. */
export async function probeAgent(
  deps: { agents: AgentRegistry; tls: TlsMaterial },
  pool: PoolConfig,
  host: ProbeTarget,
  previous: AgentProbe | undefined,
  signal: AbortSignal,
): Promise<AgentProbe> {
  const endpoint = agentEndpoint(pool, host);
  const checkedAt = new Date().toISOString();
  let certificateNotAfter = previous?.certificateNotAfter ?? '';
  const stale = previous === undefined || previous.certificateNotAfter === '' || Date.parse(checkedAt) - Date.parse(previous.checkedAt) > certificateEveryMs;
  try {
    const { facts } = await deps.agents.get(endpoint).client(HostServiceDefinition).getFacts({}, { signal, timeoutMs: 5000 });
    if (stale) certificateNotAfter = await probeCertificate(endpoint.address, endpoint.serverName, deps.tls).then((d) => d.toISOString(), () => certificateNotAfter);
    return {
      state: 'ok',
      checkedAt,
      error: '',
      hostname: facts?.hostname ?? '',
      productVersion: facts?.productVersion ?? '',
      buildNumber: facts?.buildNumber ?? '',
      poolRole: poolRoleName(facts?.poolRole),
      agentVersion: facts?.agentVersion ?? '',
      uptimeSeconds: facts?.uptimeSeconds ?? 0,
      certificateNotAfter,
    };
  } catch (err) {
    return {
      state: agentRefused(err) ? 'rejected' : 'unreachable',
      checkedAt,
      error: `${err instanceof XsctlError ? `${err.code}: ` : ''}${err instanceof Error ? err.message : String(err)}`,
      hostname: '',
      productVersion: '',
      buildNumber: '',
      poolRole: '',
      agentVersion: '',
      uptimeSeconds: 0,
      certificateNotAfter,
    };
  }
}
