import type { CommandRunner } from '../exec/command-runner.js';
import { compareVersions, type MultipathFlavor } from './flavors.js';
import { parseMultipathLl, type MultipathMapInfo } from './parse-multipath-ll.js';
import { parseMultipathdJson } from './parse-multipathd-json.js';

export interface MapListing {
  maps: MultipathMapInfo[];
  source: 'multipathd-json' | 'multipath-ll';
  warnings: string[];
}

/**
 * `multipathd show maps json` where multipathd has JSON (0.6+ upstream; the 0.4.x forks on
 * XenServer/XCP-ng do not), else, or when the daemon does not answer, `multipath -ll`.
 */
export async function listMaps(runner: CommandRunner, flavor: MultipathFlavor, signal?: AbortSignal): Promise<MapListing> {
  const opts = { timeoutMs: 30_000, ...(signal === undefined ? {} : { signal }) };
  const warnings: string[] = [];
  if (flavor.id === 'upstream' && compareVersions(flavor.version, '0.6.0') >= 0) {
    try {
      const r = await runner.run('multipathd', ['show', 'maps', 'json'], opts);
      const parsed = parseMultipathdJson(r.stdout);
      return { maps: parsed.maps, source: 'multipathd-json', warnings: parsed.warnings };
    } catch (err) {
      warnings.push(`multipathd show maps json: ${(err as Error).message.slice(0, 200)}; falling back to multipath -ll`);
    }
  }
  const r = await runner.run('multipath', ['-ll'], { ...opts, okExitCodes: [1] });
  const parsed = parseMultipathLl(r.stdout);
  return { maps: parsed.maps, source: 'multipath-ll', warnings: [...warnings, ...parsed.warnings] };
}
