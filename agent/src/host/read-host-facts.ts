import { hostname as osHostname, uptime as osUptime } from 'node:os';
import { PoolRole, type HostFacts } from '@xsctl/proto/gen/xsctl/agent/v1/host';
import type { SandboxRoot } from '../fs/sandbox-root.js';
import { readOptionalFileThroughPool } from '../fs/read-optional-file.js';
import { StatCachedFiles } from '../fs/stat-cached-files.js';
import { agentVersion } from '../version.js';
import { parseInventory } from './parse-inventory.js';
import { parsePoolConf } from './parse-pool-conf.js';

const noInventory = parseInventory('');
const noPoolConf = parsePoolConf('');

const trimmed = (text: string): string => text.trim();

/**
 * Reads a host's facts again and again (the host service holds one): the file paths are resolved
 * under the root once, the held /etc files parsed (and /etc/hostname trimmed) once while unchanged
 * (`files`), so a call makes little more than its three stats, the /proc/uptime read and the facts:
 * under Bun without its JIT every string and object a GetFacts makes is garbage its collector
 * pays for in the calls that meet a collection (bench/agent.mjs). A sandbox without /proc or
 * /etc/hostname falls back to this machine.
 */
export function hostFactsReader(root: SandboxRoot, files: StatCachedFiles = new StatCachedFiles()): (signal?: AbortSignal) => Promise<HostFacts> {
  const inventoryPath = root.resolve('/etc/xensource-inventory');
  const poolConfPath = root.resolve('/etc/xensource/pool.conf');
  const hostnamePath = root.resolve('/etc/hostname');
  const uptimePath = root.resolve('/proc/uptime');
  return async (signal) => {
    // Parsed once while the file is unchanged (the parsed values are shared: read, never changed).
    const inventory = files.readParsed(inventoryPath, parseInventory) ?? noInventory;
    const poolConf = files.readParsed(poolConfPath, parsePoolConf) ?? noPoolConf;
    const hostname = files.readParsed(hostnamePath, trimmed);
    // procfs: size 0 and no meaningful times, so never from the cache.
    // /proc/uptime through the thread pool, never at once (readOptionalFile reads a small regular file
    // at once, and a sandbox's /proc/uptime is one): a GetFacts answered in the same turn of the event
    // loop as its request came back slower under Bun's HTTP/2 (p50 1.8 -> 6.8 ms at the same CPU per
    // call), for a reason inside the runtime we did not pin down. The same holds for a bare grpc-js
    // server (bench/lib/floor-server.mjs, with and without --read-first: p50 6.6-8.2 against
    // 1.1-3.2 ms at load 20-28, the server on one CPU). A setImmediate turn instead of the read was
    // slower too (p50 3.3-4.3 against 1.6-1.9 ms, load 6).
    const uptimeFile = await readOptionalFileThroughPool(uptimePath, signal);
    // The first of its two numbers: parseFloat stops at the space (no split, no array per call).
    const uptime = uptimeFile === null ? osUptime() : Number.parseFloat(uptimeFile);
    return {
      hostname: hostname || osHostname(),
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
  };
}
