import { inputFromRaw, type PoolInput, type XapiAnswers } from '@xsctl/controller/pool-model/index';

export type XapiRecordLike = Record<string, unknown>;
export type RecordsByRef = Record<string, XapiRecordLike>;
/** Raw records by class and ref, as `<class>.get_all_records` returns them (the simulator loads these). */
export type RawPool = Record<string, RecordsByRef>;

/**
 * Generated pools for tests and benchmarks: XAPI-shaped records (the fields the planner, the
 * simulator's upgrade operations and the workflow read), deterministic for a given seed. A VM on a
 * local SR is not agile, as on a real pool.
 */
export interface GeneratePoolOptions {
  name?: string;
  hosts: number;
  vms: number;
  seed?: number;
  /** Host RAM in GiB (each host), or a list cycled over the hosts. Default 256. */
  hostMemoryGiB?: number | readonly number[];
  /** VM sizes to draw from, in GiB. Default a mix of small and large guests. */
  vmSizesGiB?: readonly number[];
  /** Fraction of VMs whose disk is on their host's local SR. Default 0. */
  localFraction?: number;
  /** Fraction of the hosts' guest memory to fill. Default 0.6; VMs are placed where they fit. */
  fill?: number;
  version?: string;
  brand?: string;
  hotfixes?: readonly string[];
  haEnabled?: boolean;
  wlbEnabled?: boolean;
  /** Anti-affinity VM groups of this many VMs each (every n-th VM, round robin). Default none. */
  antiAffinityGroups?: { groups: number; size: number };
}

const GiB = 2 ** 30;
const MiB = 2 ** 20;

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function hex(rand: () => number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += Math.floor(rand() * 16).toString(16);
  return s;
}

/** XenServer 7's dom0 sizing: 1 GiB + 5% of RAM, at most 8 GiB. */
export function dom0MemoryBytes(hostBytes: number): number {
  return Math.min(8 * GiB, GiB + Math.ceil((hostBytes * 0.05) / MiB) * MiB);
}

export function guestOverheadBytes(staticMax: number, vcpus: number): number {
  // Roughly what XAPI computes for HVM guests: shadow memory (about 1/128 of RAM) plus 1 MiB per vCPU.
  return Math.ceil(staticMax / 128 / MiB) * MiB + vcpus * MiB;
}

export function generatePoolRecords(options: GeneratePoolOptions): RawPool {
  const rand = mulberry32(options.seed ?? 1);
  const uuid = (): string => `${hex(rand, 8)}-${hex(rand, 4)}-${hex(rand, 4)}-${hex(rand, 4)}-${hex(rand, 12)}`;
  const ref = (): string => `OpaqueRef:${uuid()}`;
  const version = options.version ?? '8.2.1';
  const brand = options.brand ?? 'XCP-ng';
  const out: RawPool = { pool: {}, host: {}, host_metrics: {}, VM: {}, VM_metrics: {}, VBD: {}, VDI: {}, SR: {}, PBD: {}, pool_update: {}, VM_group: {} };
  const hostRefs: string[] = [];
  const localSr = new Map<string, string>();
  const sharedSr = ref();
  out['SR']![sharedSr] = { uuid: uuid(), name_label: 'shared iSCSI', type: 'lvmoiscsi', shared: true, content_type: '', other_config: {}, sm_config: {}, physical_size: 20 * 1024 * GiB };

  const updates: string[] = [];
  for (const name of options.hotfixes ?? []) {
    const u = ref();
    out['pool_update']![u] = { uuid: uuid(), name_label: name, version: '1.0', other_config: {} };
    updates.push(u);
  }

  const memories = options.hostMemoryGiB ?? 256;
  for (let i = 0; i < options.hosts; i++) {
    const hostRef = ref();
    hostRefs.push(hostRef);
    const metrics = ref();
    const gib = typeof memories === 'number' ? memories : (memories[i % memories.length] ?? 256);
    const total = gib * GiB;
    const name = `host${String(i + 1).padStart(2, '0')}`;
    const dom0Ref = ref();
    out['host']![hostRef] = {
      uuid: uuid(),
      name_label: name,
      hostname: name,
      address: `10.0.0.${i + 10}`,
      enabled: true,
      software_version: { product_version: version, platform_version: version, product_brand: brand, build_number: 'release/gen', xapi: '1.249.41', xapi_build: '1.249.41', xen: '4.13.5-9.40' },
      memory_overhead: Math.ceil(total / 256 / MiB) * MiB,
      metrics,
      control_domain: dom0Ref,
      updates,
      other_config: { boot_time: '1700000000.', agent_start_time: '1700000040.' },
      current_operations: {},
      allowed_operations: ['evacuate', 'reboot', 'shutdown', 'provision'],
    };
    out['host_metrics']![metrics] = { uuid: uuid(), memory_total: total, memory_free: total, live: true, last_updated: '20240101T00:00:00Z', other_config: {} };
    const dom0 = dom0MemoryBytes(total);
    out['VM']![dom0Ref] = vmRecord(uuid(), `Control domain on host: ${name}`, dom0, dom0, 0, hostRef, true, 4, ref());
    const local = ref();
    localSr.set(hostRef, local);
    out['SR']![local] = { uuid: uuid(), name_label: 'Local storage', type: 'lvm', shared: false, content_type: 'user', other_config: {}, sm_config: {}, physical_size: 2 * 1024 * GiB };
    out['PBD']![ref()] = { uuid: uuid(), host: hostRef, SR: local, currently_attached: true, device_config: { device: '/dev/sda3' }, other_config: {} };
    out['PBD']![ref()] = { uuid: uuid(), host: hostRef, SR: sharedSr, currently_attached: true, device_config: { target: '10.0.1.1' }, other_config: { multipathed: 'true', 'mpath-count': '4' } };
  }
  const masterRef = hostRefs[0] ?? '';
  out['pool']![ref()] = {
    uuid: uuid(),
    name_label: options.name ?? `gen-${options.hosts}x${options.vms}`,
    master: masterRef,
    ha_enabled: options.haEnabled ?? false,
    ha_configuration: {},
    ha_statefiles: [],
    ha_host_failures_to_tolerate: options.haEnabled === true ? 1 : 0,
    wlb_enabled: options.wlbEnabled ?? false,
    other_config: {},
    default_SR: sharedSr,
  };

  // Fill hosts up to `fill` of their guest memory with VMs of mixed sizes.
  const sizes = options.vmSizesGiB ?? [1, 2, 2, 4, 4, 8, 16, 32];
  const free = new Map<string, number>();
  for (const h of hostRefs) {
    const host = out['host']![h] as XapiRecordLike;
    const metrics = out['host_metrics']![String(host['metrics'])] as XapiRecordLike;
    const dom0 = out['VM']![String(host['control_domain'])] as XapiRecordLike;
    const guest = Number(metrics['memory_total']) - Number(host['memory_overhead']) - Number(dom0['memory_static_max']) - Number(dom0['memory_overhead']);
    free.set(h, guest * (options.fill ?? 0.6));
  }
  for (let i = 0; i < options.vms; i++) {
    const gib = sizes[Math.floor(rand() * sizes.length)] ?? 2;
    const staticMax = gib * GiB;
    const vcpus = Math.max(1, Math.min(16, gib / 2));
    const overhead = guestOverheadBytes(staticMax, vcpus);
    const isLocal = rand() < (options.localFraction ?? 0);
    // Round-robin start, first host with room.
    let host: string | undefined;
    for (let k = 0; k < hostRefs.length; k++) {
      const candidate = hostRefs[(i + k) % hostRefs.length] as string;
      if ((free.get(candidate) ?? 0) >= staticMax + overhead) {
        host = candidate;
        break;
      }
    }
    const vmRef = ref();
    const name = `vm${String(i + 1).padStart(3, '0')}-${gib}g${isLocal ? '-local' : ''}`;
    const running = host !== undefined;
    if (host !== undefined) free.set(host, (free.get(host) ?? 0) - staticMax - overhead);
    out['VM']![vmRef] = vmRecord(uuid(), name, staticMax, staticMax, overhead, host ?? 'OpaqueRef:NULL', false, vcpus, ref(), running ? 'Running' : 'Halted');
    const vdi = ref();
    const sr = isLocal && host !== undefined ? (localSr.get(host) as string) : sharedSr;
    out['VDI']![vdi] = { uuid: uuid(), name_label: `${name} disk`, SR: sr, virtual_size: 20 * GiB, type: 'user', sharable: false, read_only: false, other_config: {} };
    out['VBD']![ref()] = { uuid: uuid(), VM: vmRef, VDI: vdi, type: 'Disk', empty: false, userdevice: '0', currently_attached: running, mode: 'RW', bootable: true, other_config: {} };
  }
  if (options.antiAffinityGroups !== undefined) {
    const guests = Object.entries(out['VM']!).filter(([, v]) => v['is_control_domain'] !== true && v['power_state'] === 'Running');
    for (let g = 0; g < options.antiAffinityGroups.groups; g++) {
      const ref = `OpaqueRef:group-${g + 1}`;
      const members = guests.filter((_, i) => i % options.antiAffinityGroups!.groups === g).slice(0, options.antiAffinityGroups.size);
      out['VM_group']![ref] = { uuid: uuid(), name_label: `anti-affinity-${g + 1}`, placement: 'anti_affinity', VMs: members.map(([r]) => r) };
      for (const [, vm] of members) vm['groups'] = [ref];
    }
  }
  // host_metrics.memory_free as XAPI would report it after the guests started.
  for (const h of hostRefs) {
    const host = out['host']![h] as XapiRecordLike;
    const metrics = out['host_metrics']![String(host['metrics'])] as XapiRecordLike;
    let used = Number(host['memory_overhead']);
    for (const vm of Object.values(out['VM']!)) if (vm['resident_on'] === h) used += Number(vm['memory_dynamic_max']) + Number(vm['memory_overhead']);
    metrics['memory_free'] = Number(metrics['memory_total']) - used;
  }
  return out;
}

/** A generated pool as the pool model's input (XAPI reported nothing in the way unless `answers` says). */
export function generatePool(options: GeneratePoolOptions, answers?: XapiAnswers): PoolInput {
  return inputFromRaw(generatePoolRecords(options), answers);
}

function vmRecord(uuid: string, name: string, staticMax: number, dynamicMax: number, overhead: number, residentOn: string, isControlDomain: boolean, vcpus: number, metrics: string, powerState = 'Running'): XapiRecordLike {
  return {
    uuid,
    name_label: name,
    name_description: '',
    power_state: powerState,
    resident_on: residentOn,
    affinity: 'OpaqueRef:NULL',
    is_control_domain: isControlDomain,
    is_a_template: false,
    is_a_snapshot: false,
    memory_static_max: staticMax,
    memory_dynamic_max: dynamicMax,
    memory_dynamic_min: dynamicMax,
    memory_static_min: Math.min(dynamicMax, 512 * MiB),
    memory_overhead: overhead,
    memory_target: dynamicMax,
    VCPUs_max: vcpus,
    VCPUs_at_startup: vcpus,
    other_config: {},
    groups: [],
    blocked_operations: {},
    current_operations: {},
    allowed_operations: powerState === 'Running' ? ['pool_migrate', 'clean_shutdown', 'hard_shutdown', 'clean_reboot'] : ['start', 'start_on'],
    ha_restart_priority: '',
    ha_always_run: false,
    domid: isControlDomain ? 0 : powerState === 'Running' ? 1 : -1,
    metrics,
  };
}
