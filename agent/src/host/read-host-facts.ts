import { hostname as osHostname, uptime as osUptime } from 'node:os';
import { PoolRole, type HostFacts } from '@xsctl/proto/gen/xsctl/agent/v1/host';
import type { SandboxRoot } from '../fs/sandbox-root.js';
import { agentVersion } from '../version.js';
import { parseInventory } from './parse-inventory.js';
import { parsePoolConf } from './parse-pool-conf.js';
import { readOptionalFile as readOptional } from '../fs/read-optional-file.js';

/** Facts from the files under the root; a sandbox without /proc or /etc/hostname falls back to this machine. */
export async function readHostFacts(root: SandboxRoot, signal?: AbortSignal): Promise<HostFacts> {
  const inventory = parseInventory((await readOptional(root.resolve('/etc/xensource-inventory'), signal)) ?? '');
  const poolConf = parsePoolConf((await readOptional(root.resolve('/etc/xensource/pool.conf'), signal)) ?? '');
  const hostnameFile = await readOptional(root.resolve('/etc/hostname'), signal);
  const uptimeFile = await readOptional(root.resolve('/proc/uptime'), signal);
  const uptime = uptimeFile === null ? osUptime() : Number.parseFloat(uptimeFile.split(/\s+/)[0] ?? '0');
  return {
    hostname: hostnameFile?.trim() || osHostname(),
    productBrand: inventory['PRODUCT_BRAND'] ?? '',
    productVersion: inventory['PRODUCT_VERSION'] ?? '',
    buildNumber: inventory['BUILD_NUMBER'] ?? '',
    installationUuid: inventory['INSTALLATION_UUID'] ?? '',
    controlDomainUuid: inventory['CONTROL_DOMAIN_UUID'] ?? '',
    poolRole: poolConf.role === 'master' ? PoolRole.POOL_ROLE_MASTER : poolConf.role === 'slave' ? PoolRole.POOL_ROLE_SLAVE : PoolRole.POOL_ROLE_UNSPECIFIED,
    masterAddress: poolConf.role === 'slave' ? poolConf.masterAddress : '',
    uptimeSeconds: Number.isFinite(uptime) ? uptime : 0,
    agentVersion,
    root: root.root,
  };
}
