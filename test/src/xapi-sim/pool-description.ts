import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';

/**
 * A small, hand-written pool for demos and tests. Everything not said here gets the value a fresh
 * install of that product version would have. Sizes are in GiB unless the key says MiB.
 */
export interface PoolDescription {
  pool: {
    name: string;
    /** name of the host that is pool master */
    master: string;
    haEnabled?: boolean;
    wlbEnabled?: boolean;
    otherConfig?: Record<string, string>;
  };
  hosts: HostDescription[];
  srs?: SrDescription[];
  vms?: VmDescription[];
}

export interface HostDescription {
  name: string;
  /** Defaults to `name`. */
  hostname?: string;
  address: string;
  /** Product version, e.g. 7.1.0. Default 7.1.0. */
  version?: string;
  /** Product brand, e.g. XenServer or XCP-ng. Default XenServer. */
  brand?: string;
  /** Build number; defaults to the GA build of `version` when known. */
  build?: string;
  memoryGiB?: number;
  cpus?: number;
  /** Applied hotfixes/updates by name, e.g. XS71E001. */
  hotfixes?: string[];
  enabled?: boolean;
  /** host_metrics.live. Default true. */
  live?: boolean;
  /** Control domain memory; defaults to XenServer 7's formula (1 GiB + 5% of RAM, at most 8 GiB). */
  dom0MemoryMiB?: number;
  otherConfig?: Record<string, string>;
}

export interface SrDescription {
  name: string;
  /** SM type: lvmoiscsi, lvmohba, nfs, lvm, ext, ... Default lvmoiscsi when shared, lvm when local. */
  type?: string;
  /** Shared SRs get a PBD on every host; local ones only on `host`. Default: true unless `host` is set. */
  shared?: boolean;
  /** Owner of a local SR. */
  host?: string;
  sizeGiB?: number;
  deviceConfig?: Record<string, string>;
  otherConfig?: Record<string, string>;
  /** Becomes pool.default_SR. Default: the first shared SR. */
  default?: boolean;
}

export type VmPowerState = 'Running' | 'Halted' | 'Suspended' | 'Paused';

export interface VmDescription {
  name: string;
  memoryGiB?: number;
  memoryMiB?: number;
  vcpus?: number;
  /** Default Running. */
  powerState?: VmPowerState;
  /** Resident host; required unless the VM is Halted. */
  host?: string;
  /** Preferred host (VM.affinity). */
  affinity?: string;
  disks?: Array<{ sr: string; sizeGiB: number; name?: string }>;
  haRestartPriority?: '' | 'restart' | 'best-effort';
  otherConfig?: Record<string, string>;
  tags?: string[];
}

export class PoolDescriptionError extends Error {
  constructor(
    readonly where: string,
    readonly reason: string,
  ) {
    super(`${where}: ${reason}`);
    this.name = 'PoolDescriptionError';
  }
}

export async function readPoolDescriptionFile(file: string): Promise<PoolDescription> {
  const text = await readFile(file, 'utf8');
  let data: unknown;
  try {
    data = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new PoolDescriptionError(file, error instanceof Error ? error.message : String(error));
  }
  return validatePoolDescription(data, file);
}

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks shape and cross references (master, SR owners, VM hosts and disks) and returns the description. */
export function validatePoolDescription(data: unknown, where = 'pool description'): PoolDescription {
  const fail = (path: string, reason: string): never => {
    throw new PoolDescriptionError(where, `${path}: ${reason}`);
  };
  if (!isObj(data)) return fail('(root)', 'expected a mapping');
  const pool = data['pool'];
  if (!isObj(pool) || typeof pool['name'] !== 'string' || typeof pool['master'] !== 'string') {
    return fail('pool', 'needs name and master');
  }
  const hosts = data['hosts'];
  if (!Array.isArray(hosts) || hosts.length === 0) return fail('hosts', 'needs at least one host');
  const hostNames = new Set<string>();
  hosts.forEach((h: unknown, i) => {
    if (!isObj(h) || typeof h['name'] !== 'string' || typeof h['address'] !== 'string') {
      fail(`hosts[${i}]`, 'needs name and address');
      return;
    }
    if (hostNames.has(h['name'])) fail(`hosts[${i}]`, `duplicate host ${h['name']}`);
    hostNames.add(h['name']);
    for (const key of ['memoryGiB', 'cpus', 'dom0MemoryMiB'] as const) {
      if (h[key] !== undefined && !(typeof h[key] === 'number' && h[key] > 0)) fail(`hosts[${i}].${key}`, 'must be a positive number');
    }
    if (h['version'] !== undefined && typeof h['version'] !== 'string') fail(`hosts[${i}].version`, 'must be a string such as 7.1.0');
    if (h['hotfixes'] !== undefined && !isStringList(h['hotfixes'])) fail(`hosts[${i}].hotfixes`, 'must be a list of names');
  });
  if (!hostNames.has(pool['master'])) fail('pool.master', `no host named ${pool['master']}`);

  const srs = data['srs'] ?? [];
  if (!Array.isArray(srs)) return fail('srs', 'expected a list');
  const srNames = new Set<string>();
  srs.forEach((s: unknown, i) => {
    if (!isObj(s) || typeof s['name'] !== 'string') {
      fail(`srs[${i}]`, 'needs a name');
      return;
    }
    if (srNames.has(s['name'])) fail(`srs[${i}]`, `duplicate SR ${s['name']}`);
    srNames.add(s['name']);
    if (s['host'] !== undefined && !hostNames.has(String(s['host']))) fail(`srs[${i}].host`, `no host named ${String(s['host'])}`);
    if (s['shared'] === false && s['host'] === undefined) fail(`srs[${i}]`, 'a local SR needs its host');
    if (s['shared'] === true && s['host'] !== undefined) fail(`srs[${i}]`, 'a shared SR has no owner host');
  });

  const vms = data['vms'] ?? [];
  if (!Array.isArray(vms)) return fail('vms', 'expected a list');
  vms.forEach((v: unknown, i) => {
    if (!isObj(v) || typeof v['name'] !== 'string') {
      fail(`vms[${i}]`, 'needs a name');
      return;
    }
    const state = v['powerState'] ?? 'Running';
    if (!['Running', 'Halted', 'Suspended', 'Paused'].includes(String(state))) fail(`vms[${i}].powerState`, `unknown state ${String(state)}`);
    if (state !== 'Halted' && state !== 'Suspended' && v['host'] === undefined) fail(`vms[${i}]`, `a ${String(state)} VM needs its host`);
    for (const key of ['host', 'affinity'] as const) {
      if (v[key] !== undefined && !hostNames.has(String(v[key]))) fail(`vms[${i}].${key}`, `no host named ${String(v[key])}`);
    }
    const disks = v['disks'] ?? [];
    if (!Array.isArray(disks)) return fail(`vms[${i}].disks`, 'expected a list');
    disks.forEach((d: unknown, j) => {
      if (!isObj(d) || typeof d['sr'] !== 'string' || typeof d['sizeGiB'] !== 'number') fail(`vms[${i}].disks[${j}]`, 'needs sr and sizeGiB');
      else if (!srNames.has(d['sr'])) fail(`vms[${i}].disks[${j}].sr`, `no SR named ${d['sr']}`);
    });
  });
  return data as unknown as PoolDescription;
}

function isStringList(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}
