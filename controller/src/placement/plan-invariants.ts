import { isResidentGuest, type PoolModel } from '../pool-model/pool-model.js';
import { migrationVersionKeys, notOlder } from '../pool-model/versions.js';
import type { RollingPlan } from './plan-types.js';

/**
 * Replays a plan on its model, independently of how the planner built it, and lists every broken
 * rule: the master not first and alone, more hosts down at once than allowed, a VM sent to an
 * older host, to a disabled or dead one, to a host of its own wave, a host over capacity after a
 * wave, a running guest left on a host that reboots, a migration of a VM that is not there.
 * Tests and `--plan` rehearsals use it; an empty list means the plan is sound.
 */
export function checkPlanInvariants(model: PoolModel, plan: RollingPlan, maxHostsDown = plan.capacity.maxHostsDown): string[] {
  const problems: string[] = [];
  const hosts = new Map(model.hosts.map((h) => [h.ref, h]));
  const sequence = plan.hosts.filter((h) => h.action === 'upgrade').sort((a, b) => a.order - b.order);
  const master = plan.hosts.find((h) => h.role === 'master');
  if (master?.action === 'upgrade') {
    if (sequence[0]?.ref !== master.ref) problems.push(`the master ${master.name} is not first`);
    if (sequence.filter((h) => h.wave === master.wave).length > 1) problems.push(`the master ${master.name} shares its wave`);
  }
  const waveSizes = new Map<number, number>();
  for (const h of sequence) waveSizes.set(h.wave, (waveSizes.get(h.wave) ?? 0) + 1);
  for (const [wave, n] of waveSizes) if (n > maxHostsDown) problems.push(`wave ${wave}: ${n} hosts down at once (at most ${maxHostsDown})`);

  const residence = new Map<string, string>();
  const used = new Map<string, number>();
  const vms = new Map(model.vms.map((v) => [v.ref, v]));
  for (const vm of model.vms) {
    if (!(vm.isControlDomain || isResidentGuest(vm)) || !hosts.has(vm.residentOn)) continue;
    residence.set(vm.ref, vm.residentOn);
    used.set(vm.residentOn, (used.get(vm.residentOn) ?? 0) + vm.requiredBytes);
  }
  const upgraded = new Set(plan.hosts.filter((h) => h.action === 'done').map((h) => h.ref));
  const pinned = new Set(plan.steps.flatMap((s) => s.pinned.map((p) => p.vmRef)));
  const blocked = new Set(plan.blockers.map((b) => b.vmRef));
  const waves = [...new Set(sequence.map((h) => h.wave))].sort((a, b) => a - b);

  for (const wave of waves) {
    const down = new Set(sequence.filter((h) => h.wave === wave).map((h) => h.ref));
    for (const m of plan.migrations.filter((x) => x.wave === wave)) {
      const where = `wave ${wave}: ${m.vm}`;
      if (residence.get(m.vmRef) !== m.fromRef) problems.push(`${where} is not on ${m.from}`);
      if (!m.room && !down.has(m.fromRef)) problems.push(`${where} moves from ${m.from}, which is not going down`);
      if (down.has(m.toRef)) problems.push(`${where} moves onto ${m.to}, which is going down in the same wave`);
      const to = hosts.get(m.toRef);
      const from = hosts.get(m.fromRef);
      const toUpgraded = upgraded.has(m.toRef);
      // Never to an older host: from an upgraded host only to upgraded ones; otherwise XAPI's version keys.
      if (upgraded.has(m.fromRef) && !toUpgraded) problems.push(`${where} moves from upgraded ${m.from} back to older ${m.to}`);
      if (!upgraded.has(m.fromRef) && !toUpgraded && to !== undefined && from !== undefined && !notOlder(to.software, from.software, migrationVersionKeys)) {
        problems.push(`${where} moves to ${m.to}, older than ${m.from}`);
      }
      // Never to a disabled (or dead) host: a host not upgraded by the run must be enabled and live now.
      if (!toUpgraded && to !== undefined && (!to.enabled || !to.live)) problems.push(`${where} moves to ${to.enabled ? 'dead' : 'disabled'} ${m.to}`);
      const vm = vms.get(m.vmRef);
      if (vm?.restrictedTo !== undefined && !vm.restrictedTo.hosts.has(m.toRef)) problems.push(`${where} moves to ${m.to}, where XAPI says it cannot run (${vm.restrictedTo.reason[0] ?? ''})`);
      const bytes = vm?.requiredBytes ?? 0;
      used.set(m.fromRef, (used.get(m.fromRef) ?? 0) - bytes);
      used.set(m.toRef, (used.get(m.toRef) ?? 0) + bytes);
      residence.set(m.vmRef, m.toRef);
      const over = (used.get(m.toRef) ?? 0) - (to?.guestMemoryBytes ?? 0);
      if (over > 0) problems.push(`${where} puts ${m.to} over capacity by ${over} bytes`);
    }
    for (const [vmRef, hostRef] of residence) {
      if (!down.has(hostRef) || pinned.has(vmRef) || blocked.has(vmRef)) continue;
      const vm = vms.get(vmRef);
      if (vm !== undefined && !vm.isControlDomain) problems.push(`wave ${wave}: ${vm.name} is still on ${hosts.get(hostRef)?.name ?? hostRef} when it reboots`);
    }
    for (const h of down) upgraded.add(h);
  }
  return problems;
}
