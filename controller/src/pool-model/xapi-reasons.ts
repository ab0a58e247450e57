/**
 * What XAPI's reasons for "this VM cannot leave its host" mean to a plan. From
 * compute_evacuation_plan_no_wlb (ocaml/xapi/xapi_host.ml): a VM gets the first error of
 * assert_can_boot_here (without the memory check) against every target host, then its pool_migrate
 * operation error (Xapi_vm_lifecycle.get_operation_error, strict) overwrites it, then VMs the
 * memory bin-pack could not place get HOST_NOT_ENOUGH_FREE_MEMORY; no target at all is
 * NO_HOSTS_AVAILABLE. The planner takes these answers as they are, it does not re-check.
 */

/** The VM cannot be live-migrated at all (a host-bound device, missing drivers, blocked, busy, not running). */
export const immobileCodes: ReadonlySet<string> = new Set([
  'VM_HAS_PCI_ATTACHED',
  'VM_HAS_VGPU',
  'VM_HAS_VUSBS',
  'VM_HAS_SRIOV_VIF',
  'VM_LACKS_FEATURE',
  'VM_LACKS_FEATURE_SUSPEND',
  'VM_MISSING_PV_DRIVERS',
  'VM_OLD_PV_DRIVERS',
  'VM_NON_SUSPENDABLE',
  'VM_IS_IMMOBILE',
  'OPERATION_BLOCKED',
  'OTHER_OPERATION_IN_PROGRESS',
  'VM_BAD_POWER_STATE',
  'VDI_ON_BOOT_MODE_INCOMPATIBLE_WITH_OPERATION',
]);

/**
 * With HA on, XAPI reports every unprotected VM with HOST_EVACUATE_VM_NOT_HA_PROTECTED and skips its
 * other checks (as Xen Orchestra notes, the evacuation check needs HA off). The run switches HA off
 * first, so the VM is judged host by host with VM.assert_can_boot_here instead.
 */
export const haCodes: ReadonlySet<string> = new Set(['HOST_EVACUATE_VM_NOT_HA_PROTECTED']);

/** The VM can run on some hosts and not others (assert_can_boot_here): ask XAPI host by host. */
export const placementCodes: ReadonlySet<string> = new Set([
  'VM_REQUIRES_SR',
  'VM_REQUIRES_NETWORK',
  'VM_REQUIRES_VDI',
  'VM_INCOMPATIBLE_WITH_THIS_HOST',
  'VM_REQUIRES_IOMMU',
  'VM_REQUIRES_GPU',
  'VM_REQUIRES_VGPU',
  'VGPU_TYPE_NOT_SUPPORTED',
  'NETWORK_SRIOV_INSUFFICIENT_CAPACITY',
  'OPERATION_NOT_ALLOWED',
  'VM_HVM_REQUIRED',
  'HOST_NOT_ENOUGH_PCPUS',
  'VM_HOST_INCOMPATIBLE_VIRTUAL_HARDWARE_PLATFORM_VERSION',
  'VM_HOST_INCOMPATIBLE_VERSION',
  'HOST_NOT_LIVE',
  'HOST_DISABLED',
  'HOST_OFFLINE',
]);

/** About the pool's state now, which the plan itself decides: not a property of the VM. */
export const capacityCodes: ReadonlySet<string> = new Set(['HOST_NOT_ENOUGH_FREE_MEMORY', 'NO_HOSTS_AVAILABLE']);

/** Host-bound devices: Xen Orchestra's pinned VMs (shut down during their host's reboot, started after). */
export const hostBoundCodes: ReadonlySet<string> = new Set(['VM_HAS_PCI_ATTACHED', 'VM_HAS_VGPU', 'VM_HAS_VUSBS', 'VM_HAS_SRIOV_VIF']);
