import { PrecheckSeverity } from '@xsctl/proto/gen/xsctl/agent/v1/precheck';
import type {
  PoolPrecheckCdInDrive,
  PoolPrecheckCapacity,
  PoolPrecheckEvacuationVm,
  PoolPrecheckFinding,
  PoolPrecheckHostHotfixes,
} from '@xsctl/proto/gen/xsctl/controller/v1/precheck';
import { planRollingUpgrade } from '../placement/plan.js';
import { PlanInputError, type RollingPlan } from '../placement/plan-types.js';
import { buildPoolModel, isResidentGuest, type ModelHost, type PoolModel } from '../pool-model/pool-model.js';
import type { PoolInput } from '../pool-model/pool-input.js';
import { isNullRef } from '../xapi/ref.js';

/**
 * The pool-wide prechecks, from what XAPI says (read-only) and what the agents read on each host.
 * Pure: the service gathers the input, these functions judge it. Check ids: hosts, ha, wlb,
 * versions, hotfix-uniformity, evacuation, local-storage, cds, capacity, metadata-backup, agent.
 */

const { PRECHECK_SEVERITY_INFO: INFO, PRECHECK_SEVERITY_WARNING: WARNING, PRECHECK_SEVERITY_BLOCKER: BLOCKER } = PrecheckSeverity;
const GiB = 2 ** 30;

export interface MetadataBackupInfo {
  /** Newest dump the controller took for this pool. */
  latest?: { file: string; takenAt: Date };
  /** pool.metadata_VDIs: the database replicated to shared SRs. */
  metadataVdis: string[];
}

export interface PoolPrecheckInput {
  /** The pool's records and XAPI's evacuation answers (pool-model/read-pool-input.ts). */
  pool: PoolInput;
  /** pool.wlb_url: where WLB is (or was) configured. */
  wlbUrl: string;
  /** host ref -> hotfix names the agent read from /var/update/applied; absent when the agent was not reached. */
  agentHotfixes: ReadonlyMap<string, readonly string[]>;
  /** host ref -> why the agent could not be asked. */
  agentErrors: ReadonlyMap<string, string>;
  metadata: MetadataBackupInfo;
  /** host ref -> the agent's partition-layout reading of its boot disk (absent when the agent did not answer). */
  agentLayouts?: ReadonlyMap<string, BootDiskLayout>;
  /** Host names whose local SR on the boot disk the admin accepts to lose (`--accept-local-sr-loss`). */
  acceptLocalSrLoss?: ReadonlySet<string>;
  now: Date;
  /** A metadata backup older than this is not recent. */
  maxBackupAgeHours: number;
}

type Details = PoolPrecheckFinding['details'];

function poolFinding(id: string, severity: PrecheckSeverity, summary: string, evidence: readonly string[], fix: string, host = '', details: Details = undefined): PoolPrecheckFinding {
  return { id, severity, host, summary, evidence: [...evidence], fix, details };
}

const gib = (bytes: number): string => `${(bytes / GiB).toFixed(1)} GiB`;

// ------------------------------------------------------------------ hosts, HA, WLB, versions

export function hostStateFindings(model: PoolModel): PoolPrecheckFinding[] {
  const out: PoolPrecheckFinding[] = [];
  for (const h of model.hosts) {
    const problems = [
      ...(h.live ? [] : ['not live (host_metrics.live=false)']),
      ...(h.enabled ? [] : ['disabled']),
      ...(h.otherConfig['MAINTENANCE_MODE'] === 'true' ? ['in maintenance mode'] : []),
    ];
    if (problems.length === 0) continue;
    out.push(
      poolFinding(
        'hosts',
        BLOCKER,
        `${h.name} is ${problems.join(', ')}`,
        [`${h.name} (${h.address}): live=${h.live} enabled=${h.enabled} MAINTENANCE_MODE=${h.otherConfig['MAINTENANCE_MODE'] ?? 'unset'}`],
        h.live ? `bring ${h.name} out of maintenance and enable it (\`xe host-enable uuid=${h.uuid}\`)` : `bring ${h.name} back up (or eject it from the pool) before upgrading`,
        h.name,
      ),
    );
  }
  if (out.length === 0) out.push(poolFinding('hosts', INFO, `all ${model.hosts.length} hosts are live and enabled, none in maintenance`, model.hosts.map((h) => `${h.name}: live, enabled`), ''));
  return out;
}

export function haWlbFindings(model: PoolModel, wlbUrl: string): PoolPrecheckFinding[] {
  return [
    model.haEnabled
      ? poolFinding('ha', BLOCKER, 'HA is enabled', ['pool.ha_enabled=true'], `disable HA before the upgrade: \`xe pool-ha-disable\` (enable it again when every host is done)`)
      : poolFinding('ha', INFO, 'HA is off', ['pool.ha_enabled=false'], ''),
    model.wlbEnabled
      ? poolFinding('wlb', BLOCKER, 'Workload Balancing is enabled', [`pool.wlb_enabled=true${wlbUrl ? `, wlb_url=${wlbUrl}` : ''}`], `turn WLB off for the upgrade: \`xe pool-param-set uuid=${model.poolUuid} wlb-enabled=false\``)
      : poolFinding('wlb', INFO, `WLB is off${wlbUrl ? ` (configured at ${wlbUrl})` : ''}`, ['pool.wlb_enabled=false'], ''),
  ];
}

export function versionFinding(model: PoolModel): PoolPrecheckFinding {
  const label = (h: ModelHost): string => `${h.productBrand} ${h.productVersion} build ${h.buildNumber}`.trim();
  const distinct = new Set(model.hosts.map(label));
  const evidence = model.hosts.map((h) => `${h.name}: ${label(h)}`);
  if (distinct.size <= 1) return poolFinding('versions', INFO, `every host runs ${[...distinct][0] ?? 'the same version'}`, evidence, '');
  return poolFinding(
    'versions',
    BLOCKER,
    `hosts run different versions: ${[...distinct].join(' / ')}`,
    evidence,
    'bring every host to the same version and build first (a pool in a mixed state cannot take new hosts and XAPI limits migrations)',
  );
}

// ------------------------------------------------------------------ hotfixes

export function hotfixComparison(model: PoolModel, agentHotfixes: ReadonlyMap<string, readonly string[]>): { hosts: PoolPrecheckHostHotfixes[]; common: string[] } {
  const effective = new Map<string, Set<string>>();
  for (const h of model.hosts) effective.set(h.ref, new Set([...h.hotfixes, ...(agentHotfixes.get(h.ref) ?? [])]));
  const union = new Set([...effective.values()].flatMap((s) => [...s]));
  const common = [...union].filter((name) => [...effective.values()].every((s) => s.has(name))).sort();
  const hosts = model.hosts.map((h): PoolPrecheckHostHotfixes => {
    const mine = effective.get(h.ref) ?? new Set<string>();
    const agent = agentHotfixes.get(h.ref);
    const xapi = new Set(h.hotfixes);
    return {
      host: h.name,
      productVersion: h.productVersion,
      buildNumber: h.buildNumber,
      xapiHotfixes: [...h.hotfixes].sort(),
      agentHotfixes: agent === undefined ? [] : [...agent].sort(),
      agentRead: agent !== undefined,
      missing: [...union].filter((n) => !mine.has(n)).sort(),
      extra: [...mine].filter((n) => !common.includes(n)).sort(),
      xapiAgentMismatch: agent === undefined ? [] : [...new Set([...xapi, ...agent])].filter((n) => xapi.has(n) !== agent.includes(n)).sort(),
    };
  });
  return { hosts, common };
}

export function hotfixFinding(model: PoolModel, agentHotfixes: ReadonlyMap<string, readonly string[]>): PoolPrecheckFinding {
  const cmp = hotfixComparison(model, agentHotfixes);
  const details: Details = { $case: 'hotfixComparison', value: cmp };
  const evidence = cmp.hosts.map(
    (h) =>
      `${h.host}: ${[...new Set([...h.xapiHotfixes, ...h.agentHotfixes])].sort().join(', ') || 'none'}${h.agentRead ? '' : ' (XAPI only: agent not reached)'}${h.missing.length ? `; missing ${h.missing.join(', ')}` : ''}${h.xapiAgentMismatch.length ? `; XAPI and /var/update/applied disagree on ${h.xapiAgentMismatch.join(', ')}` : ''}`,
  );
  const differing = cmp.hosts.filter((h) => h.missing.length > 0);
  if (differing.length > 0) {
    return poolFinding(
      'hotfix-uniformity',
      BLOCKER,
      `hotfix lists differ: ${differing.map((h) => `${h.host} lacks ${h.missing.join(', ')}`).join('; ')}`,
      evidence,
      'apply the missing hotfixes so every host has the identical list (`xe update-apply` / `xe patch-apply`); a superseded hotfix that is no longer available is the one case where the report edits /var/update/applied by hand — last resort only',
      '',
      details,
    );
  }
  const mismatched = cmp.hosts.filter((h) => h.xapiAgentMismatch.length > 0);
  if (mismatched.length > 0) {
    return poolFinding(
      'hotfix-uniformity',
      WARNING,
      `XAPI's hotfix list and the hosts' /var/update/applied disagree on ${mismatched.map((h) => h.host).join(', ')}`,
      evidence,
      'restart the toolstack on those hosts (`xe-toolstack-restart`): XAPI re-reads /var/update/applied when it starts',
      '',
      details,
    );
  }
  return poolFinding('hotfix-uniformity', INFO, `every host has the same hotfixes (${cmp.common.length})`, evidence, '', '', details);
}

// ------------------------------------------------------------------ evacuation, local storage, CDs

interface SrView {
  ref: string;
  name: string;
  shared: boolean;
  iso: boolean;
  tools: boolean;
}

type Records = PoolInput['records'];

function srView(records: Records, ref: string): SrView | undefined {
  const sr = records.SR.get(ref as never);
  if (sr === undefined) return undefined;
  return {
    ref,
    name: sr.name_label || ref,
    shared: sr.shared,
    iso: sr.content_type === 'iso' || sr.type === 'iso',
    tools: sr.other_config['xenserver_tools_sr'] === 'true',
  };
}

/** Every VBD of a VM with its VDI and SR. */
function vmDrives(records: Records, vmRef: string): Array<{ type: string; empty: boolean; vdiName: string; sr: SrView | undefined }> {
  return [...records.VBD.values()]
    .filter((vbd) => vbd.VM === vmRef)
    .map((vbd) => {
      const vdi = isNullRef(vbd.VDI) ? undefined : records.VDI.get(vbd.VDI);
      return { type: vbd.type, empty: vbd.empty || vdi === undefined, vdiName: vdi?.name_label ?? '', sr: vdi === undefined ? undefined : srView(records, vdi.SR) };
    });
}

/** Non-shared SRs holding a VM's disks (CD drives excluded). */
export function localDiskSrs(records: Records, vmRef: string): SrView[] {
  const out = new Map<string, SrView>();
  for (const d of vmDrives(records, vmRef)) if (d.type !== 'CD' && !d.empty && d.sr !== undefined && !d.sr.shared && !d.sr.iso) out.set(d.sr.ref, d.sr);
  return [...out.values()];
}

/** What an XAPI evacuation reason means for the admin, and whether it blocks. */
export function explainEvacuationReason(records: Records, code: string, params: readonly string[]): { text: string; blocker: boolean } {
  switch (code) {
    case 'VM_REQUIRES_SR': {
      const sr = srView(records, params[1] ?? '');
      if (sr?.iso) return { text: `an ISO from ${sr.name}${sr.shared ? '' : ' (local)'} is in its CD drive: eject it`, blocker: true };
      if (sr !== undefined && !sr.shared) return { text: `its disks are on local storage (${sr.name}): Storage XenMotion them to shared storage, or export the VM`, blocker: true };
      return { text: `SR ${sr?.name ?? params[1] ?? '?'} is not plugged on every other host: plug its PBDs`, blocker: true };
    }
    case 'VM_REQUIRES_NETWORK':
      return { text: `network ${params[1] ?? ''} does not exist on every other host`, blocker: true };
    case 'VM_HAS_PCI_ATTACHED':
      return { text: 'a PCI device is passed through: it cannot be live-migrated; shut it down while its host is upgraded', blocker: true };
    case 'VM_HAS_VGPU':
    case 'VM_REQUIRES_GPU':
      return { text: 'it has a vGPU/GPU: it cannot be live-migrated here; shut it down while its host is upgraded', blocker: true };
    case 'VM_HAS_SRIOV_VIF':
      return { text: 'it has an SR-IOV network interface: it cannot be live-migrated; shut it down while its host is upgraded', blocker: true };
    case 'VM_MISSING_PV_DRIVERS':
    case 'VM_OLD_PV_DRIVERS':
    case 'VM_LACKS_FEATURE':
    case 'VM_LACKS_FEATURE_SUSPEND':
      return { text: 'its PV drivers (XenServer Tools) are missing or too old to migrate: install/update the tools, or shut it down', blocker: true };
    case 'HOST_NOT_ENOUGH_FREE_MEMORY':
      return { text: 'no other host has room for it right now (see the capacity check)', blocker: false };
    case 'NO_HOSTS_AVAILABLE':
      return { text: 'no other enabled host of the same or a newer version', blocker: true };
    case 'OPERATION_BLOCKED':
      return { text: 'pool_migrate is in its blocked_operations', blocker: true };
    case 'OTHER_OPERATION_IN_PROGRESS':
      return { text: 'another operation is running on it', blocker: true };
    default:
      return { text: `XAPI says ${code}(${params.join(', ')})`, blocker: true };
  }
}

export function evacuationFindings(input: PoolInput, model: PoolModel): PoolPrecheckFinding[] {
  const records = input.records;
  const evacuation = input.answers.evacuation;
  const out: PoolPrecheckFinding[] = [];
  const vmName = (ref: string): string => records.VM.get(ref as never)?.name_label || ref;
  for (const h of model.hosts) {
    const result = evacuation.get(h.ref);
    if (result !== undefined && 'error' in result && typeof result.error === 'string') {
      out.push(poolFinding('evacuation', WARNING, `could not ask XAPI which VMs keep ${h.name} from evacuating`, [String(result.error)], 'run `xe host-get-vms-which-prevent-evacuation uuid=…` by hand', h.name));
      continue;
    }
    const reasons = (result ?? {}) as Readonly<Record<string, readonly string[]>>;
    const vms: PoolPrecheckEvacuationVm[] = [];
    let blocker = false;
    for (const [vmRef, [code = 'UNKNOWN', ...params]] of Object.entries(reasons).sort((a, b) => vmName(a[0]).localeCompare(vmName(b[0])))) {
      const why = explainEvacuationReason(records, code, params);
      blocker ||= why.blocker;
      vms.push({ vm: vmName(vmRef), vmUuid: records.VM.get(vmRef as never)?.uuid ?? '', code, params: [...params], explanation: why.text, localSrs: localDiskSrs(records, vmRef).map((s) => s.name) });
    }
    // A running VM with a disk on local storage cannot leave, whatever reason XAPI gave first.
    for (const vm of model.vms.filter((v) => isResidentGuest(v) && v.residentOn === h.ref)) {
      const local = localDiskSrs(records, vm.ref);
      if (local.length === 0 || vms.some((v) => v.vmUuid === vm.uuid && v.localSrs.length > 0 && v.code === 'VM_REQUIRES_SR')) continue;
      const existing = vms.find((v) => v.vmUuid === vm.uuid);
      if (existing !== undefined) {
        existing.explanation += `; and its disks are on local storage (${local.map((s) => s.name).join(', ')})`;
      } else {
        vms.push({ vm: vm.name, vmUuid: vm.uuid, code: 'LOCAL_STORAGE', params: local.map((s) => s.ref), explanation: `its disks are on local storage (${local.map((s) => s.name).join(', ')}): Storage XenMotion them to shared storage, or export the VM`, localSrs: local.map((s) => s.name) });
      }
      blocker = true;
    }
    if (vms.length === 0) continue;
    out.push(
      poolFinding(
        'evacuation',
        blocker ? BLOCKER : WARNING,
        `${vms.length} VM(s) keep ${h.name} from evacuating: ${vms.map((v) => `${v.vm} (${v.code})`).join(', ')}`,
        vms.map((v) => `${v.vm}: ${v.code}${v.params.length ? `(${v.params.join(', ')})` : ''} — ${v.explanation}`),
        'move, fix or shut down each VM listed; then `xe host-get-vms-which-prevent-evacuation uuid=' + h.uuid + '` returns nothing',
        h.name,
        { $case: 'evacuation', value: { host: h.name, vms } },
      ),
    );
  }
  if (out.length === 0) out.push(poolFinding('evacuation', INFO, 'every host can be evacuated now (XAPI reports no VM in the way)', [], ''));
  return out;
}

/** Halted VMs with disks on local storage: lost if a disk is repartitioned (safe2upgrade), and they cannot start elsewhere. */
export function localStorageFinding(records: Records, model: PoolModel): PoolPrecheckFinding {
  const halted = model.vms.filter((v) => !v.isControlDomain && !isResidentGuest(v)).flatMap((v) => {
    const local = localDiskSrs(records, v.ref);
    return local.length === 0 ? [] : [`${v.name} (${v.powerState}): ${local.map((s) => s.name).join(', ')}`];
  });
  if (halted.length === 0) return poolFinding('local-storage', INFO, 'no halted VM keeps disks on local storage', [], '');
  return poolFinding(
    'local-storage',
    WARNING,
    `${halted.length} halted VM(s) keep disks on local storage`,
    halted,
    'move them to shared storage or export them: a change to the new partition layout (safe2upgrade) wipes the local SR on the system disk',
  );
}

export interface BootDiskLayout {
  bootDisk: string;
  safe2upgrade: boolean;
  localSrOnBootDisk: boolean;
}

/** The whole disk of a partition device (sda3 -> sda, nvme0n1p3 -> nvme0n1, by-id ...-part3 -> by-id ...). */
function diskOf(device: string): string {
  const byId = /^(.*)-part\d+$/.exec(device);
  if (byId !== null) return byId[1] ?? device;
  const p = /^(.*\d)p\d+$/.exec(device);
  if (p !== null) return p[1] ?? device;
  return device.replace(/(\D)\d+$/, '$1');
}

/**
 * The field report: "Any local partition on or partly contained on the system disk to be upgraded
 * is going to get destroyed" when /var/preserve/safe2upgrade asks for the new layout. A host with
 * the marker and a local SR on its boot disk that still holds VDIs would lose them: a blocker,
 * unless the admin names the host in --accept-local-sr-loss. Which SR sits on the boot disk comes
 * from its PBD's device-config:device; one whose disk cannot be told is reported as a warning.
 */
export function safe2upgradeFindings(records: Records, model: PoolModel, layouts: ReadonlyMap<string, BootDiskLayout>, accept: ReadonlySet<string>): PoolPrecheckFinding[] {
  const out: PoolPrecheckFinding[] = [];
  for (const h of model.hosts) {
    const layout = layouts.get(h.ref);
    if (layout === undefined || !layout.safe2upgrade || !layout.localSrOnBootDisk) continue;
    const local = [...records.PBD.values()]
      .filter((pbd) => pbd.host === h.ref)
      .flatMap((pbd) => {
        const srRef = pbd.SR;
        const sr = records.SR.get(srRef);
        if (sr === undefined || sr.shared || !['lvm', 'ext', 'lvhd', 'ext4', 'xfs'].includes(sr.type)) return [];
        const device = pbd.device_config['device'] ?? '';
        // Snapshots and base copies are data too: every VDI on the SR is lost.
        const vdis = [...records.VDI.values()].filter((v) => v.SR === srRef);
        const onBoot = device === '' ? null : device.split(',').some((d) => diskOf(d.trim()) === layout.bootDisk);
        return [{ name: sr.name_label || srRef, device, vdis: vdis.map((v) => v.name_label || v.uuid), onBoot }];
      })
      .filter((x) => x.vdis.length > 0 && x.onBoot !== false);
    if (local.length === 0) continue;
    const sure = local.filter((x) => x.onBoot === true);
    const accepted = accept.has(h.name);
    const total = local.reduce((n, x) => n + x.vdis.length, 0);
    const evidence = [
      `/var/preserve/safe2upgrade present on ${h.name}; local SR on boot disk ${layout.bootDisk} (agent)`,
      ...local.map((x) => `SR ${x.name} (device ${x.device || 'unknown'}${x.onBoot === null ? ', disk unknown' : ''}): ${x.vdis.length} VDI(s): ${x.vdis.slice(0, 10).join(', ')}${x.vdis.length > 10 ? ', ...' : ''}`),
      ...(accepted ? [`accepted by the admin: --accept-local-sr-loss ${h.name}`] : []),
    ];
    const severity = accepted || sure.length === 0 ? WARNING : BLOCKER;
    out.push(
      poolFinding(
        'safe2upgrade-local-sr',
        severity,
        accepted
          ? `${h.name}: safe2upgrade will destroy the local SR with ${total} VDI(s) (accepted with --accept-local-sr-loss)`
          : `${h.name}: /var/preserve/safe2upgrade would destroy ${total} VDI(s) on the local SR of the boot disk (field report: "any local partition on ... the system disk ... is going to get destroyed")`,
        evidence,
        `move or export every VDI on ${local.map((x) => x.name).join(', ')} first (Storage XenMotion or export), or \`rm /var/preserve/safe2upgrade\` on ${h.name} to keep the old layout and the SR; to upgrade anyway and lose them: --accept-local-sr-loss ${h.name}`,
        h.name,
      ),
    );
  }
  return out;
}

export function cdFinding(records: Records, model: PoolModel): PoolPrecheckFinding {
  const hostName = new Map(model.hosts.map((h) => [h.ref, h.name]));
  const drives: PoolPrecheckCdInDrive[] = [];
  for (const vm of model.vms.filter((v) => isResidentGuest(v))) {
    for (const d of vmDrives(records, vm.ref)) {
      if (d.type !== 'CD' || d.empty || d.sr === undefined) continue;
      const tools = d.sr.tools || /^(xs|guest)-tools.*\.iso$/i.test(d.vdiName);
      if (!tools && d.sr.shared) continue;
      drives.push({ vm: vm.name, host: hostName.get(vm.residentOn) ?? '', iso: d.vdiName, sr: d.sr.name, toolsIso: tools, localSr: !d.sr.shared });
    }
  }
  const details: Details = { $case: 'cds', value: { drives } };
  if (drives.length === 0) return poolFinding('cds', INFO, 'no tools ISO or local ISO in any running VM', [], '', '', details);
  const local = drives.filter((d) => d.localSr);
  return poolFinding(
    'cds',
    local.length > 0 ? BLOCKER : WARNING,
    `${drives.length} CD drive(s) to eject: ${drives.map((d) => `${d.vm} (${d.iso}${d.toolsIso ? ', tools' : ''}${d.localSr ? ', local SR' : ''})`).join(', ')}`,
    drives.map((d) => `${d.vm} on ${d.host}: ${d.iso} from ${d.sr}${d.toolsIso ? ' (XenServer Tools ISO)' : ''}${d.localSr ? ' (local SR: the VM cannot migrate)' : ''}`),
    'eject them (`xe vm-cd-eject vm=NAME`); the tools ISO changes with the upgrade, and an ISO on a local SR pins the VM to its host',
    '',
    details,
  );
}

// ------------------------------------------------------------------ capacity

/**
 * The capacity verdict is the planner's own (placement/plan.ts) on the same pool model, so
 * `xsctl precheck` and `xsctl upgrade --plan` cannot disagree: "feasible" is the default plan's
 * capacity proof (one host down at a time, XAPI's memory accounting, room made for large VMs);
 * "upgraded hosts only" is whether that plan needs no VM to land on a host upgraded later
 * (only the master's VMs, which have no upgraded host to go to, may).
 */
/** HOST_NOT_ENOUGH_FREE_MEMORY carries [needed, available] bytes; other codes' parameters are refs (VM_REQUIRES_SR [vm, sr]). */
function memoryParam(b: { code: string; params: readonly string[] }, i: number): number {
  const n = b.code === 'HOST_NOT_ENOUGH_FREE_MEMORY' ? Number(b.params[i]) : 0;
  return Number.isSafeInteger(n) ? n : 0;
}

export function capacityDetails(plan: RollingPlan): PoolPrecheckCapacity {
  const shortfalls = plan.blockers.filter((b) => b.code === 'HOST_NOT_ENOUGH_FREE_MEMORY' || b.code === 'NO_HOSTS_AVAILABLE' || b.code === 'VM_REQUIRES_SR');
  const fits = shortfalls.every((b) => b.code === 'VM_REQUIRES_SR');
  return {
    // VMs that cannot leave their host at all are the evacuation check's business, not capacity's.
    feasible: fits,
    feasibleUpgradedOnly: fits && plan.migrations.every((m) => m.final || m.wave === 1),
    order: plan.hosts.filter((h) => h.action === 'upgrade').map((h) => h.name),
    ordersTried: plan.search.ordersEvaluated,
    steps: plan.steps.map((s) => ({
      step: s.step,
      host: s.host,
      moves: plan.migrations.filter((m) => m.wave === s.wave && (m.fromRef === s.hostRef || (m.room && plan.steps.find((x) => x.wave === s.wave)?.hostRef === s.hostRef))).map((m) => ({ vm: m.vm, from: m.from, to: m.to, requiredBytes: m.requiredBytes })),
      shortfalls: shortfalls.filter((b) => b.host === s.host).map((b) => ({ vm: b.vm, host: b.host, code: b.code, requiredBytes: memoryParam(b, 0), bestFreeBytes: memoryParam(b, 1) })),
      freeAfter: Object.entries(s.freeAfterEvacuation).map(([host, freeBytes]) => ({ host, freeBytes })),
    })),
  };
}

export function capacityFinding(model: PoolModel): PoolPrecheckFinding {
  let plan: RollingPlan;
  try {
    plan = planRollingUpgrade(model);
  } catch (err) {
    if (!(err instanceof PlanInputError)) throw err;
    return poolFinding('capacity', INFO, `no capacity to check: ${err.message}`, [], '');
  }
  const details: Details = { $case: 'capacity', value: capacityDetails(plan) };
  const order = details.value.order.join(' → ');
  const short = plan.blockers.filter((b) => b.code === 'HOST_NOT_ENOUGH_FREE_MEMORY' || b.code === 'NO_HOSTS_AVAILABLE');
  const evidence = plan.steps.map((s) => {
    const mine = short.filter((b) => b.host === s.host);
    return `step ${s.step}, ${s.host} out: ${s.migrations.length} VM(s) move${mine.length ? `, ${mine.length} with nowhere to go (${mine.map((x) => `${x.vm} needs ${gib(Number(x.params[0] ?? 0))}, best ${gib(Number(x.params[1] ?? 0))}`).join(', ')})` : ''}`;
  });
  if (plan.totals.roomMoves > 0) evidence.push(`${plan.totals.roomMoves} smaller VM(s) move out of the way of larger ones`);
  if (short.length > 0) {
    const first = plan.steps.find((s) => short.some((b) => b.host === s.host)) ?? plan.steps[0];
    return poolFinding(
      'capacity',
      BLOCKER,
      `not enough room for the whole upgrade: at step ${first?.step ?? 0} (${first?.host ?? ''} out) ${short.filter((b) => b.host === first?.host).length} running VM(s) have nowhere to go`,
      evidence,
      'shut down or move some VMs off the pool, add memory or a host, or lower VM memory, until every step fits (the master goes first, one host out at a time)',
      '',
      details,
    );
  }
  if (!details.value.feasibleUpgradedOnly) {
    return poolFinding(
      'capacity',
      WARNING,
      `the sequence ${order} fits only if VMs may land on hosts not yet upgraded (they then move twice); with upgraded hosts only, it does not`,
      evidence,
      'free memory on the master before starting (move some of its VMs to other hosts), as the report advises',
      '',
      details,
    );
  }
  return poolFinding('capacity', INFO, `every running VM has somewhere to go at every step of ${order}`, evidence, '', '', details);
}

// ------------------------------------------------------------------ metadata backup

export function metadataBackupFinding(info: MetadataBackupInfo, now: Date, maxAgeHours: number, poolName: string): PoolPrecheckFinding {
  const ageHours = info.latest === undefined ? -1 : (now.getTime() - info.latest.takenAt.getTime()) / 3_600_000;
  const details: Details = {
    $case: 'metadataBackup',
    value: { latestFile: info.latest?.file ?? '', latestAt: info.latest?.takenAt.toISOString() ?? '', ageHours: Math.max(0, ageHours), metadataVdis: [...info.metadataVdis] },
  };
  const evidence = [
    info.latest === undefined ? 'no pool database dump taken by xsctl' : `latest dump ${info.latest.file} (${ageHours.toFixed(1)} h old)`,
    info.metadataVdis.length > 0 ? `pool database replicated to ${info.metadataVdis.length} metadata VDI(s) on shared storage` : 'no pool database replica on shared storage (pool.metadata_VDIs empty)',
  ];
  if (info.latest !== undefined && ageHours <= maxAgeHours) return poolFinding('metadata-backup', INFO, `metadata backup taken ${ageHours.toFixed(1)} h ago`, evidence, '', '', details);
  if (info.metadataVdis.length > 0) return poolFinding('metadata-backup', INFO, 'the pool database is replicated to shared storage', evidence, `take a fresh dump too: \`xsctl precheck --pool ${poolName} --backup-metadata\``, '', details);
  return poolFinding(
    'metadata-backup',
    BLOCKER,
    info.latest === undefined ? 'no metadata backup' : `the last metadata backup is ${ageHours.toFixed(0)} h old`,
    evidence,
    `take one: \`xsctl precheck --pool ${poolName} --backup-metadata\` (the pool database, as \`xe pool-dump-database\` writes it), and keep a copy off the pool`,
    '',
    details,
  );
}

// ------------------------------------------------------------------ all of it

export function agentFindings(model: PoolModel, agentErrors: ReadonlyMap<string, string>): PoolPrecheckFinding[] {
  return model.hosts
    .filter((h) => agentErrors.has(h.ref))
    .map((h) => poolFinding('agent', WARNING, `the host checks did not run on ${h.name}: its agent did not answer`, [agentErrors.get(h.ref) ?? ''], `start xsctl-agent on ${h.name}, or run \`xsctl-agent precheck\` there by hand`, h.name));
}

export function poolPrecheckFindings(input: PoolPrecheckInput, poolName: string): PoolPrecheckFinding[] {
  const model = buildPoolModel(input.pool);
  const records = input.pool.records;
  return [
    ...hostStateFindings(model),
    ...haWlbFindings(model, input.wlbUrl),
    versionFinding(model),
    hotfixFinding(model, input.agentHotfixes),
    ...evacuationFindings(input.pool, model),
    localStorageFinding(records, model),
    ...safe2upgradeFindings(records, model, input.agentLayouts ?? new Map(), input.acceptLocalSrLoss ?? new Set()),
    cdFinding(records, model),
    capacityFinding(model),
    metadataBackupFinding(input.metadata, input.now, input.maxBackupAgeHours, poolName),
    ...agentFindings(model, input.agentErrors),
  ];
}
