import type { Ref } from './ref.js';

/**
 * The XAPI records xsctl reads, with the fields it uses. Field names are XAPI's. Values are
 * normalised once by normalizeRecord: int64 fields are numbers whether the wire sent a number
 * (JSON-RPC) or a string (XML-RPC), missing sets are [], missing maps {}, missing refs NULL_REF.
 * A field is only added here when the product reads it.
 */
export type StringMap = Readonly<Record<string, string>>;

export interface PoolRecord {
  uuid: string;
  name_label: string;
  master: Ref<'host'>;
  default_SR: Ref<'SR'>;
  ha_enabled: boolean;
  wlb_enabled: boolean;
  other_config: StringMap;
  /** The HA statefile VDIs (their SRs are where HA is enabled again). */
  ha_statefiles: string[];
  ha_configuration: StringMap;
}

export interface HostRecord {
  uuid: string;
  name_label: string;
  hostname: string;
  address: string;
  enabled: boolean;
  metrics: Ref<'host_metrics'>;
  resident_VMs: Ref<'VM'>[];
  /** product_brand, product_version, build_number, ... */
  software_version: StringMap;
  memory_overhead: number;
  other_config: StringMap;
  PBDs: Ref<'PBD'>[];
  /** Legacy hotfix records (host_patch); XenServer 7.1+ also lists them in `updates`. */
  patches: Ref<'host_patch'>[];
  updates: Ref<'pool_update'>[];
  API_version_major: number;
  API_version_minor: number;
  /** NULL_REF on releases before the field existed (XenServer < 7.1). */
  control_domain: Ref<'VM'>;
  /** XenServer 8 / XCP-ng 8.3: what must still happen for applied updates to take effect (reboot_host, restart_toolstack, ...). */
  pending_guidances: string[];
  current_operations: StringMap;
}

export interface HostMetricsRecord {
  uuid: string;
  live: boolean;
  memory_total: number;
  memory_free: number;
  last_updated: string;
}

export type VmPowerState = 'Halted' | 'Paused' | 'Running' | 'Suspended';

export interface VmRecord {
  uuid: string;
  name_label: string;
  power_state: VmPowerState;
  resident_on: Ref<'host'>;
  affinity: Ref<'host'>;
  is_a_template: boolean;
  is_a_snapshot: boolean;
  is_control_domain: boolean;
  memory_static_max: number;
  memory_dynamic_max: number;
  memory_dynamic_min: number;
  memory_target: number;
  memory_overhead: number;
  VBDs: Ref<'VBD'>[];
  other_config: StringMap;
  /** '' (not protected), 'restart' or 'best-effort'. */
  ha_restart_priority: string;
  metrics: Ref<'VM_metrics'>;
  memory_static_min: number;
  VCPUs_max: number;
  /** Operation -> reason the admin blocked it (pool_migrate, ...). */
  blocked_operations: StringMap;
  /** Task ref -> operation running on the VM now. */
  current_operations: StringMap;
  scheduled_to_be_resident_on: Ref<'host'>;
  /** VM groups (XenServer 8 / XCP-ng 8.3): anti-affinity placement. [] before they existed. */
  groups: Ref<'VM_group'>[];
  /** XenServer 8: restart_vm / restart_device_model guidance after an update. */
  pending_guidances: string[];
}

export interface VbdRecord {
  uuid: string;
  VM: Ref<'VM'>;
  VDI: Ref<'VDI'>;
  type: string;
  mode: string;
  userdevice: string;
  device: string;
  empty: boolean;
  currently_attached: boolean;
}

export interface VdiRecord {
  uuid: string;
  name_label: string;
  SR: Ref<'SR'>;
  VBDs: Ref<'VBD'>[];
  virtual_size: number;
  type: string;
  sharable: boolean;
  read_only: boolean;
}

export interface SrRecord {
  uuid: string;
  name_label: string;
  shared: boolean;
  type: string;
  content_type: string;
  PBDs: Ref<'PBD'>[];
  physical_size: number;
  physical_utilisation: number;
  other_config: StringMap;
}

export interface PbdRecord {
  uuid: string;
  host: Ref<'host'>;
  SR: Ref<'SR'>;
  currently_attached: boolean;
  device_config: StringMap;
  other_config: StringMap;
}

export interface HostPatchRecord {
  uuid: string;
  name_label: string;
  version: string;
  host: Ref<'host'>;
  applied: boolean;
  pool_patch: Ref<'pool_patch'>;
  timestamp_applied: string;
}

export interface PoolPatchRecord {
  uuid: string;
  name_label: string;
  version: string;
  pool_applied: boolean;
  host_patches: Ref<'host_patch'>[];
  after_apply_guidance: string[];
  pool_update: Ref<'pool_update'>;
}

export interface PoolUpdateRecord {
  uuid: string;
  name_label: string;
  version: string;
  hosts: Ref<'host'>[];
  after_apply_guidance: string[];
}

export type TaskStatus = 'pending' | 'success' | 'failure' | 'cancelling' | 'cancelled';

export interface TaskRecord {
  uuid: string;
  name_label: string;
  status: TaskStatus;
  /** 0..1 */
  progress: number;
  /** XML-RPC encoded result ('' for void); XapiClient.callAsync decodes it. */
  result: string;
  /** [code, ...params] when status is failure. */
  error_info: string[];
  created: string;
  finished: string;
  resident_on: Ref<'host'>;
}

export interface VmGroupRecord {
  uuid: string;
  name_label: string;
  /** 'normal' | 'anti_affinity' */
  placement: string;
  VMs: Ref<'VM'>[];
}

/** Record type per XAPI class name. */
export interface XapiClassRecords {
  pool: PoolRecord;
  host: HostRecord;
  host_metrics: HostMetricsRecord;
  VM: VmRecord;
  VBD: VbdRecord;
  VDI: VdiRecord;
  SR: SrRecord;
  PBD: PbdRecord;
  host_patch: HostPatchRecord;
  pool_patch: PoolPatchRecord;
  pool_update: PoolUpdateRecord;
  task: TaskRecord;
  VM_group: VmGroupRecord;
}

export type XapiClass = keyof XapiClassRecords;
