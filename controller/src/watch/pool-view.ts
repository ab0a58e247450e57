import type { PoolRecords } from './pool-records.js';
import type { PoolWatchState } from './pool-watcher.js';

/** What the agent said the last time it was asked (AgentProber). */
export interface AgentProbe {
  state: 'ok' | 'unreachable' | 'rejected';
  checkedAt: string;
  error: string;
  hostname: string;
  productVersion: string;
  buildNumber: string;
  poolRole: string;
  agentVersion: string;
  uptimeSeconds: number;
  /** notAfter of the certificate the agent presented ('' when not probed yet). */
  certificateNotAfter: string;
}

export interface PathCount {
  scsiId: string;
  active: number;
  total: number;
}

export interface HostRow {
  ref: string;
  uuid: string;
  name: string;
  hostname: string;
  address: string;
  isMaster: boolean;
  enabled: boolean;
  live: boolean;
  brand: string;
  version: string;
  build: string;
  residentVms: number;
  memoryTotalBytes: number;
  memoryFreeBytes: number;
  /** Names of the updates/hotfixes applied on this host. */
  hotfixes: string[];
  /** Hotfixes some other host of the pool has and this one lacks. */
  missingHotfixes: string[];
  agent: AgentProbe | undefined;
  /** Differences between XAPI's and the agent's view. */
  mismatches: string[];
}

export interface SrHostPaths {
  host: string;
  attached: boolean;
  multipathed: boolean;
  /** One entry per LUN, from PBD other_config `mpath-<SCSIid>`. */
  paths: PathCount[];
}

export interface SrRow {
  uuid: string;
  name: string;
  type: string;
  shared: boolean;
  sizeBytes: number;
  usedBytes: number;
  hosts: SrHostPaths[];
}

export interface PoolView {
  name: string;
  connected: boolean;
  error: string;
  updatedAt: string;
  label: string;
  master: string;
  haEnabled: boolean;
  wlbEnabled: boolean;
  hosts: HostRow[];
  vmsRunning: number;
  vmsTotal: number;
  /** Product version -> host count; one entry means the pool is uniform. */
  versions: Record<string, number>;
  hotfixesUniform: boolean;
  srs: SrRow[];
}

/**
 * XAPI's count of paths for a multipathed LUN: PBD other_config `mpath-<SCSIid>` = "[active, total]"
 * (sometimes "[1, 2, -1, -1]" or with an L suffix). Same pattern as XenCenter's
 * PBD.ParsePathCounts (xenserver/xenadmin XenModel/XenAPI-Extensions/PBD.cs).
 */
export function parsePathCount(value: string): { active: number; total: number } | undefined {
  const m = /\[(\d+)L?,\s(\d+)L?/.exec(value);
  if (m === null) return undefined;
  return { active: Number(m[1]), total: Number(m[2]) };
}

function hotfixesOf(records: PoolRecords, hostRef: string): string[] {
  const names = new Set<string>();
  const host = records.host.get(hostRef);
  for (const u of host?.updates ?? []) {
    const rec = records.pool_update.get(u);
    if (rec !== undefined) names.add(rec.name_label);
  }
  for (const [, u] of records.pool_update) if (u.hosts.includes(hostRef as never)) names.add(u.name_label);
  return [...names].sort();
}

function mismatches(h: { hostname: string; version: string; isMaster: boolean }, agent: AgentProbe | undefined): string[] {
  if (agent === undefined || agent.state !== 'ok') return [];
  const out: string[] = [];
  if (agent.productVersion !== h.version) out.push(`version: XAPI ${h.version}, agent ${agent.productVersion}`);
  if (agent.hostname !== h.hostname) out.push(`hostname: XAPI ${h.hostname}, agent ${agent.hostname}`);
  if ((agent.poolRole === 'master') !== h.isMaster) out.push(`role: XAPI ${h.isMaster ? 'master' : 'slave'}, pool.conf ${agent.poolRole}`);
  return out;
}

/** The dashboard's view of one pool, derived from the watched records and the agent probes. Pure. */
export function poolView(state: PoolWatchState, agents: ReadonlyMap<string, AgentProbe>): PoolView {
  const r = state.records;
  const pool = [...r.pool.values()][0];
  const masterRef = pool?.master as string | undefined;
  const hosts: HostRow[] = [];
  for (const [ref, h] of r.host) {
    const m = r.host_metrics.get(h.metrics);
    const agent = agents.get(h.uuid);
    const row = {
      ref,
      uuid: h.uuid,
      name: h.name_label,
      hostname: h.hostname,
      address: h.address,
      isMaster: ref === masterRef,
      enabled: h.enabled,
      live: m?.live ?? false,
      brand: h.software_version['product_brand'] ?? '',
      version: h.software_version['product_version'] ?? '',
      build: h.software_version['build_number'] ?? '',
      residentVms: h.resident_VMs.filter((vm) => r.VM.get(vm)?.is_control_domain === false).length,
      memoryTotalBytes: m?.memory_total ?? 0,
      memoryFreeBytes: m?.memory_free ?? 0,
      hotfixes: hotfixesOf(r, ref),
      missingHotfixes: [] as string[],
      agent,
      mismatches: [] as string[],
    };
    row.mismatches = mismatches(row, agent);
    hosts.push(row);
  }
  const all = new Set(hosts.flatMap((h) => h.hotfixes));
  for (const h of hosts) h.missingHotfixes = [...all].filter((x) => !h.hotfixes.includes(x)).sort();
  hosts.sort((a, b) => Number(b.isMaster) - Number(a.isMaster) || a.name.localeCompare(b.name));
  const versions: Record<string, number> = {};
  for (const h of hosts) versions[h.version] = (versions[h.version] ?? 0) + 1;
  const hostName = (ref: string): string => r.host.get(ref)?.name_label ?? ref;
  const srs: SrRow[] = [];
  for (const [, sr] of r.SR) {
    if (sr.content_type === 'iso' || sr.type === 'udev') continue;
    const srHosts: SrHostPaths[] = sr.PBDs.flatMap((p) => {
      const pbd = r.PBD.get(p);
      if (pbd === undefined) return [];
      const paths = Object.entries(pbd.other_config)
        .filter(([k]) => k.startsWith('mpath-'))
        .flatMap(([k, v]) => {
          const c = parsePathCount(v);
          return c === undefined ? [] : [{ scsiId: k.slice('mpath-'.length), ...c }];
        });
      return [{ host: hostName(pbd.host), attached: pbd.currently_attached, multipathed: pbd.other_config['multipathed'] === 'true', paths }];
    });
    srs.push({ uuid: sr.uuid, name: sr.name_label, type: sr.type, shared: sr.shared, sizeBytes: sr.physical_size, usedBytes: sr.physical_utilisation, hosts: srHosts.sort((a, b) => a.host.localeCompare(b.host)) });
  }
  srs.sort((a, b) => a.name.localeCompare(b.name));
  let vmsRunning = 0;
  let vmsTotal = 0;
  for (const [, vm] of r.VM) {
    if (vm.is_a_template || vm.is_a_snapshot || vm.is_control_domain) continue;
    vmsTotal++;
    if (vm.power_state === 'Running') vmsRunning++;
  }
  return {
    name: state.pool,
    connected: state.connected,
    error: state.error,
    updatedAt: state.updatedAt,
    label: pool?.name_label ?? '',
    master: masterRef === undefined ? '' : hostName(masterRef),
    haEnabled: pool?.ha_enabled ?? false,
    wlbEnabled: pool?.wlb_enabled ?? false,
    hosts,
    vmsRunning,
    vmsTotal,
    versions,
    hotfixesUniform: hosts.every((h) => h.missingHotfixes.length === 0),
    srs,
  };
}
