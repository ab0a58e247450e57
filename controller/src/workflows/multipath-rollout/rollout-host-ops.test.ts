import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SIM_CREDENTIALS, setFailedPaths, startXapiSimulator, type XapiSimulator } from '@xsctl/test/xapi-sim/index';
import { asRef } from '../../xapi/ref.js';
import { XapiClient } from '../../xapi/xapi-client.js';
import { hasSetMultipathing, hostSrPaths, replugPbds, switchMultipathingOn, unplugPbds, waitForPaths } from './rollout-host-ops.js';

/**
 * The multipath switch of one host through the controller's XAPI door, against the simulator
 * (xapi_pbd.ml plug/unplug, xapi_host.ml set_multipathing, SM's mpath-<SCSIid> status).
 */
describe('switching a host to multipathing as XenCenter does', () => {
  let sim: XapiSimulator;
  let x: XapiClient;
  const o = (Math.floor(Math.random() * 200) + 20).toString();
  const noSleep = async (): Promise<void> => undefined;
  const signal = new AbortController().signal;

  beforeAll(async () => {
    sim = await startXapiSimulator({
      source: {
        description: {
          pool: { name: 'mp', master: 'xs1' },
          hosts: [
            { name: 'xs1', address: `127.${o}.8.11`, version: '8.2.1', brand: 'XCP-ng' },
            { name: 'xs2', address: `127.${o}.8.12`, version: '8.2.1', brand: 'XCP-ng' },
          ],
          srs: [
            { name: 'san', type: 'lvmoiscsi', shared: true, sizeGiB: 100 },
            { name: 'local-xs2', type: 'lvm', shared: false, sizeGiB: 50, host: 'xs2' },
          ],
          vms: [{ name: 'web-1', memoryGiB: 1, vcpus: 1, host: 'xs1', disks: [{ sr: 'san', sizeGiB: 10 }] }],
        },
      },
    });
    x = await XapiClient.connect({ url: sim.url, ...DEFAULT_SIM_CREDENTIALS, allowPlainHttp: true });
  });

  afterAll(async () => {
    await x?.close();
    await sim?.close();
  });

  const host = (name: string) => asRef<'host'>(sim.db.find('host', (h) => h['name_label'] === name)[0]![0]);

  it("picks XenCenter's call by platform version (KolkataOrGreater: 2.5.50)", () => {
    expect(hasSetMultipathing('2.5.50')).toBe(true);
    expect(hasSetMultipathing('3.2.1')).toBe(true);
    expect(hasSetMultipathing('2.5.0')).toBe(false);
    expect(hasSetMultipathing('2.3.0')).toBe(false);
  });

  const pbdOf = (srName: string, hostName: string) => {
    const sr = sim.db.find('SR', (s) => s['name_label'] === srName)[0]![0];
    return sim.db.find('PBD', (p) => p['SR'] === sr && p['host'] === host(hostName))[0]![0];
  };

  it("the rollout's unplug takes the shared SRs' PBDs only: the local SR stays attached; each PBD is heard of before its call", async () => {
    const heard: string[] = [];
    const attachedWhenHeard: boolean[] = [];
    const out = await unplugPbds(x, host('xs2'), (sr) => sr.shared, signal, (pbd) => {
      heard.push(pbd);
      attachedWhenHeard.push(sim.db.getRecord('PBD', pbd)['currently_attached'] === true);
    });
    expect(out).toEqual([pbdOf('san', 'xs2')]);
    expect(heard).toEqual(out);
    expect(attachedWhenHeard).toEqual([true]);
    expect(sim.db.getRecord('PBD', pbdOf('san', 'xs2'))['currently_attached']).toBe(false);
    expect(sim.db.getRecord('PBD', pbdOf('local-xs2', 'xs2'))['currently_attached']).toBe(true);
    // Run again (a restarted controller): nothing attached is left to unplug.
    expect(await unplugPbds(x, host('xs2'), (sr) => sr.shared, signal)).toEqual([]);
    expect(await replugPbds(x, out, signal)).toEqual(out);
    expect(await replugPbds(x, out, signal)).toEqual([]);
  });

  it('an empty host: PBDs unplugged, multipathing on with handle dmp, plugged back; every LUN shows [2, 2]', async () => {
    expect((await hostSrPaths(x, host('xs2'))).map((s) => [s.srName, s.attached, s.multipathed, s.luns.length])).toEqual([['san', true, false, 0]]);
    const sw = await switchMultipathingOn(x, host('xs2'), signal);
    expect(sw).toMatchObject({ method: 'set_multipathing', changed: true });
    // XenCenter's switch unplugs every attached PBD of the host: the SAN's and the local SR's.
    expect(sw.unplugged.sort()).toEqual([pbdOf('san', 'xs2'), pbdOf('local-xs2', 'xs2')].sort());
    const rec = sim.db.getRecord('host', host('xs2'));
    expect(rec['other_config']).toMatchObject({ multipathing: 'true', multipathhandle: 'dmp' });
    expect(await replugPbds(x, sw.unplugged, signal)).toEqual(sw.unplugged);
    const srs = await waitForPaths(x, { ref: host('xs2'), name: 'xs2' }, { expected: 2, timeoutMs: 0, pollMs: 0, sleep: noSleep }, signal);
    expect(srs.map((s) => [s.srName, s.multipathed, s.luns.map((l) => `${l.active}/${l.total}`)])).toEqual([['san', true, ['2/2']]]);
  });

  it('a host with a running VM on the SR: the unplug fails VDI_IN_USE (why the host is evacuated first), and nothing changed', async () => {
    await expect(switchMultipathingOn(x, host('xs1'), signal)).rejects.toMatchObject({ code: 'VDI_IN_USE' });
    expect((sim.db.getRecord('host', host('xs1'))['other_config'] as Record<string, string>)['multipathing']).toBe('false');
  });

  it('a path missing after the re-plug stops the rollout: MULTIPATH_PATHS_MISSING naming the LUN', async () => {
    setFailedPaths(sim.db, host('xs2'), 1);
    const sw = await switchMultipathingOn(x, host('xs2'), signal);
    expect(sw.changed).toBe(false);
    await replugPbds(x, sw.unplugged, signal);
    const err = await waitForPaths(x, { ref: host('xs2'), name: 'xs2' }, { expected: 2, timeoutMs: 0, pollMs: 0, sleep: noSleep }, signal).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'MULTIPATH_PATHS_MISSING', host: 'xs2', expected: 2 });
    expect((err as { short: string[] }).short).toEqual([expect.stringMatching(/^san: mpath-\S+ \[1, 2\]$/)]);
  });
});
