import { isNullRef } from '../xapi/ref.js';
import type { StringMap } from '../xapi/xapi-records.js';
import { requiredBytes, type MemoryPolicy } from './memory.js';
import type { PoolInput, XapiReason } from './pool-input.js';
import { capacityCodes, haCodes, immobileCodes, placementCodes } from './xapi-reasons.js';
import { displayVersion, rpuVersionKeys, sameOn, type SoftwareVersion } from './versions.js';

/**
 * The one typed model of a pool that the prechecks, the planner, the workflow's re-checks and the
 * `--from-dump` rehearsal share, built from a PoolInput. Pure and deterministic (sorted by name).
 */
export interface ModelHost {
  ref: string;
  uuid: string;
  name: string;
  address: string;
  isMaster: boolean;
  enabled: boolean;
  live: boolean;
  software: SoftwareVersion;
  /** product_version, else platform_version: what admins call the version. */
  version: string;
  productVersion: string;
  productBrand: string;
  buildNumber: string;
  /** Applied hotfixes/updates by name, sorted. */
  hotfixes: string[];
  /** XenServer 8 / XCP-ng 8.3 host.pending_guidances. */
  pendingGuidances: string[];
  totalBytes: number;
  /** host_metrics.memory_total - host.memory_overhead: what VMs (dom0 included) may use. */
  guestMemoryBytes: number;
  /** SRs with a currently attached PBD here. */
  attachedSrs: ReadonlySet<string>;
  otherConfig: StringMap;
}

export interface ModelVm {
  ref: string;
  uuid: string;
  name: string;
  powerState: string;
  residentOn: string;
  isControlDomain: boolean;
  staticMaxBytes: number;
  dynamicMinBytes: number;
  dynamicMaxBytes: number;
  overheadBytes: number;
  /** What the VM takes on a host under the model's memory policy. */
  requiredBytes: number;
  /** What a live migration copies: the memory the guest has now (memory_target), else dynamic_max. */
  migrateBytes: number;
  /** SRs of its disks (empty drives excluded). */
  srs: string[];
  /** Anti-affinity VM groups it belongs to. */
  antiAffinityGroups: string[];
  /** XAPI says it cannot be live-migrated at all: [code, ...params]. */
  immobile: XapiReason | undefined;
  /**
   * XAPI says it can run only on some hosts: the hosts where VM.assert_can_boot_here passed (a
   * memory refusal counts as passed: memory is the plan's business), and the reason for the others.
   */
  restrictedTo: { hosts: ReadonlySet<string>; reason: XapiReason } | undefined;
  haProtected: boolean;
  otherConfig: StringMap;
}

export interface ModelSr {
  ref: string;
  name: string;
  type: string;
  shared: boolean;
  contentType: string;
}

export interface AntiAffinityGroup {
  ref: string;
  name: string;
  vms: string[];
}

export interface PoolModel {
  poolRef: string;
  poolUuid: string;
  poolName: string;
  masterRef: string;
  haEnabled: boolean;
  haStatefileSrs: string[];
  haConfiguration: StringMap;
  wlbEnabled: boolean;
  defaultSr: string;
  otherConfig: StringMap;
  /** XAPI's pool.other_config:rolling_upgrade_in_progress. */
  rollingUpgradeFlag: boolean;
  /** What that flag should say: a host differs from the master on platform_version or xapi. */
  rollingUpgradeInProgress: boolean;
  memoryPolicy: MemoryPolicy;
  hosts: ModelHost[];
  vms: ModelVm[];
  srs: ReadonlyMap<string, ModelSr>;
  antiAffinityGroups: ReadonlyMap<string, AntiAffinityGroup>;
  /** Evacuation answers that could not be read, per host name. */
  unanswered: ReadonlyMap<string, string>;
}

export class PoolModelError extends Error {}

export function hostOf(model: PoolModel, ref: string): ModelHost | undefined {
  return model.hosts.find((h) => h.ref === ref);
}

/** A guest that occupies a host: running or paused, resident somewhere. */
export function isResidentGuest(vm: ModelVm): boolean {
  return !vm.isControlDomain && (vm.powerState === 'Running' || vm.powerState === 'Paused') && vm.residentOn !== '' && !isNullRef(vm.residentOn);
}

export function buildPoolModel(input: PoolInput, options: { memoryPolicy?: MemoryPolicy } = {}): PoolModel {
  const policy = options.memoryPolicy ?? 'xapi';
  const { records, answers } = input;
  const pools = [...records.pool.entries()];
  if (pools.length !== 1) throw new PoolModelError(`expected one pool record, found ${pools.length}`);
  const [poolRef, pool] = pools[0]!;

  const attached = new Map<string, Set<string>>();
  for (const pbd of records.PBD.values()) {
    if (!pbd.currently_attached) continue;
    const set = attached.get(pbd.host) ?? new Set<string>();
    set.add(pbd.SR);
    attached.set(pbd.host, set);
  }

  const hotfixes = (hostRef: string, updates: readonly string[]): string[] => {
    const names = new Set<string>();
    // XenServer 7.1+: host.updates -> pool_update.name_label; before: host_patch -> pool_patch.
    for (const u of updates) {
      const name = records.pool_update.get(u as never)?.name_label ?? '';
      if (name !== '') names.add(name);
    }
    for (const hp of records.host_patch.values()) {
      if (hp.host !== hostRef) continue;
      const name = records.pool_patch.get(hp.pool_patch)?.name_label || hp.name_label;
      if (name !== '') names.add(name);
    }
    return [...names].sort();
  };

  const hosts: ModelHost[] = [...records.host.entries()].map(([ref, h]) => {
    const metrics = records.host_metrics.get(h.metrics);
    const total = metrics?.memory_total ?? 0;
    return {
      ref,
      uuid: h.uuid,
      name: h.name_label || h.hostname || ref,
      address: h.address,
      isMaster: ref === pool.master,
      enabled: h.enabled,
      live: metrics?.live ?? false,
      software: h.software_version,
      version: displayVersion(h.software_version),
      productVersion: h.software_version['product_version'] ?? '',
      productBrand: h.software_version['product_brand'] ?? '',
      buildNumber: h.software_version['build_number'] ?? '',
      hotfixes: hotfixes(ref, h.updates),
      pendingGuidances: [...h.pending_guidances].sort(),
      totalBytes: total,
      guestMemoryBytes: Math.max(0, total - h.memory_overhead),
      attachedSrs: attached.get(ref) ?? new Set<string>(),
      otherConfig: h.other_config,
    };
  });
  hosts.sort((a, b) => a.name.localeCompare(b.name) || a.uuid.localeCompare(b.uuid));
  const master = hosts.find((h) => h.isMaster);

  const srs = new Map<string, ModelSr>();
  for (const [ref, s] of records.SR) srs.set(ref, { ref, name: s.name_label, type: s.type, shared: s.shared, contentType: s.content_type });

  const diskSrs = new Map<string, Set<string>>();
  for (const vbd of records.VBD.values()) {
    if (vbd.empty || isNullRef(vbd.VDI)) continue;
    const sr = records.VDI.get(vbd.VDI)?.SR;
    if (sr === undefined || isNullRef(sr)) continue;
    const set = diskSrs.get(vbd.VM) ?? new Set<string>();
    set.add(sr);
    diskSrs.set(vbd.VM, set);
  }

  const groups = new Map<string, AntiAffinityGroup>();
  for (const [ref, g] of records.VM_group) if (g.placement === 'anti_affinity') groups.set(ref, { ref, name: g.name_label, vms: [] });

  // XAPI's answers: the reason reported for each VM by the evacuation check of its own host.
  const reasonOf = new Map<string, XapiReason>();
  const unanswered = new Map<string, string>();
  for (const [hostRef, answer] of answers.evacuation) {
    if ('error' in answer && typeof answer.error === 'string') {
      unanswered.set(hosts.find((h) => h.ref === hostRef)?.name ?? hostRef, answer.error);
      continue;
    }
    for (const [vm, reason] of Object.entries(answer as Readonly<Record<string, XapiReason>>)) reasonOf.set(vm, reason);
  }

  const vms: ModelVm[] = [];
  for (const [ref, v] of records.VM) {
    if (v.is_a_template || v.is_a_snapshot) continue;
    // memory_overhead as XAPI keeps it (it computes the field itself; the simulator fills it for dumps that predate it).
    const memory = { staticMax: v.memory_static_max, dynamicMin: v.memory_dynamic_min, dynamicMax: v.memory_dynamic_max || v.memory_static_max, overhead: v.memory_overhead };
    const reason = reasonOf.get(ref);
    const code = reason?.[0] ?? '';
    let restrictedTo: ModelVm['restrictedTo'];
    if (reason !== undefined && (placementCodes.has(code) || haCodes.has(code))) {
      const perHost = answers.bootHere.get(ref) ?? new Map<string, XapiReason>();
      const ok = new Set<string>();
      let why: XapiReason | undefined;
      for (const [h, r] of perHost) {
        if (r.length === 0 || capacityCodes.has(r[0] ?? '')) ok.add(h);
        else why ??= r;
      }
      // HA's answer says nothing about the VM: no host refused it, so it may go anywhere.
      if (haCodes.has(code) && why === undefined) restrictedTo = undefined;
      else restrictedTo = { hosts: ok, reason: haCodes.has(code) ? (why ?? reason) : reason };
    }
    const vmGroups = v.groups.filter((g) => groups.has(g));
    for (const g of vmGroups) groups.get(g)!.vms.push(ref);
    vms.push({
      ref,
      uuid: v.uuid,
      name: v.name_label || ref,
      powerState: v.power_state,
      residentOn: v.resident_on,
      isControlDomain: v.is_control_domain,
      staticMaxBytes: memory.staticMax,
      dynamicMinBytes: memory.dynamicMin,
      dynamicMaxBytes: memory.dynamicMax,
      overheadBytes: memory.overhead,
      requiredBytes: requiredBytes(memory, policy),
      migrateBytes: v.memory_target || memory.dynamicMax,
      srs: [...(diskSrs.get(ref) ?? [])].sort(),
      antiAffinityGroups: vmGroups,
      immobile: reason !== undefined && immobileCodes.has(code) ? reason : undefined,
      restrictedTo,
      haProtected: v.ha_restart_priority === 'restart',
      otherConfig: v.other_config,
    });
  }
  vms.sort((a, b) => a.name.localeCompare(b.name) || a.uuid.localeCompare(b.uuid));

  const statefileSrs = pool.ha_statefiles.map((vdi) => records.VDI.get(vdi as never)?.SR ?? '').filter((sr) => sr !== '' && !isNullRef(sr));
  return {
    poolRef,
    poolUuid: pool.uuid,
    poolName: pool.name_label,
    masterRef: pool.master,
    haEnabled: pool.ha_enabled,
    haStatefileSrs: statefileSrs,
    haConfiguration: pool.ha_configuration,
    wlbEnabled: pool.wlb_enabled,
    defaultSr: pool.default_SR,
    otherConfig: pool.other_config,
    rollingUpgradeFlag: 'rolling_upgrade_in_progress' in pool.other_config,
    rollingUpgradeInProgress: master !== undefined && hosts.some((h) => !sameOn(h.software, master.software, rpuVersionKeys)),
    memoryPolicy: policy,
    hosts,
    vms,
    srs,
    antiAffinityGroups: groups,
    unanswered,
  };
}
