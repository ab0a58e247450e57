import { compareVersions, isRunningGuest, type PoolSnapshot } from './pool-records.js';
import type { RollingPlan } from './planner.js';

/**
 * Replays a plan on its snapshot, independently of how the planner built it, and lists every
 * broken rule: master not first, a VM moved to an older host, a host over capacity after a step,
 * a running guest left on a host that is about to reboot, a migration of a VM that is not there.
 * Tests and `--plan` rehearsals use it; an empty list means the plan is sound.
 */
export function checkPlanInvariants(snapshot: PoolSnapshot, plan: RollingPlan): string[] {
  const problems: string[] = [];
  const hosts = new Map(snapshot.hosts.map((h) => [h.ref, h]));
  const upgradeOrder = plan.hosts.filter((h) => h.action === 'upgrade').sort((a, b) => a.order - b.order);
  const masterPlanned = plan.hosts.find((h) => h.role === 'master');
  if (masterPlanned?.action === 'upgrade' && upgradeOrder[0]?.ref !== masterPlanned.ref) problems.push(`the master ${masterPlanned.name} is not first`);

  const residence = new Map<string, string>();
  const required = new Map<string, number>();
  const used = new Map<string, number>();
  for (const vm of snapshot.vms) {
    if (!(vm.isControlDomain || isRunningGuest(vm)) || !hosts.has(vm.residentOn)) continue;
    residence.set(vm.ref, vm.residentOn);
    required.set(vm.ref, vm.requiredBytes);
    used.set(vm.residentOn, (used.get(vm.residentOn) ?? 0) + vm.requiredBytes);
  }
  const upgraded = new Set(plan.hosts.filter((h) => h.action === 'done').map((h) => h.ref));
  const pinned = new Set(plan.steps.flatMap((s) => s.pinned.map((p) => p.vmRef)));
  const blocked = new Set(plan.blockers.map((b) => b.vmRef));
  const version = (ref: string): string => hosts.get(ref)?.version ?? '';

  for (const step of plan.steps) {
    for (const m of step.migrations) {
      if (residence.get(m.vmRef) !== m.fromRef) problems.push(`step ${step.step}: ${m.vm} is not on ${m.from}`);
      if (m.fromRef !== step.hostRef) problems.push(`step ${step.step}: ${m.vm} moves from ${m.from}, not from the evacuated host`);
      const toUpgraded = upgraded.has(m.toRef);
      const fromUpgraded = upgraded.has(m.fromRef);
      if (fromUpgraded && !toUpgraded) problems.push(`step ${step.step}: ${m.vm} moves from upgraded ${m.from} back to older ${m.to}`);
      if (!fromUpgraded && !toUpgraded && compareVersions(version(m.toRef), version(m.fromRef)) < 0) problems.push(`step ${step.step}: ${m.vm} moves to older ${m.to}`);
      if (m.toRef === step.hostRef) problems.push(`step ${step.step}: ${m.vm} moves onto the host being evacuated`);
      const to = hosts.get(m.toRef);
      if (to !== undefined && !toUpgraded && !to.enabled) problems.push(`step ${step.step}: ${m.vm} moves to disabled ${m.to}`);
      const bytes = required.get(m.vmRef) ?? 0;
      used.set(m.fromRef, (used.get(m.fromRef) ?? 0) - bytes);
      used.set(m.toRef, (used.get(m.toRef) ?? 0) + bytes);
      residence.set(m.vmRef, m.toRef);
    }
    for (const [ref, h] of hosts) {
      const over = (used.get(ref) ?? 0) - h.guestMemoryBytes;
      if (over > 0) problems.push(`step ${step.step}: ${h.name} is over capacity by ${over} bytes`);
    }
    for (const [vmRef, hostRef] of residence) {
      if (hostRef !== step.hostRef || pinned.has(vmRef) || blocked.has(vmRef)) continue;
      const vm = snapshot.vms.find((v) => v.ref === vmRef);
      if (vm !== undefined && !vm.isControlDomain) problems.push(`step ${step.step}: ${vm.name} is still on ${step.host} when it reboots`);
    }
    upgraded.add(step.hostRef);
  }
  return problems;
}
