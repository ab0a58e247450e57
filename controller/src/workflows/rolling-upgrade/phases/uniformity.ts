import { buildPoolModel, type ModelHost } from '../../../pool-model/pool-model.js';
import { readPoolRecords } from '../../../pool-model/read-pool-input.js';
import { noAnswers } from '../../../pool-model/pool-input.js';
import { describeVersions, uniformityVersionKeys } from '../../../pool-model/versions.js';
import type { PlannedRun } from '../run-context.js';
import { upgradeActions } from '../upgrade-actions.js';
import { UpgradeNotUniformError } from '../upgrade-errors.js';

/**
 * After the last host: every host runs the same release, compared on the full version tuple
 * (product, platform, build, xapi, xapi_build, xen: an XCP-ng `yum update` changes xen and xapi
 * without platform_version) and the hotfix list, and has nothing pending: no update guidance left
 * (host.pending_guidances) and, for updates, nothing more to install (the action says).
 */
export async function uniformityPhase(run: PlannedRun): Promise<Record<string, unknown>> {
  const { ctx, plan, xapi, signal, params } = run;
  const uniformity = await ctx.step('uniformity', {
    run: async () => {
      const model = buildPoolModel({ records: await run.read(() => readPoolRecords(xapi, signal)), answers: noAnswers });
      const describe = (h: ModelHost): string => `${h.productBrand} ${describeVersions(h.software, uniformityVersionKeys)} [${h.hotfixes.join(', ')}]`;
      const excluded = new Set(plan.hosts.filter((h) => h.action === 'excluded').map((h) => h.ref));
      const reference = model.hosts.find((h) => h.ref === model.masterRef);
      const differs = (h: ModelHost): boolean => reference !== undefined && describe(h) !== describe(reference);
      const differences = model.hosts.filter(differs).map((h) => `${h.name}: ${describe(h)} (master: ${describe(reference!)})`);
      const pending: string[] = [];
      for (const h of model.hosts) {
        if (excluded.has(h.ref)) continue;
        if (h.pendingGuidances.length > 0) pending.push(`${h.name}: pending ${h.pendingGuidances.join(', ')}`);
        const more = await upgradeActions[params.action].pendingOn?.(h, { xapi, signal, options: params.actionOptions });
        if (more !== undefined && more.length > 0) pending.push(`${h.name}: still to install ${more.join(', ')}`);
      }
      const unexplained = model.hosts.filter((h) => !excluded.has(h.ref) && differs(h)).map((h) => h.name);
      return { uniform: differences.length === 0 && pending.length === 0, hosts: Object.fromEntries(model.hosts.map((h) => [h.name, describe(h)])), differences, pending, unexplained };
    },
  });
  if (uniformity.unexplained.length > 0 || uniformity.pending.length > 0) throw new UpgradeNotUniformError([...uniformity.differences, ...uniformity.pending]);
  // VM-level guidance (XenServer 8: restart_vm, restart_device_model) is the VMs' owners' call: say which.
  const vms = await run.read(() => xapi.getAllRecords('VM', { signal }));
  const guided = [...vms.values()].filter((v) => !v.is_control_domain && v.pending_guidances.length > 0).map((v) => `${v.name_label} (${v.pending_guidances.join(', ')})`);
  if (guided.length > 0) ctx.emit('warning', { message: `VMs to restart for the update to take full effect: ${guided.join('; ')}` });
  if (!uniformity.uniform) ctx.emit('warning', { message: `excluded hosts keep their release: ${uniformity.differences.join('; ')}` });
  return uniformity;
}
