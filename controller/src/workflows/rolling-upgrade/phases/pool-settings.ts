import { asRef, isNullRef, type Ref } from '../../../xapi/ref.js';
import type { PoolRecord } from '../../../xapi/xapi-records.js';
import type { RunContext } from '../run-context.js';

/**
 * Around the whole run: HA off (XAPI refuses much of an upgrade with it on, and would restart VMs
 * behind the plan's back), WLB off (it would move VMs), auto power-on off (halted VMs would start on
 * each host as it boots). Each is restored by a compensation registered with the change.
 */
export async function poolSettingsPhase(rc: RunContext): Promise<Ref<'pool'>> {
  const { ctx, xapi, signal } = rc;
  const pools = await rc.read(() => xapi.getAllRecords('pool', { signal }));
  const first = [...pools.entries()][0];
  if (first === undefined) throw new Error('XAPI returned no pool record');
  const [poolRef, pool] = first;
  const readPool = (): Promise<PoolRecord> => rc.read(() => xapi.getRecord('pool', poolRef, { signal }));

  // HA is enabled again on the SRs holding its statefiles now (or the default SR when XAPI does not say).
  const statefileSrs: string[] = [];
  for (const vdi of pool.ha_statefiles) {
    const sr = await rc.read(() => xapi.call('VDI.get_SR', [asRef<'VDI'>(vdi)], { signal })).catch(() => undefined);
    if (sr !== undefined && !isNullRef(sr)) statefileSrs.push(sr);
  }
  if (statefileSrs.length === 0 && !isNullRef(pool.default_SR)) {
    const shared = await rc.read(() => xapi.call('SR.get_shared', [pool.default_SR], { signal })).catch(() => false);
    if (shared) statefileSrs.push(pool.default_SR);
  }

  await ctx.step('pool:disable-ha', {
    intent: { haEnabled: pool.ha_enabled, srs: statefileSrs, configuration: pool.ha_configuration },
    check: async (recorded) => ((await readPool()).ha_enabled ? undefined : { wasEnabled: recorded['haEnabled'] === true, srs: recorded['srs'], configuration: recorded['configuration'] }),
    run: async (io) => {
      if (!pool.ha_enabled) return { wasEnabled: false, srs: [], configuration: {} };
      await xapi.callAsync('pool.disable_ha', [], { signal, onTask: (task) => io.note({ task }) });
      return { wasEnabled: true, srs: statefileSrs, configuration: pool.ha_configuration };
    },
    compensation: (o) => (o.wasEnabled ? { name: 'restore-ha', args: { srs: o.srs, configuration: o.configuration } } : undefined),
  });
  await ctx.step('pool:disable-wlb', {
    intent: { wlbEnabled: pool.wlb_enabled },
    check: async (recorded) => ((await readPool()).wlb_enabled ? undefined : { wasEnabled: recorded['wlbEnabled'] === true }),
    run: async () => {
      if (!pool.wlb_enabled) return { wasEnabled: false };
      await rc.read(() => xapi.call('pool.set_wlb_enabled', [poolRef, false], { signal }));
      return { wasEnabled: true };
    },
    compensation: (o) => (o.wasEnabled ? { name: 'restore-wlb', args: {} } : undefined),
  });
  await ctx.step('pool:auto-poweron-off', {
    intent: { autoPowerOn: pool.other_config['auto_poweron'] === 'true' },
    check: async (recorded) => ((await readPool()).other_config['auto_poweron'] === 'true' ? undefined : { wasOn: recorded['autoPowerOn'] === true }),
    run: async () => {
      if (pool.other_config['auto_poweron'] !== 'true') return { wasOn: false };
      await rc.read(() => xapi.call('pool.remove_from_other_config', [poolRef, 'auto_poweron'], { signal }));
      return { wasOn: true };
    },
    compensation: (o) => (o.wasOn ? { name: 'restore-auto-poweron', args: {} } : undefined),
  });
  return poolRef;
}
