import type { CommandRunner } from '../exec/command-runner.js';
import type { SandboxRoot } from '../fs/sandbox-root.js';
import { parseInventory } from '../host/parse-inventory.js';
import { detectFlavor, parseMultipathVersion, type MultipathFlavor } from './flavors.js';
import { readOptionalFile as readOptional } from '../fs/read-optional-file.js';

export interface MultipathPlatformInfo {
  productBrand: string;
  productVersion: string;
  flavor: MultipathFlavor;
}

/**
 * The flavor comes from /etc/xensource-inventory on XenServer/XCP-ng (their multipath-tools are
 * pinned forks); elsewhere from the version `multipath -h` prints.
 */
export async function readPlatform(root: SandboxRoot, runner: CommandRunner, signal?: AbortSignal): Promise<MultipathPlatformInfo> {
  const inventory = parseInventory((await readOptional(root.resolve('/etc/xensource-inventory'), signal)) ?? '');
  const brand = inventory['PRODUCT_BRAND'] ?? '';
  let version: string | null = null;
  if (brand === '') {
    try {
      const r = await runner.run('multipath', ['-h'], { okExitCodes: [1], timeoutMs: 10_000, ...(signal === undefined ? {} : { signal }) });
      version = parseMultipathVersion(`${r.stdout}\n${r.stderr}`);
    } catch {
      version = null;
    }
  }
  return { productBrand: brand, productVersion: inventory['PRODUCT_VERSION'] ?? '', flavor: detectFlavor(inventory, version) };
}
