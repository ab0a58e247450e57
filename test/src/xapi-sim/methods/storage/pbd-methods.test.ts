import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XapiClient } from '@xsctl/controller/xapi/index';
import { startXapiSimulator, type XapiSimulator } from '../../start-xapi-simulator.js';
import { setHostLive } from '../failover/failover-methods.js';
import { setFailedPaths } from './pbd-methods.js';

/**
 * XenCenter's multipath switch (xenadmin EditMultipathAction.cs: unplug the host's attached PBDs,
 * host.set_multipathing or the other_config keys, multipathhandle=dmp, plug them back) against
 * the simulator's wire endpoint, with xapi's semantics (xapi_pbd.ml plug/unplug, xapi_host.ml
 * set_multipathing) and the storage manager's mpath-<SCSIid> = "[active, total]" status.
 */
describe('PBD.plug/unplug and multipathing (simulator, JSON-RPC, the controller door)', () => {
  let sim: XapiSimulator;
  let x: XapiClient;
  const o = (Math.floor(Math.random() * 200) + 20).toString();

  beforeAll(async () => {
    sim = await startXapiSimulator({
      source: {
        description: {
          pool: { name: 'mp', master: 'xs1' },
          hosts: [
            { name: 'xs1', address: `127.${o}.9.11`, version: '8.2.1', brand: 'XCP-ng' },
            { name: 'xs2', address: `127.${o}.9.12`, version: '8.2.1', brand: 'XCP-ng' },
          ],
          srs: [
            { name: 'san', type: 'lvmoiscsi', shared: true, sizeGiB: 100 },
            { name: 'local-xs1', type: 'lvm', shared: false, sizeGiB: 50, host: 'xs1' },
          ],
          vms: [{ name: 'web-1', memoryGiB: 1, vcpus: 1, host: 'xs1', disks: [{ sr: 'san', sizeGiB: 10 }] }],
        },
      },
    });
    x = await XapiClient.connect({ url: sim.url, user: 'root', password: 'xsctl-sim', allowPlainHttp: true });
  });

  afterAll(async () => {
    await x?.close();
    await sim?.close();
  });

  const host = (name: string) => sim.db.find('host', (h) => h['name_label'] === name)[0]![0];
  const sr = (name: string) => sim.db.find('SR', (s) => s['name_label'] === name)[0]![0];
  const pbd = (srName: string, hostName: string) => sim.db.find('PBD', (p) => p['SR'] === sr(srName) && p['host'] === host(hostName))[0]![0];
  const rec = (cls: string, ref: string) => sim.db.getRecord(cls, ref);
  const call = (method: string, args: unknown[]) => x.call(method as never, args as never);

  it('unplug refuses while a running VM of the host has a disk on the SR: VDI_IN_USE [vdi]', async () => {
    const vdi = sim.db.find('VDI', (v) => v['SR'] === sr('san'))[0]![0];
    await expect(call('PBD.unplug', [pbd('san', 'xs1')])).rejects.toMatchObject({ code: 'VDI_IN_USE', params: [vdi] });
    expect(rec('PBD', pbd('san', 'xs1'))['currently_attached']).toBe(true);
  });

  it("XenCenter's order on xs2: unplug, multipathing=true (remove then add: add alone is MAP_DUPLICATE_KEY), multipathhandle=dmp, plug", async () => {
    const p = pbd('san', 'xs2');
    await call('PBD.unplug', [p]);
    expect(rec('PBD', p)['currently_attached']).toBe(false);
    await call('PBD.unplug', [p]); // detached already: nothing (xapi_pbd.ml unplug)
    await expect(call('host.add_to_other_config', [host('xs2'), 'multipathing', 'true'])).rejects.toMatchObject({ code: 'MAP_DUPLICATE_KEY', params: ['host', 'other_config', host('xs2'), 'multipathing'] });
    await call('host.remove_from_other_config', [host('xs2'), 'multipathing']);
    await call('host.add_to_other_config', [host('xs2'), 'multipathing', 'true']);
    await call('host.remove_from_other_config', [host('xs2'), 'multipathhandle']);
    await call('host.add_to_other_config', [host('xs2'), 'multipathhandle', 'dmp']);
    await call('PBD.plug', [p]);
    const other = rec('PBD', p)['other_config'] as Record<string, string>;
    expect(rec('PBD', p)['currently_attached']).toBe(true);
    expect(other['multipathed']).toBe('true');
    expect(Object.entries(other).filter(([k]) => k.startsWith('mpath-')).map(([, v]) => v)).toEqual(['[2, 2]']);
  });

  it('a path down from xs2 shows at the next attach as [1, 2]; host.set_multipathing(false) sets the field and the key (xapi_host.ml)', async () => {
    const p = pbd('san', 'xs2');
    setFailedPaths(sim.db, host('xs2'), 1);
    await call('PBD.unplug', [p]);
    await call('PBD.plug', [p]);
    expect(Object.entries(rec('PBD', p)['other_config'] as Record<string, string>).filter(([k]) => k.startsWith('mpath-')).map(([, v]) => v)).toEqual(['[1, 2]']);
    await call('host.set_multipathing', [host('xs2'), false]);
    expect(rec('host', host('xs2'))['multipathing']).toBe(false);
    expect((rec('host', host('xs2'))['other_config'] as Record<string, string>)['multipathing']).toBe('false');
  });

  it('simulator.set_failed_paths over the wire (for a simulator in its own process): an attached multipathed PBD shows it at once (mpathcount), a detached one at its attach; a bad count is refused', async () => {
    const p = pbd('san', 'xs2');
    const mpath = () => Object.entries(rec('PBD', p)['other_config'] as Record<string, string>).filter(([k]) => k.startsWith('mpath-')).map(([, v]) => v);
    await call('host.set_multipathing', [host('xs2'), true]);
    await call('PBD.unplug', [p]);
    expect(mpath()).toEqual(['[0, 2]']);
    await call('simulator.set_failed_paths', [host('xs2'), 2]);
    expect(mpath()).toEqual(['[0, 2]']);
    await call('PBD.plug', [p]);
    expect(mpath()).toEqual(['[0, 2]']);
    await call('simulator.set_failed_paths', [host('xs2'), 1]);
    expect(mpath()).toEqual(['[1, 2]']);
    await call('simulator.set_failed_paths', [host('xs2'), 0]);
    expect(mpath()).toEqual(['[2, 2]']);
    await expect(call('simulator.set_failed_paths', [host('xs2'), -1])).rejects.toMatchObject({ code: 'INVALID_VALUE' });
  });

  it('an unshared SR attached on xs1 cannot be plugged on xs2: SR_NOT_SHARABLE [sr, xs1]; a dead host: HOST_OFFLINE [host]', async () => {
    const extra = sim.db.create('PBD', { uuid: 'pbd-local-xs1-on-xs2', host: host('xs2'), SR: sr('local-xs1'), device_config: {}, currently_attached: false, other_config: {} });
    await expect(call('PBD.plug', [extra])).rejects.toMatchObject({ code: 'SR_NOT_SHARABLE', params: [sr('local-xs1'), host('xs1')] });
    setHostLive(sim.db, host('xs2'), false);
    await expect(call('PBD.plug', [pbd('san', 'xs2')])).rejects.toMatchObject({ code: 'HOST_OFFLINE', params: [host('xs2')] });
    setHostLive(sim.db, host('xs2'), true);
  });
});
