import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@xsctl/common/log/create-logger';
import { loadTlsMaterial } from '@xsctl/common/pki/index';
import { loadControllerConfig } from '@xsctl/controller/config/inventory';
import { Journal } from '@xsctl/controller/journal/journal';
import { createControllerContext } from '@xsctl/controller/server/create-controller-context';
import { WorkflowEngine, type WorkflowContext } from '@xsctl/controller/workflows/engine/workflow-engine';
import { HA_LIZARD_POOL_KEY, storageHostStages, storageUpgradeHook } from '@xsctl/controller/workflows/storage/upgrade-storage-hook';
import { isRoot } from '../src/fleet/fleet.js';
import { LabMonitor } from '../src/fleet/lab-monitor.js';
import { LAB_IDENTITY, StorageLab } from '../src/fleet/storage-lab.js';

/**
 * The rolling upgrade's storage seam on the namespaced two-node lab: a host's turn (here a stub
 * upgrade whose "reboot" only checks who serves) runs the hook's stages around it. The storage
 * master's storage moves to its peer before the host goes down, and back after; HA-Lizard on the
 * pool blocks the upgrade with the way out.
 */
describe.skipIf(!isRoot())('storage-aware rolling upgrade hook', () => {
  let lab: StorageLab;
  let ctx: ReturnType<typeof createControllerContext>;
  const logger = createLogger('hook-test', { level: 'silent' });
  const journal = new Journal(':memory:');

  beforeAll(async () => {
    lab = await StorageLab.start({ automatic: false });
    const file = await lab.writeControllerConfig();
    ctx = createControllerContext({ configFile: file, config: await loadControllerConfig(file), tls: await loadTlsMaterial(lab.controllerTlsFiles), journal, logger });
  }, 400_000);

  afterAll(async () => {
    ctx?.close();
    await lab?.close();
  }, 120_000);

  it('HA-Lizard enabled on the pool blocks the upgrade and names `ha-cfg ha-disable`', async () => {
    const hook = storageUpgradeHook(ctx);
    expect(await hook.precheck(ctx.pool('lab'), AbortSignal.timeout(120_000))).toEqual([]);
    lab.sim.db.update('pool', lab.sim.db.poolRef(), { other_config: { [HA_LIZARD_POOL_KEY]: 'true' } });
    const f = await hook.precheck(ctx.pool('lab'), AbortSignal.timeout(120_000));
    expect(f).toEqual([expect.objectContaining({ check: 'ha-lizard', severity: 'blocker', message: expect.stringMatching(/`ha-cfg ha-disable`/) })]);
    lab.sim.db.update('pool', lab.sim.db.poolRef(), { other_config: {} });
  }, 300_000);

  it('the storage master switches its storage to the peer before going down, and gets it back after', async () => {
    const stages = storageHostStages(ctx, storageUpgradeHook(ctx, { afterHost: 'switch-back', resyncTimeoutMs: 120_000 }));
    const xs1 = { uuid: String(lab.sim.db.getRecord('host', lab.hostRef('xs1'))['uuid']), name: 'xs1' };
    const seen: Record<string, string> = {};
    const engine = new WorkflowEngine({
      journal,
      logger,
      kinds: [
        {
          kind: 'stub-upgrade',
          run: async (w: WorkflowContext) => {
            const h = { run: { ctx: w }, host: xs1 };
            await stages.before.run(h);
            // Where the disable, evacuation and reboot would be: xs1 must not serve now.
            seen['during'] = `${(await lab.kernelState('xs1'))?.role}/${(await lab.kernelState('xs2'))?.role}`;
            await stages.after.run(h);
            return {};
          },
          compensate: async () => undefined,
        },
      ],
    });
    const mon = new LabMonitor(lab);
    const row = engine.start('stub-upgrade', 'lab', {}, 'test');
    const done = await lab.until('the stub upgrade to end', async () => (['done', 'failed'].includes(engine.get(row.id).state) ? engine.get(row.id) : undefined), 600_000);
    const m = await mon.stop();
    expect(done.state, JSON.stringify(engine.store.events(row.id).slice(-6))).toBe('done');
    expect(seen['during']).toBe('Secondary/Primary');
    expect((await lab.kernelState('xs1'))?.role).toBe('Primary');
    expect(await lab.ipHolders()).toEqual(['xs1']);
    expect(m).toMatchObject({ dualPrimary: 0, dualFloatingIp: 0, promotionsWithoutUpToDate: 0, identities: [`${LAB_IDENTITY.vendorId}/${LAB_IDENTITY.productId}/${LAB_IDENTITY.scsiSn}`] });
    const steps = journal.db.prepare("SELECT name FROM step WHERE workflow_id = ? ORDER BY seq").all(row.id) as { name: string }[];
    expect(steps.map((s) => s.name.replace(/^storage:[^:]+:/, ''))).toEqual(['serves', 'away:check', 'away:prepare:xs2', 'away:demote:xs1', 'away:promote:xs2', 'away:settle:xs1', 'away:verify', 'away:designate-master', 'resynced', 'back:check', 'back:prepare:xs1', 'back:demote:xs2', 'back:promote:xs1', 'back:settle:xs2', 'back:verify', 'back:designate-master']);
  }, 900_000);
});
