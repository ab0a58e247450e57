import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_SIM_CREDENTIALS, loadSimulatorDb, recordCalls, setXapiState, startXapiSimulator, type RecordedCall, type XapiSimulator } from '@xsctl/test/xapi-sim/index';
import { XapiClient, type XapiError } from '../../xapi/index.js';
import { declareFencedHostDead } from './declare-fenced-host-dead.js';
import type { StorageHost } from './storage-pool.js';
import { FencedHostAnswersError } from './storage-workflow-errors.js';

/**
 * host.declare_dead is published in clearwater, XAPI 2.0 (xen-api ocaml/idl/datamodel_host.ml
 * declare_dead lifecycle; datamodel_types.ml: clearwater = 2.0, "XenServer 6.2"): a master that
 * reports an older API_version is not sent it. The versions below are the master's host record.
 */
let sim: XapiSimulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function setup(api: [number, number]): Promise<{ x: XapiClient; calls: RecordedCall[]; master: StorageHost; failed: StorageHost; s: XapiSimulator }> {
  const db = await loadSimulatorDb({
    description: {
      pool: { name: 'p', master: 'xs2' },
      hosts: ['xs1', 'xs2'].map((name) => ({ name, address: name === 'xs1' ? '127.0.0.1' : '127.0.0.2', version: '8.2.1', brand: 'XCP-ng' })),
      srs: [{ name: 'drbd-iscsi', type: 'lvmoiscsi', shared: true, sizeGiB: 100 }],
      vms: [{ name: 'web-1', memoryGiB: 1, vcpus: 1, host: 'xs1', disks: [{ sr: 'drbd-iscsi', sizeGiB: 10 }] }],
    },
  });
  let calls: RecordedCall[] = [];
  sim = await startXapiSimulator({ source: { db }, methods: (registry) => (calls = recordCalls(registry, db, ['host.declare_dead'])) });
  const s = sim;
  const ref = (name: string) => s.db.find('host', (h) => h['name_label'] === name)[0]![0];
  const host = (name: string): StorageHost => ({ name, ref: ref(name), uuid: '', address: '', hostname: name, isMaster: name === 'xs2' });
  s.db.update('host', ref('xs2'), { API_version_major: api[0], API_version_minor: api[1] });
  setXapiState(s.db, ref('xs1'), 'down');
  const x = await XapiClient.connect({ url: s.url, ...DEFAULT_SIM_CREDENTIALS, allowPlainHttp: true });
  return { x, calls, master: host('xs2'), failed: host('xs1'), s };
}

describe('declareFencedHostDead: only where the master has host.declare_dead (XAPI >= 2.0)', () => {
  for (const [api, sent] of [
    [[1, 10], false],
    [[2, 0], true],
    [[2, 21], true],
    [[3, 0], true],
  ] as const) {
    it(`API ${api[0]}.${api[1]}: ${sent ? 'declared dead' : 'skipped'}`, async () => {
      const { x, calls, master, failed, s } = await setup([api[0], api[1]]);
      try {
        const out = await declareFencedHostDead(x, master, failed, AbortSignal.timeout(20_000));
        expect(out).toEqual(sent ? { declaredDead: 'xs1' } : { declaredDead: false, apiVersion: `${api[0]}.${api[1]}` });
        expect(calls.map((c) => c.method)).toEqual(sent ? ['host.declare_dead'] : []);
        expect(s.db.getRecord('host', failed.ref)['enabled']).toBe(!sent);
      } finally {
        await x.close();
      }
    });
  }
});

describe('declareFencedHostDead: what xapi answers', () => {
  it("HOST_IS_LIVE (the host's xapi still answers: xapi_host.ml declare_dead's is_host_alive check) is the typed refusal, with xapi's error as its cause; nothing is disabled", async () => {
    const { x, calls, master, failed, s } = await setup([2, 21]);
    setXapiState(s.db, failed.ref, 'up');
    try {
      const err = await declareFencedHostDead(x, master, failed, AbortSignal.timeout(20_000)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FencedHostAnswersError);
      expect((err as FencedHostAnswersError).host).toBe('xs1');
      expect(((err as Error).cause as XapiError).code).toBe('HOST_IS_LIVE');
      expect(calls.map((c) => c.method)).toEqual(['host.declare_dead']);
      expect(s.db.getRecord('host', failed.ref)['enabled']).toBe(true);
    } finally {
      await x.close();
    }
  });

  it('any other xapi error is thrown as it is, not as the fenced host answering', async () => {
    const { x, master, failed } = await setup([2, 21]);
    try {
      // A host reference xapi does not know: HANDLE_INVALID, as xapi answers for any stale ref.
      const err = await declareFencedHostDead(x, master, { ...failed, ref: 'OpaqueRef:00000000-0000-0000-0000-000000000000' }, AbortSignal.timeout(20_000)).catch((e: unknown) => e);
      expect(err).not.toBeInstanceOf(FencedHostAnswersError);
      expect((err as XapiError).code).toBe('HANDLE_INVALID');
    } finally {
      await x.close();
    }
  });

  it('an aborted workflow reads nothing and declares nothing', async () => {
    const { x, calls, master, failed, s } = await setup([2, 21]);
    try {
      const stop = new AbortController();
      stop.abort(new Error('workflow paused'));
      await expect(declareFencedHostDead(x, master, failed, stop.signal)).rejects.toThrow();
      expect(calls).toEqual([]);
      expect(s.db.getRecord('host', failed.ref)['enabled']).toBe(true);
    } finally {
      await x.close();
    }
  });
});
