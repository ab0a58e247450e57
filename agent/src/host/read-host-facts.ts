import { hostname as osHostname, uptime as osUptime } from 'node:os';
import { PoolRole, type HostFacts } from '@xsctl/proto/gen/xsctl/agent/v1/host';
import type { SandboxRoot } from '../fs/sandbox-root.js';
import { readOptionalFile } from '../fs/read-optional-file.js';
import { StatCachedFiles } from '../fs/stat-cached-files.js';
import { agentVersion } from '../version.js';
import { parseInventory } from './parse-inventory.js';
import { parsePoolConf } from './parse-pool-conf.js';

const noInventory = parseInventory('');
const noPoolConf = parsePoolConf('');

/**
 * Facts from the files under the root; a sandbox without /proc or /etc/hostname falls back to this
 * machine. `files` keeps the /etc files between calls (the host service holds one); /proc/uptime
 * is read on every call.
 */
export async function readHostFacts(root: SandboxRoot, signal?: AbortSignal, files: StatCachedFiles = new StatCachedFiles()): Promise<HostFacts> {
  // Parsed once while the file is unchanged (the parsed values are shared: read, never changed).
  const inventory = files.readParsed(root.resolve('/etc/xensource-inventory'), parseInventory) ?? noInventory;
  const poolConf = files.readParsed(root.resolve('/etc/xensource/pool.conf'), parsePoolConf) ?? noPoolConf;
  const hostnameFile = files.read(root.resolve('/etc/hostname'));
  // procfs: size 0 and no meaningful times, so never from the cache. Read asynchronously: a
  // GetFacts answered without any await came back slower under Bun's HTTP/2 (p50 1.8 -> 6.8 ms at
  // the same CPU per call, bench/agent.mjs), for a reason inside the runtime we did not pin down.
  const uptimeFile = await readOptionalFile(root.resolve('/proc/uptime'), signal);
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
