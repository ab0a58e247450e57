import { dmClass } from './datamodel.js';
import { parseType, type DmType } from './wire-value.js';

/**
 * What XAPI's datamodel says about field types, for the fields whose type cannot be told from the
 * dump text alone: `'0'` is a string in VBD.userdevice but an int in VM.domid, `()` is an empty map
 * in other_config but an empty set in tags. Fields not listed here are inferred from their text.
 */
export type FieldKind =
  | 'string'
  | 'int'
  | 'float'
  | 'bool'
  | 'datetime'
  | 'ref'
  | 'set'
  | 'int_set'
  | 'map'
  | 'map_int_float'
  | 'map_int_int'
  | 'map_string_int'
  | 'map_int_string_set';

/** Field names that are (string -> string) maps in every class that has them. */
const mapFields = new Set([
  'other_config', 'sm_config', 'device_config', 'xenstore_data', 'platform', 'software_version',
  'cpu_configuration', 'cpu_info', 'license_params', 'logging', 'API_version_vendor_implementation',
  'external_auth_configuration', 'license_server', 'bios_strings', 'power_on_config', 'chipset_info',
  'guest_VCPUs_params', 'blobs', 'current_operations', 'VCPUs_params', 'HVM_boot_params',
  'qos_algorithm_params', 'runtime_properties', 'gui_config', 'restrictions', 'ha_configuration',
  'health_check_config', 'guest_agent_config', 'snapshot_info', 'os_version', 'PV_drivers_version',
  'disks', 'networks', 'other', 'configuration', 'properties', 'assigned_ips', 'blocked_operations',
  'last_boot_CPU_flags', 'NVRAM', 'status', 'backup_schedule', 'archive_target_config',
  'archive_schedule', 'supported_VGPU_max_capacities', 'compatibility_metadata', 'dependencies',
]);

const classFields: Readonly<Record<string, Readonly<Record<string, FieldKind>>>> = {
  pool: {
    ha_host_failures_to_tolerate: 'int', ha_plan_exists_for: 'int', ha_statefiles: 'set', metadata_VDIs: 'set',
    tags: 'set', allowed_operations: 'set',
  },
  host: {
    memory_overhead: 'int', API_version_major: 'int', API_version_minor: 'int',
    virtual_hardware_platform_versions: 'int_set', capabilities: 'set', supported_bootloaders: 'set',
    ha_statefiles: 'set', ha_network_peers: 'set', tags: 'set', allowed_operations: 'set', updates: 'set',
    updates_requiring_reboot: 'set', features: 'set', certificates: 'set', editions: 'set',
  },
  host_metrics: { memory_total: 'int', memory_free: 'int', last_updated: 'datetime' },
  host_cpu: { number: 'int', speed: 'int', family: 'int', model: 'int', utilisation: 'float' },
  host_patch: { size: 'int', timestamp_applied: 'datetime' },
  host_crashdump: { size: 'int', timestamp: 'datetime' },
  pool_patch: { size: 'int', after_apply_guidance: 'set' },
  pool_update: { installation_size: 'int', after_apply_guidance: 'set', hosts: 'set' },
  VM: {
    memory_overhead: 'int', memory_target: 'int', memory_static_max: 'int', memory_dynamic_max: 'int',
    memory_dynamic_min: 'int', memory_static_min: 'int', VCPUs_max: 'int', VCPUs_at_startup: 'int',
    domid: 'int', user_version: 'int', start_delay: 'int', shutdown_delay: 'int', order: 'int', version: 'int',
    hardware_platform_version: 'int', HVM_shadow_multiplier: 'float', snapshot_time: 'datetime',
    tags: 'set', allowed_operations: 'set', attached_PCIs: 'set',
  },
  VM_metrics: {
    memory_actual: 'int', VCPUs_number: 'int', VCPUs_utilisation: 'map_int_float', VCPUs_CPU: 'map_int_int',
    VCPUs_flags: 'map_int_string_set', start_time: 'datetime', install_time: 'datetime', last_updated: 'datetime',
  },
  VM_guest_metrics: { memory: 'map', last_updated: 'datetime' },
  SR: {
    virtual_allocation: 'int', physical_utilisation: 'int', physical_size: 'int', tags: 'set',
    allowed_operations: 'set',
  },
  VDI: {
    virtual_size: 'int', physical_utilisation: 'int', snapshot_time: 'datetime', tags: 'set',
    allowed_operations: 'set',
  },
  VBD: { allowed_operations: 'set', qos_supported_algorithms: 'set', status_code: 'int' },
  VBD_metrics: { io_read_kbs: 'float', io_write_kbs: 'float', last_updated: 'datetime' },
  VIF: { MTU: 'int', allowed_operations: 'set', qos_supported_algorithms: 'set', status_code: 'int', ipv4_allowed: 'set', ipv6_allowed: 'set' },
  VIF_metrics: { io_read_kbs: 'float', io_write_kbs: 'float', last_updated: 'datetime' },
  PIF: { VLAN: 'int', MTU: 'int', IPv6: 'set', capabilities: 'set' },
  PIF_metrics: { io_read_kbs: 'float', io_write_kbs: 'float', speed: 'int', last_updated: 'datetime' },
  network: { MTU: 'int', tags: 'set', allowed_operations: 'set', purpose: 'set' },
  VLAN: { tag: 'int' },
  Bond: { links_up: 'int' },
  SM: { capabilities: 'set', features: 'map_string_int' },
  message: { priority: 'int', timestamp: 'datetime' },
  task: { progress: 'float', created: 'datetime', finished: 'datetime', error_info: 'set', allowed_operations: 'set' },
  session: { last_active: 'datetime', validation_time: 'datetime', rbac_permissions: 'set' },
  data_source: { min: 'float', max: 'float', value: 'float' },
};

/**
 * Columns the database keeps but the API never returns (internal-only fields, bookkeeping, secrets).
 * `wlb_password` is here because it is a credential.
 */
const hiddenFields: Readonly<Record<string, ReadonlySet<string>>> = {
  pool: new Set(['wlb_password']),
  host: new Set(['boot_free_mem']),
  console: new Set(['port']),
  SR: new Set(['default_vdi_visibility']),
  task: new Set(['session', 'stunnelpid', 'forwarded', 'forwarded_to', 'externalpid', 'locked']),
};

/**
 * String fields whose text may look like a set or map, for dumps of classes or releases the
 * datamodel copy lacks: xapi writes a string field as it is, so `(...)` there is text (a name, or
 * VM.last_booted_record, which older releases filled with an s-expression of the whole record).
 */
const stringFields = new Set(['name_label', 'name_description', 'last_booted_record', 'recommendations', 'PV_args', 'PV_legacy_args', 'HVM_boot_policy', 'reference_label', 'generation_id', 'body']);

/**
 * The kind of a field: from xapi's datamodel when it has the field (every public field), else
 * from the lists above (internal columns a dump carries, e.g. host.boot_free_mem).
 */
export function knownFieldKind(cls: string, field: string): FieldKind | undefined {
  const def = dmClass(cls)?.fields[field];
  if (def !== undefined) {
    const kind = kindOfType(parseType(def.type));
    if (kind !== undefined) return kind;
  }
  return classFields[cls]?.[field] ?? (mapFields.has(field) ? 'map' : stringFields.has(field) ? 'string' : undefined);
}

function kindOfType(t: DmType): FieldKind | undefined {
  switch (t.k) {
    case 'string':
    case 'enum':
      return 'string';
    case 'int':
    case 'float':
    case 'bool':
    case 'datetime':
    case 'ref':
      return t.k;
    case 'set':
      return t.of.k === 'int' ? 'int_set' : 'set';
    case 'map':
      if (t.key.k === 'int' && t.value.k === 'float') return 'map_int_float';
      if (t.key.k === 'int' && t.value.k === 'int') return 'map_int_int';
      if (t.key.k === 'int' && t.value.k === 'set') return 'map_int_string_set';
      if (t.value.k === 'int') return 'map_string_int';
      return 'map';
    default:
      return undefined;
  }
}

export function isHiddenField(cls: string, field: string): boolean {
  return field === 'ref' || field === '_ref' || (hiddenFields[cls]?.has(field) ?? false);
}

/** The dump writes nested datamodel names with `__` (`memory__static_max`); the API joins them with `_`. */
export function apiFieldName(dumpName: string): string {
  return dumpName.replace(/__/g, '_');
}
