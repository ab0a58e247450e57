import { inputFromRaw, type PoolInput, type XapiAnswers } from '@xsctl/controller/pool-model/index';

/**
 * Small hand-made pools for tests: every number in them is chosen so a test can compute by hand
 * what a correct plan must do. Hosts have no memory overhead and a 1 GiB dom0; VMs have no
 * memory overhead and dynamic_min = dynamic_max = static_max unless given.
 */
export interface HostSpec {
  name: string;
  gib: number;
  version?: string;
  enabled?: boolean;
  live?: boolean;
  /** software_version overrides (xen, xapi_build, ...). */
  software?: Record<string, string>;
}

export interface VmSpec {
  name: string;
  host: string;
  gib: number;
  /** dynamic_min when ballooning is configured. */
  minGib?: number;
  /** Disk on the host's local SR. */
  local?: boolean;
  powerState?: 'Running' | 'Paused' | 'Halted';
  groups?: string[];
}

const GiB = 2 ** 30;

export function smallPool(hosts: readonly HostSpec[], vms: readonly VmSpec[], answers?: XapiAnswers, groups: readonly string[] = []): PoolInput {
  const r: Record<string, Record<string, Record<string, unknown>>> = { pool: {}, host: {}, host_metrics: {}, VM: {}, VBD: {}, VDI: {}, SR: {}, PBD: {}, VM_group: {} };
  r['SR']!['OpaqueRef:sr-shared'] = { name_label: 'shared', shared: true, type: 'lvmoiscsi', content_type: '' };
  for (const g of groups) r['VM_group']![`OpaqueRef:g-${g}`] = { uuid: `uuid-g-${g}`, name_label: g, placement: 'anti_affinity', VMs: vms.filter((v) => v.groups?.includes(g)).map((v) => `OpaqueRef:v-${v.name}`) };
  for (const h of hosts) {
    const version = h.version ?? '8.2.1';
    r['host']![`OpaqueRef:h-${h.name}`] = {
      uuid: `uuid-${h.name}`,
      name_label: h.name,
      enabled: h.enabled ?? true,
      metrics: `OpaqueRef:m-${h.name}`,
      software_version: { product_version: version, platform_version: version, xen: '4.13.5-9.40', xapi_build: '1.249.41', xapi: '1.249', ...h.software },
      memory_overhead: 0,
    };
    r['host_metrics']![`OpaqueRef:m-${h.name}`] = { live: h.live ?? true, memory_total: h.gib * GiB, memory_free: 0 };
    r['VM']![`OpaqueRef:dom0-${h.name}`] = { uuid: `uuid-dom0-${h.name}`, name_label: `Control domain on host: ${h.name}`, is_control_domain: true, power_state: 'Running', resident_on: `OpaqueRef:h-${h.name}`, memory_static_max: GiB, memory_dynamic_max: GiB, memory_dynamic_min: GiB, memory_overhead: 0 };
    r['SR']![`OpaqueRef:sr-local-${h.name}`] = { name_label: `Local storage ${h.name}`, shared: false, type: 'lvm', content_type: 'user' };
    r['PBD']![`OpaqueRef:pbd-shared-${h.name}`] = { host: `OpaqueRef:h-${h.name}`, SR: 'OpaqueRef:sr-shared', currently_attached: true };
    r['PBD']![`OpaqueRef:pbd-local-${h.name}`] = { host: `OpaqueRef:h-${h.name}`, SR: `OpaqueRef:sr-local-${h.name}`, currently_attached: true };
  }
  r['pool']!['OpaqueRef:pool'] = { name_label: 'p', master: `OpaqueRef:h-${hosts[0]!.name}`, ha_enabled: false, wlb_enabled: false };
  for (const v of vms) {
    const ref = `OpaqueRef:v-${v.name}`;
    const power = v.powerState ?? 'Running';
    r['VM']![ref] = {
      uuid: `uuid-${v.name}`,
      name_label: v.name,
      power_state: power,
      resident_on: power === 'Halted' ? 'OpaqueRef:NULL' : `OpaqueRef:h-${v.host}`,
      memory_static_max: v.gib * GiB,
      memory_dynamic_max: v.gib * GiB,
      memory_dynamic_min: (v.minGib ?? v.gib) * GiB,
      memory_target: v.gib * GiB,
      memory_overhead: 0,
      groups: (v.groups ?? []).map((g) => `OpaqueRef:g-${g}`),
    };
    r['VDI']![`OpaqueRef:vdi-${v.name}`] = { SR: v.local === true ? `OpaqueRef:sr-local-${v.host}` : 'OpaqueRef:sr-shared' };
    r['VBD']![`OpaqueRef:vbd-${v.name}`] = { VM: ref, VDI: `OpaqueRef:vdi-${v.name}`, type: 'Disk', empty: false };
  }
  return inputFromRaw(r, answers);
}

export const vmRef = (name: string): string => `OpaqueRef:v-${name}`;
export const hostRef = (name: string): string => `OpaqueRef:h-${name}`;

/**
 * The pool where nothing fits until room is made (plan.test.ts works it out, plan-report.test.ts
 * reads its figures): 9 GiB for guests on each host. A: big 6. B: s1, s2, s3 of 2 (3 free).
 * C: t1, t2 of 3 (3 free). Nowhere has 6; on C one VM of 3 covers the gap and B takes it.
 */
export function makeRoomPool(): PoolInput {
  return smallPool([{ name: 'A', gib: 10 }, { name: 'B', gib: 10 }, { name: 'C', gib: 10 }], [
    { name: 'big', host: 'A', gib: 6 },
    { name: 's1', host: 'B', gib: 2 },
    { name: 's2', host: 'B', gib: 2 },
    { name: 's3', host: 'B', gib: 2 },
    { name: 't1', host: 'C', gib: 3 },
    { name: 't2', host: 'C', gib: 3 },
  ]);
}
