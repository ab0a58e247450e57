/**
 * One-to-many relations of XAPI's datamodel. The set side (host.resident_VMs) is never stored:
 * XAPI computes it from the ref side (VM.resident_on), and so does the simulator. A set field is
 * only present on records when its source class exists in the database, as on a real pool of
 * that version.
 */
export interface Relation {
  /** Class that carries the computed set, e.g. `host`. */
  readonly setClass: string;
  /** The computed set field, e.g. `resident_VMs`. */
  readonly setField: string;
  /** Class whose rows point back, e.g. `VM`. */
  readonly refClass: string;
  /** The ref field on those rows, e.g. `resident_on`. */
  readonly refField: string;
}

const rel = (setClass: string, setField: string, refClass: string, refField: string): Relation => ({
  setClass,
  setField,
  refClass,
  refField,
});

export const relations: readonly Relation[] = [
  rel('host', 'resident_VMs', 'VM', 'resident_on'),
  rel('host', 'PBDs', 'PBD', 'host'),
  rel('host', 'PIFs', 'PIF', 'host'),
  rel('host', 'host_CPUs', 'host_cpu', 'host'),
  rel('host', 'crashdumps', 'host_crashdump', 'host'),
  rel('host', 'patches', 'host_patch', 'host'),
  rel('host', 'PCIs', 'PCI', 'host'),
  rel('host', 'PGPUs', 'PGPU', 'host'),
  rel('host', 'PUSBs', 'PUSB', 'host'),
  rel('SR', 'PBDs', 'PBD', 'SR'),
  rel('SR', 'VDIs', 'VDI', 'SR'),
  rel('VDI', 'VBDs', 'VBD', 'VDI'),
  rel('VDI', 'crash_dumps', 'crashdump', 'VDI'),
  rel('VDI', 'snapshots', 'VDI', 'snapshot_of'),
  rel('VM', 'VBDs', 'VBD', 'VM'),
  rel('VM', 'VIFs', 'VIF', 'VM'),
  rel('VM', 'consoles', 'console', 'VM'),
  rel('VM', 'crash_dumps', 'crashdump', 'VM'),
  rel('VM', 'snapshots', 'VM', 'snapshot_of'),
  rel('VM', 'children', 'VM', 'parent'),
  rel('VM', 'VGPUs', 'VGPU', 'VM'),
  rel('VM', 'VTPMs', 'VTPM', 'VM'),
  rel('VM', 'VUSBs', 'VUSB', 'VM'),
  rel('network', 'VIFs', 'VIF', 'network'),
  rel('network', 'PIFs', 'PIF', 'network'),
  rel('PIF', 'VLAN_slave_of', 'VLAN', 'tagged_PIF'),
  rel('PIF', 'bond_master_of', 'Bond', 'master'),
  rel('PIF', 'tunnel_access_PIF_of', 'tunnel', 'access_PIF'),
  rel('PIF', 'tunnel_transport_PIF_of', 'tunnel', 'transport_PIF'),
  rel('Bond', 'slaves', 'PIF', 'bond_slave_of'),
  rel('GPU_group', 'PGPUs', 'PGPU', 'GPU_group'),
  rel('GPU_group', 'VGPUs', 'VGPU', 'GPU_group'),
  rel('pool_patch', 'host_patches', 'host_patch', 'pool_patch'),
  rel('task', 'subtasks', 'task', 'subtask_of'),
  rel('VM_appliance', 'VMs', 'VM', 'appliance'),
  rel('VMPP', 'VMs', 'VM', 'protection_policy'),
];

export function relationsForSetClass(cls: string): readonly Relation[] {
  return relations.filter((r) => r.setClass === cls);
}

export function relationsForRefClass(cls: string): readonly Relation[] {
  return relations.filter((r) => r.refClass === cls);
}

export function isDerivedField(cls: string, field: string): boolean {
  return relations.some((r) => r.setClass === cls && r.setField === field);
}
