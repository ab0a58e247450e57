import { readdir } from 'node:fs/promises';
import type { SandboxRoot } from '../fs/sandbox-root.js';
import { ConfSyntaxError, deviceSections, entryList, entryMap, parseMultipathConf, sameDevice } from './multipath-conf.js';
import { readOptionalFile } from '../fs/read-optional-file.js';
export { readOptionalFile } from '../fs/read-optional-file.js';

export const mainConfPath = '/etc/multipath.conf';
export const confDirPath = '/etc/multipath/conf.d';

export interface ConfigFile {
  path: string;
  exists: boolean;
  content: string;
}

export interface DeviceEntry {
  file: string;
  line: number;
  vendor: string;
  product: string;
  entries: [string, string][];
}

export interface MultipathConfigView {
  files: ConfigFile[];
  devices: DeviceEntry[];
  warnings: string[];
}

/** Drop-ins multipath-tools reads: the 0.4.9 fork takes every name containing ".conf". */
export async function listConfDir(root: SandboxRoot): Promise<string[]> {
  try {
    const names = await readdir(root.resolve(confDirPath));
    return names.filter((n) => n.includes('.conf')).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

export function deviceEntriesOf(file: string, content: string): DeviceEntry[] {
  const doc = parseMultipathConf(content);
  return deviceSections(doc).map((s) => {
    const e = entryMap(doc, s);
    return { file, line: s.open + 1, vendor: e.get('vendor') ?? '', product: e.get('product') ?? '', entries: entryList(doc, s) };
  });
}

/** /etc/multipath.conf and every drop-in, with their device entries. Unparsable files are reported, not thrown. */
export async function readMultipathConfig(root: SandboxRoot, signal?: AbortSignal): Promise<MultipathConfigView> {
  const paths = [mainConfPath, ...(await listConfDir(root)).map((n) => `${confDirPath}/${n}`)];
  const files: ConfigFile[] = [];
  const devices: DeviceEntry[] = [];
  const warnings: string[] = [];
  for (const path of paths) {
    const content = await readOptionalFile(root.resolve(path), signal);
    files.push({ path, exists: content !== null, content: content ?? '' });
    if (content === null) continue;
    try {
      devices.push(...deviceEntriesOf(path, content));
    } catch (err) {
      if (err instanceof ConfSyntaxError) warnings.push(`${path}: ${err.message}`);
      else throw err;
    }
  }
  for (let i = 0; i < devices.length; i++) {
    for (let j = i + 1; j < devices.length; j++) {
      const a = devices[i] as DeviceEntry;
      const b = devices[j] as DeviceEntry;
      if (sameDevice(a, b)) warnings.push(`device ${a.vendor}/${a.product || '.*'} has two entries: ${a.file}:${a.line} and ${b.file}:${b.line}`);
    }
  }
  return { files, devices, warnings };
}
