import { CapacityState, largestFirst } from '../../placement/index.js';
import type { ModelVm, PoolModel } from '../../pool-model/index.js';

export interface RestartPlacement {
  /** Where each VM starts (VM.start_on), in the order the capacity engine placed them. */
  placed: Array<{ vm: string; vmName: string; host: string; hostName: string; requiredBytes: number }>;
  /** VMs no live host can take now: left Halted, named with the reason. */
  unplaced: Array<{ vm: string; vmName: string; reason: string }>;
}

/**
 * Where a dead host's VMs start again after a failover, by the capacity engine's accounting
 * (CapacityState: XAPI's memory policy, the residents of each host, dom0 included): largest
 * first, each on the live, enabled host (not the dead one) that has every SR of its disks
 * attached and the most memory left, as long as its requiredBytes fit. xapi would refuse the
 * others anyway (VM.start_on's reserve_memory_for_vm, message_forwarding.ml, calls
 * xapi_vm_helpers.ml assert_can_boot_here: VM_REQUIRES_SR, then assert_enough_memory_available's
 * HOST_NOT_ENOUGH_FREE_MEMORY), and one refusal must not stop the rest.
 * The VMs were reset to Halted (VM.power_state_reset), so the engine no longer counts them anywhere.
 */
export function placeRestarts(model: PoolModel, vms: readonly string[], deadHost: string): RestartPlacement {
  const state = CapacityState.of(model);
  const hosts = model.hosts.filter((h) => h.live && h.enabled && h.ref !== deadHost);
  const out: RestartPlacement = { placed: [], unplaced: [] };
  const wanted = vms.map((ref) => model.vms.find((v) => v.ref === ref)).filter((v): v is ModelVm => v !== undefined);
  for (const ref of vms) if (!wanted.some((v) => v.ref === ref)) out.unplaced.push({ vm: ref, vmName: ref, reason: 'not in the pool any more' });
  for (const vm of [...wanted].sort(largestFirst)) {
    const reachable = hosts.filter((h) => vm.srs.every((sr) => h.attachedSrs.has(sr)));
    if (reachable.length === 0) {
      out.unplaced.push({ vm: vm.ref, vmName: vm.name, reason: `no live, enabled host has all its SRs attached (${vm.srs.length} SR(s)); it stays Halted` });
      continue;
    }
    const best = [...reachable].sort((a, b) => state.free(b.ref) - state.free(a.ref) || a.name.localeCompare(b.name))[0]!;
    if (state.free(best.ref) < vm.requiredBytes) {
      out.unplaced.push({ vm: vm.ref, vmName: vm.name, reason: `needs ${vm.requiredBytes} bytes, the most any live host has left is ${state.free(best.ref)} (${best.name}); it stays Halted` });
      continue;
    }
    state.reserve(best.ref, vm.requiredBytes);
    out.placed.push({ vm: vm.ref, vmName: vm.name, host: best.ref, hostName: best.name, requiredBytes: vm.requiredBytes });
  }
  return out;
}
