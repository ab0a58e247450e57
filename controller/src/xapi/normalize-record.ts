import { asRef, type Ref } from './ref.js';
import { bool, num, str, strList, strMap } from './coerce.js';
import type { TaskStatus, VmPowerState, XapiClass, XapiClassRecords } from './xapi-records.js';

type Raw = Readonly<Record<string, unknown>>;

const refs = <K extends string>(v: unknown): Ref<K>[] => (Array.isArray(v) ? v.map((x) => asRef<K>(x)) : []);

const oneOf = <T extends string>(allowed: readonly T[], fallback: T) => (v: unknown): T =>
  (allowed as readonly unknown[]).includes(v) ? (v as T) : fallback;

const powerState = oneOf<VmPowerState>(['Halted', 'Paused', 'Running', 'Suspended'], 'Halted');
const taskStatus = oneOf<TaskStatus>(['pending', 'success', 'failure', 'cancelling', 'cancelled'], 'pending');

type Normalizers = { [K in XapiClass]: (r: Raw) => XapiClassRecords[K] };

const normalizers: Normalizers = {
  pool: (r) => ({
    uuid: str(r['uuid']),
    name_label: str(r['name_label']),
    master: asRef(r['master']),
    default_SR: asRef(r['default_SR']),
    ha_enabled: bool(r['ha_enabled']),
    wlb_enabled: bool(r['wlb_enabled']),
    other_config: strMap(r['other_config']),
    ha_statefiles: strList(r['ha_statefiles']),
    ha_configuration: strMap(r['ha_configuration']),
  }),
  host: (r) => ({
    uuid: str(r['uuid']),
    name_label: str(r['name_label']),
    hostname: str(r['hostname']),
    address: str(r['address']),
    enabled: bool(r['enabled']),
    metrics: asRef(r['metrics']),
    resident_VMs: refs(r['resident_VMs']),
    software_version: strMap(r['software_version']),
    memory_overhead: num(r['memory_overhead']),
    other_config: strMap(r['other_config']),
    PBDs: refs(r['PBDs']),
    patches: refs(r['patches']),
    updates: refs(r['updates']),
    API_version_major: num(r['API_version_major']),
    API_version_minor: num(r['API_version_minor']),
    control_domain: asRef(r['control_domain']),
    pending_guidances: strList(r['pending_guidances']),
    current_operations: strMap(r['current_operations']),
  }),
  host_metrics: (r) => ({
    uuid: str(r['uuid']),
    live: bool(r['live']),
    memory_total: num(r['memory_total']),
    memory_free: num(r['memory_free']),
    last_updated: str(r['last_updated']),
  }),
  VM: (r) => ({
    uuid: str(r['uuid']),
    name_label: str(r['name_label']),
    power_state: powerState(r['power_state']),
    resident_on: asRef(r['resident_on']),
    affinity: asRef(r['affinity']),
    is_a_template: bool(r['is_a_template']),
    is_a_snapshot: bool(r['is_a_snapshot']),
    is_control_domain: bool(r['is_control_domain']),
    memory_static_max: num(r['memory_static_max']),
    memory_dynamic_max: num(r['memory_dynamic_max']),
    memory_dynamic_min: num(r['memory_dynamic_min']),
    memory_target: num(r['memory_target']),
    memory_overhead: num(r['memory_overhead']),
    VBDs: refs(r['VBDs']),
    other_config: strMap(r['other_config']),
    ha_restart_priority: str(r['ha_restart_priority']),
    metrics: asRef(r['metrics']),
    memory_static_min: num(r['memory_static_min']),
    VCPUs_max: num(r['VCPUs_max']),
    blocked_operations: strMap(r['blocked_operations']),
    current_operations: strMap(r['current_operations']),
    scheduled_to_be_resident_on: asRef(r['scheduled_to_be_resident_on']),
    groups: refs(r['groups']),
    pending_guidances: strList(r['pending_guidances']),
  }),
  VBD: (r) => ({
    uuid: str(r['uuid']),
    VM: asRef(r['VM']),
    VDI: asRef(r['VDI']),
    type: str(r['type']),
    mode: str(r['mode']),
    userdevice: str(r['userdevice']),
    device: str(r['device']),
    empty: bool(r['empty']),
    currently_attached: bool(r['currently_attached']),
  }),
  VDI: (r) => ({
    uuid: str(r['uuid']),
    name_label: str(r['name_label']),
    SR: asRef(r['SR']),
    VBDs: refs(r['VBDs']),
    virtual_size: num(r['virtual_size']),
    type: str(r['type']),
    sharable: bool(r['sharable']),
    read_only: bool(r['read_only']),
  }),
  SR: (r) => ({
    uuid: str(r['uuid']),
    name_label: str(r['name_label']),
    shared: bool(r['shared']),
    type: str(r['type']),
    content_type: str(r['content_type']),
    PBDs: refs(r['PBDs']),
    physical_size: num(r['physical_size']),
    physical_utilisation: num(r['physical_utilisation']),
    other_config: strMap(r['other_config']),
  }),
  PBD: (r) => ({
    uuid: str(r['uuid']),
    host: asRef(r['host']),
    SR: asRef(r['SR']),
    currently_attached: bool(r['currently_attached']),
    device_config: strMap(r['device_config']),
    other_config: strMap(r['other_config']),
  }),
  host_patch: (r) => ({
    uuid: str(r['uuid']),
    name_label: str(r['name_label']),
    version: str(r['version']),
    host: asRef(r['host']),
    applied: bool(r['applied']),
    pool_patch: asRef(r['pool_patch']),
    timestamp_applied: str(r['timestamp_applied']),
  }),
  pool_patch: (r) => ({
    uuid: str(r['uuid']),
    name_label: str(r['name_label']),
    version: str(r['version']),
    pool_applied: bool(r['pool_applied']),
    host_patches: refs(r['host_patches']),
    after_apply_guidance: strList(r['after_apply_guidance']),
    pool_update: asRef(r['pool_update']),
  }),
  pool_update: (r) => ({
    uuid: str(r['uuid']),
    name_label: str(r['name_label']),
    version: str(r['version']),
    hosts: refs(r['hosts']),
    after_apply_guidance: strList(r['after_apply_guidance']),
  }),
  VM_group: (r) => ({
    uuid: str(r['uuid']),
    name_label: str(r['name_label']),
    placement: str(r['placement']),
    VMs: refs(r['VMs']),
  }),
  task: (r) => ({
    uuid: str(r['uuid']),
    name_label: str(r['name_label']),
    status: taskStatus(r['status']),
    progress: num(r['progress']),
    result: str(r['result']),
    error_info: strList(r['error_info']),
    created: str(r['created']),
    finished: str(r['finished']),
    resident_on: asRef(r['resident_on']),
  }),
};

export function isKnownClass(cls: string): cls is XapiClass {
  return Object.hasOwn(normalizers, cls);
}

/** The typed record for `cls` from whatever XAPI sent (JSON-RPC or XML-RPC, any release). */
export function normalizeRecord<K extends XapiClass>(cls: K, raw: unknown): XapiClassRecords[K] {
  const record = typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? (raw as Raw) : {};
  return normalizers[cls](record);
}

/** One field normalised as it would be inside its record; undefined if the record type lacks it. */
export function normalizeField(cls: XapiClass, field: string, raw: unknown): unknown {
  const record = normalizeRecord(cls, { [field]: raw }) as unknown as Record<string, unknown>;
  return Object.hasOwn(record, field) ? record[field] : undefined;
}
