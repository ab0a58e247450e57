/**
 * The part of a pool's XAPI database the rolling-upgrade planner reads, as plain records keyed by
 * class and OpaqueRef (the shape of `<class>.get_all_records` on the wire). The controller fills it
 * from the live pool, the CLI's `--from-dump` rehearsal from a `xe pool-dump-database` file loaded
 * by the simulator, tests from generated pools. Everything here is pure.
 */
export type XapiRecordLike = Record<string, unknown>;
export type RecordsByRef = Record<string, XapiRecordLike>;

/** Classes read: pool, host, host_metrics, VM, VBD, VDI, SR, PBD (pool_update/host_patch/pool_patch for hotfix names). */
export const plannerClasses = ['pool', 'host', 'host_metrics', 'VM', 'VBD', 'VDI', 'SR', 'PBD', 'pool_update', 'host_patch', 'pool_patch'] as const;
export type PlannerClass = (typeof plannerClasses)[number];
export type PoolRecords = Partial<Record<PlannerClass, RecordsByRef>>;

const NULL_REF = 'OpaqueRef:NULL';

export interface SnapshotHost {
  ref: string;
  uuid: string;
  name: string;
  address: string;
  isMaster: boolean;
  enabled: boolean;
  live: boolean;
  /** What XAPI compares for "no migration to an older host": platform_version, else product_version. */
  version: string;
  productVersion: string;
  productBrand: string;
  buildNumber: string;
  /** Applied hotfixes/updates by name, sorted. */
  hotfixes: string[];
  /** host_metrics.memory_total minus host.memory_overhead: what guests (and dom0) may use. */
  guestMemoryBytes: number;
  /** host_metrics.memory_free as last reported (informative; placement uses XAPI's own accounting). */
  reportedFreeBytes: number;
  /** SRs with a currently attached PBD on this host. */
  attachedSrs: Set<string>;
  otherConfig: Record<string, string>;
}

export interface SnapshotVm {
  ref: string;
  uuid: string;
  name: string;
  powerState: string;
  residentOn: string;
  isControlDomain: boolean;
  /** Memory XAPI reserves for the VM on a host: static_max (or dynamic_max, see policy) + overhead. */
  requiredBytes: number;
  /** Memory copied by a live migration: dynamic_max (the guest's current ceiling). */
  migrateBytes: number;
  /** Whether memory_overhead was absent (old dumps) and estimated. */
  overheadEstimated: boolean;
  /** SRs holding the VM's attached disks (empty CD drives excluded). */
  srs: string[];
  /** pool_migrate blocked by blocked_operations, or another operation running. */
  migrateBlockedReason: string | undefined;
  otherConfig: Record<string, string>;
}

export interface SnapshotSr {
  ref: string;
  name: string;
  type: string;
  shared: boolean;
  contentType: string;
}

export interface PoolSnapshot {
  poolRef: string;
  poolName: string;
  masterRef: string;
  haEnabled: boolean;
  wlbEnabled: boolean;
  otherConfig: Record<string, string>;
  hosts: SnapshotHost[];
  vms: SnapshotVm[];
  srs: Map<string, SnapshotSr>;
}

export type MemoryPolicy = 'static_max' | 'dynamic_max';

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const num = (v: unknown): number => (typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : 0);
const bool = (v: unknown): boolean => v === true || v === 'true';
const strMap = (v: unknown): Record<string, string> => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return {};
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) out[k] = typeof x === 'string' ? x : String(x);
  return out;
};
const strList = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/** XAPI's overhead for a guest when the record lacks it (dumps before memory_overhead existed): about 1%, at least 1 MiB. */
export function estimateOverheadBytes(staticMaxBytes: number): number {
  return Math.max(2 ** 20, Math.ceil(staticMaxBytes / 100 / 2 ** 20) * 2 ** 20);
}

/** Dotted numeric comparison ("7.1.2" < "7.10.0"); non-numeric parts compare as strings. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/);
  const pb = b.split(/[.-]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? '0';
    const y = pb[i] ?? '0';
    const nx = Number(x);
    const ny = Number(y);
    const c = Number.isFinite(nx) && Number.isFinite(ny) ? nx - ny : x.localeCompare(y);
    if (c !== 0) return c < 0 ? -1 : 1;
  }
  return 0;
}

export function hostVersion(softwareVersion: Record<string, string>): string {
  return softwareVersion['platform_version'] ?? softwareVersion['product_version'] ?? '';
}

function hotfixNames(records: PoolRecords, hostRef: string, host: XapiRecordLike): string[] {
  const names = new Set<string>();
  // XenServer 7.1+: host.updates -> pool_update.name_label
  for (const u of strList(host['updates'])) {
    const name = str(records.pool_update?.[u]?.['name_label']);
    if (name !== '') names.add(name);
  }
  // Before: host_patch rows point at pool_patch
  for (const hp of Object.values(records.host_patch ?? {})) {
    if (hp['host'] !== hostRef) continue;
    const name = str(records.pool_patch?.[str(hp['pool_patch'])]?.['name_label']) || str(hp['name_label']);
    if (name !== '') names.add(name);
  }
  return [...names].sort();
}

/** Builds the planner's view of a pool from its records; pure and deterministic (sorted by name). */
export function snapshotFromRecords(records: PoolRecords, options: { memoryPolicy?: MemoryPolicy } = {}): PoolSnapshot {
  const policy = options.memoryPolicy ?? 'static_max';
  const pools = Object.entries(records.pool ?? {});
  if (pools.length !== 1) throw new Error(`expected one pool record, found ${pools.length}`);
  const [poolRef, pool] = pools[0] as [string, XapiRecordLike];
  const masterRef = str(pool['master']);

  const attached = new Map<string, Set<string>>();
  for (const pbd of Object.values(records.PBD ?? {})) {
    if (!bool(pbd['currently_attached'])) continue;
    const host = str(pbd['host']);
    const set = attached.get(host) ?? new Set<string>();
    set.add(str(pbd['SR']));
    attached.set(host, set);
  }

  const hosts: SnapshotHost[] = Object.entries(records.host ?? {}).map(([ref, h]) => {
    const sv = strMap(h['software_version']);
    const metrics = records.host_metrics?.[str(h['metrics'])];
    const total = num(metrics?.['memory_total']);
    return {
      ref,
      uuid: str(h['uuid']),
      name: str(h['name_label']) || str(h['hostname']) || ref,
      address: str(h['address']),
      isMaster: ref === masterRef,
      enabled: bool(h['enabled']),
      live: metrics === undefined ? false : bool(metrics['live']),
      version: hostVersion(sv),
      productVersion: sv['product_version'] ?? '',
      productBrand: sv['product_brand'] ?? '',
      buildNumber: sv['build_number'] ?? '',
      hotfixes: hotfixNames(records, ref, h),
      guestMemoryBytes: Math.max(0, total - num(h['memory_overhead'])),
      reportedFreeBytes: num(metrics?.['memory_free']),
      attachedSrs: attached.get(ref) ?? new Set<string>(),
      otherConfig: strMap(h['other_config']),
    };
  });
  hosts.sort((a, b) => a.name.localeCompare(b.name) || a.uuid.localeCompare(b.uuid));

  const srs = new Map<string, SnapshotSr>();
  for (const [ref, s] of Object.entries(records.SR ?? {})) {
    srs.set(ref, { ref, name: str(s['name_label']), type: str(s['type']), shared: bool(s['shared']), contentType: str(s['content_type']) });
  }

  const vbdsByVm = new Map<string, XapiRecordLike[]>();
  for (const vbd of Object.values(records.VBD ?? {})) {
    const vm = str(vbd['VM']);
    const list = vbdsByVm.get(vm) ?? [];
    list.push(vbd);
    vbdsByVm.set(vm, list);
  }

  const vms: SnapshotVm[] = [];
  for (const [ref, v] of Object.entries(records.VM ?? {})) {
    if (bool(v['is_a_template']) || bool(v['is_a_snapshot'])) continue;
    const staticMax = num(v['memory_static_max']);
    const dynamicMax = num(v['memory_dynamic_max']) || staticMax;
    const overheadKnown = v['memory_overhead'] !== undefined;
    const overhead = overheadKnown ? num(v['memory_overhead']) : estimateOverheadBytes(staticMax);
    const diskSrs = new Set<string>();
    for (const vbd of vbdsByVm.get(ref) ?? []) {
      if (bool(vbd['empty'])) continue;
      const vdi = str(vbd['VDI']);
      if (vdi === '' || vdi === NULL_REF) continue;
      const sr = str(records.VDI?.[vdi]?.['SR']);
      if (sr !== '' && sr !== NULL_REF) diskSrs.add(sr);
    }
    const blocked = strMap(v['blocked_operations']);
    const current = strMap(v['current_operations']);
    const migrateBlockedReason =
      blocked['pool_migrate'] !== undefined || blocked['migrate_send'] !== undefined
        ? 'OPERATION_BLOCKED'
        : Object.keys(current).length > 0
          ? 'OTHER_OPERATION_IN_PROGRESS'
          : undefined;
    vms.push({
      ref,
      uuid: str(v['uuid']),
      name: str(v['name_label']) || ref,
      powerState: str(v['power_state']),
      residentOn: str(v['resident_on']) || NULL_REF,
      isControlDomain: bool(v['is_control_domain']),
      requiredBytes: (policy === 'static_max' ? staticMax : dynamicMax) + overhead,
      migrateBytes: dynamicMax,
      overheadEstimated: !overheadKnown,
      srs: [...diskSrs].sort(),
      migrateBlockedReason,
      otherConfig: strMap(v['other_config']),
    });
  }
  vms.sort((a, b) => a.name.localeCompare(b.name) || a.uuid.localeCompare(b.uuid));

  return {
    poolRef,
    poolName: str(pool['name_label']),
    masterRef,
    haEnabled: bool(pool['ha_enabled']),
    wlbEnabled: bool(pool['wlb_enabled']),
    otherConfig: strMap(pool['other_config']),
    hosts,
    vms,
    srs,
  };
}

/** A VM that lives on a host and runs there (the control domain never moves). */
export function isRunningGuest(vm: SnapshotVm): boolean {
  return !vm.isControlDomain && (vm.powerState === 'Running' || vm.powerState === 'Paused') && vm.residentOn !== NULL_REF;
}
