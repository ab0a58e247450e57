import { asRef, type Ref } from '../../xapi/ref.js';
import { str, bool } from '../../xapi/coerce.js';
import type { CompensationContext } from '../engine/workflow-engine.js';
import type { RollingUpgradeDeps } from './deps.js';
import { realSleep, retrying, xapiCode } from './retry.js';

/** Undoes one side effect of the run; each checks first, so running it twice is harmless. */
export async function compensate(deps: RollingUpgradeDeps, name: string, args: Record<string, unknown>, ctx: CompensationContext): Promise<void> {
  if (deps.compensateStage !== undefined && (await deps.compensateStage(name, args, ctx))) return;
  const sleep = deps.sleep ?? realSleep;
  const { signal } = ctx;
  const xapi = await retrying(() => deps.openXapi(ctx.pool, signal), signal, sleep, 120_000);
  const read = <T>(fn: () => Promise<T>): Promise<T> => retrying(fn, signal, sleep, 120_000);
  try {
    const [poolRef, pool] = [...(await read(() => xapi.getAllRecords('pool', { signal }))).entries()][0] ?? [];
    if (poolRef === undefined || pool === undefined) throw new Error('XAPI returned no pool record');
    const fresh = () => read(() => xapi.getRecord('pool', poolRef, { signal }));
    if (name === 'restore-ha') {
      if ((await fresh()).ha_enabled) return;
      const srs = (Array.isArray(args['srs']) ? args['srs'] : []).map((s) => asRef<'SR'>(str(s)));
      const configuration = Object.fromEntries(Object.entries((args['configuration'] ?? {}) as Record<string, unknown>).map(([k, v]) => [k, str(v)]));
      await read(() => xapi.callAsync('pool.enable_ha', [srs, configuration], { signal }));
    } else if (name === 'restore-wlb') {
      if ((await fresh()).wlb_enabled) return;
      await read(() => xapi.call('pool.set_wlb_enabled', [poolRef, true], { signal }));
    } else if (name === 'restore-auto-poweron') {
      if ((await fresh()).other_config['auto_poweron'] === 'true') return;
      await read(() => xapi.call('pool.add_to_other_config', [poolRef, 'auto_poweron', 'true'], { signal }));
    } else if (name.startsWith('enable-host:')) {
      const ref = asRef<'host'>(str(args['hostRef']));
      if ((await read(() => xapi.getRecord('host', ref, { signal }))).enabled) return;
      try {
        await read(() => xapi.call('host.enable', [ref], { signal }));
      } catch (err) {
        throw new Error(`${str(args['host'])} stays disabled: ${xapiCode(err) || (err instanceof Error ? err.message : String(err))}`, { cause: err });
      }
    } else if (name.startsWith('start-vm:')) {
      const vm = asRef<'VM'>(str(args['vmRef']));
      if ((await read(() => xapi.getRecord('VM', vm, { signal }))).power_state !== 'Halted') return;
      await xapi.callAsync('VM.start_on', [vm, asRef<'host'>(str(args['hostRef'])) as Ref<'host'>, bool(args['paused']), false], { signal });
    } else {
      throw new Error(`unknown compensation ${name}`);
    }
  } finally {
    await xapi.close().catch(() => undefined);
  }
}
