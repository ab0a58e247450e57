import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SIM_CREDENTIALS, startXapiSimulator, type XapiSimulator } from '@xsctl/test/xapi-sim/index';
import { createLogger } from '@xsctl/common/log/create-logger';
import { XapiClient } from '../../xapi/xapi-client.js';
import type { CompensationContext } from '../engine/workflow-engine.js';
import { multipathRolloutKind } from './multipath-rollout-workflow.js';

/**
 * The rollout's compensations against the simulator: after an abort or a failure between the
 * unplug and the replug, the PBDs noted by the unplug step are plugged back; the rolling
 * upgrade's own ones (enable-host) are delegated to it. Each is idempotent.
 */
describe('multipath rollout compensations', () => {
  let sim: XapiSimulator;
  let x: XapiClient;
  const o = (Math.floor(Math.random() * 200) + 20).toString();
  const kind = multipathRolloutKind({
    openXapi: () => XapiClient.connect({ url: sim.url, ...DEFAULT_SIM_CREDENTIALS, allowPlainHttp: true }),
    agents: async () => new Map(),
    sleep: async () => undefined,
  });
  const cctx = (why: CompensationContext['why']): CompensationContext & { events: Array<Record<string, unknown>> } => {
    const events: Array<Record<string, unknown>> = [];
    return { id: 'w1', pool: 'mp', params: {}, signal: new AbortController().signal, logger: createLogger('test', { level: 'silent' }), why, emit: (_k, d) => events.push(d), events };
  };

  beforeAll(async () => {
    sim = await startXapiSimulator({
      source: {
        description: {
          pool: { name: 'mp', master: 'xs1' },
          hosts: [
            { name: 'xs1', address: `127.${o}.7.11`, version: '8.2.1', brand: 'XCP-ng' },
            { name: 'xs2', address: `127.${o}.7.12`, version: '8.2.1', brand: 'XCP-ng' },
          ],
          srs: [{ name: 'san', type: 'lvmoiscsi', shared: true, sizeGiB: 100 }],
          vms: [],
        },
      },
    });
    x = await XapiClient.connect({ url: sim.url, ...DEFAULT_SIM_CREDENTIALS, allowPlainHttp: true });
  });

  afterAll(async () => {
    await x?.close();
    await sim?.close();
  });

  const host = (name: string) => sim.db.find('host', (h) => h['name_label'] === name)[0]![0];
  const pbdOf = (name: string) => sim.db.find('PBD', (p) => p['host'] === host(name))[0]![0];
  const attached = (ref: string) => sim.db.getRecord('PBD', ref)['currently_attached'];

  it('replug-pbds plugs the noted PBDs back, and does nothing the second time', async () => {
    const pbd = pbdOf('xs2');
    await x.call('PBD.unplug', [pbd as never]);
    expect(attached(pbd)).toBe(false);
    const c = cctx('abort');
    await kind.compensate(`replug-pbds:${sim.db.getRecord('host', host('xs2'))['uuid'] as string}`, { pbds: [pbd], host: 'xs2' }, c);
    expect(attached(pbd)).toBe(true);
    expect(c.events).toEqual([{ host: 'xs2', message: 'plugged back 1 PBD(s)' }]);
    const again = cctx('abort');
    await kind.compensate('replug-pbds:x', { pbds: [pbd], host: 'xs2' }, again);
    expect(again.events).toEqual([{ host: 'xs2', message: 'plugged back 0 PBD(s)' }]);
  });

  it("enable-host goes to the rolling upgrade's compensation: a host left disabled is enabled", async () => {
    await x.call('host.disable', [host('xs2') as never]);
    expect(sim.db.getRecord('host', host('xs2'))['enabled']).toBe(false);
    await kind.compensate('enable-host:u2', { hostRef: host('xs2'), host: 'xs2' }, cctx('failure'));
    expect(sim.db.getRecord('host', host('xs2'))['enabled']).toBe(true);
  });

  it('an unknown compensation is refused, not ignored', async () => {
    await expect(kind.compensate('reboot-everything', {}, cctx('abort'))).rejects.toThrow(/unknown compensation/);
  });
});
