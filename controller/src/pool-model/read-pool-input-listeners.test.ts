import { getEventListeners } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The simulator is a test double in the test package (a devDependency: it depends on the controller).
import { DEFAULT_SIM_CREDENTIALS, demoPoolFile, startXapiSimulator, type XapiSimulator } from '@xsctl/test/xapi-sim/index';
import { asRef } from '../xapi/ref.js';
import { XapiClient } from '../xapi/xapi-client.js';
import { XapiError } from '../xapi/xapi-error.js';
import { readPoolInput, readPoolRecords } from './read-pool-input.js';

/**
 * A workflow's or a service's signal lives for weeks in the controller and is passed to every
 * pool read. Each read of a record class listens to it twice while it runs (p-retry's listener
 * and the call's own guard), and the twelve classes are read at once: 24 listeners, and Node
 * warned "MaxListenersExceededWarning: Possible EventTarget memory leak detected. 11 abort
 * listeners added to [AbortSignal]" 72 times in one run of the suite (traced to
 * readPoolRecords -> XapiClient.getAllRecords -> pRetry / guard). These tests hold the fan-out
 * to what it is: bounded, every listener gone when the read ends, none of it on the caller's signal.
 */
let sim: XapiSimulator;
let xapi: XapiClient;
const warnings: Error[] = [];
const onWarning = (w: Error) => void (w.name === 'MaxListenersExceededWarning' && warnings.push(w));

beforeAll(async () => {
  sim = await startXapiSimulator({ source: { descriptionFile: demoPoolFile } });
  xapi = await XapiClient.connect({ url: sim.url, ...DEFAULT_SIM_CREDENTIALS, allowPlainHttp: true });
  process.on('warning', onWarning);
});

afterAll(async () => {
  process.off('warning', onWarning);
  await xapi?.close();
  await sim?.close();
});

const listeners = (s: AbortSignal) => getEventListeners(s, 'abort').length;
/**
 * Node's own record of the signals that follow `s` (AbortSignal.any's dependants, an internal
 * symbol): on Node 20 it is never pruned, so one entry per read of a long-lived signal is a leak.
 */
const dependants = (s: AbortSignal): number => {
  const key = Object.getOwnPropertySymbols(s).find((k) => k.description === 'kDependantSignals');
  return key === undefined ? 0 : ((s as unknown as Record<symbol, Set<unknown> | undefined>)[key]?.size ?? 0);
};

describe('pool reads on a long-lived signal', () => {
  it('leave no listener behind after 20 whole-pool reads (records, evacuation and boot-here questions), and never warn', async () => {
    const lifetime = new AbortController();
    const seen: number[] = [];
    for (let i = 0; i < 20; i++) {
      const reading = readPoolInput(xapi, { signal: lifetime.signal });
      // While the reads run, the caller's signal carries at most the one listener of the derived signal.
      seen.push(listeners(lifetime.signal));
      const input = await reading;
      expect(input.records.host.size).toBe(3);
      expect(listeners(lifetime.signal)).toBe(0);
    }
    expect(Math.max(...seen)).toBeLessThanOrEqual(1);
    // Nor anything Node keeps for it: AbortSignal.any here left 40 (two per read) on Node 20.
    expect(dependants(lifetime.signal)).toBe(0);
    // A warning is emitted on the next tick after the listener that crossed the limit.
    await new Promise((r) => setImmediate(r));
    expect(warnings).toEqual([]);
  });

  it('leave no listener behind when the calls fail (HANDLE_INVALID, 20 times)', async () => {
    const lifetime = new AbortController();
    for (let i = 0; i < 20; i++) {
      await expect(xapi.getRecord('host', asRef<'host'>('OpaqueRef:nonexistent'), { signal: lifetime.signal })).rejects.toBeInstanceOf(XapiError);
    }
    expect(listeners(lifetime.signal)).toBe(0);
  });

  it('still stop when the caller aborts', async () => {
    const lifetime = new AbortController();
    const reading = readPoolRecords(xapi, lifetime.signal);
    lifetime.abort(new Error('shutdown'));
    await expect(reading).rejects.toThrow();
    expect(listeners(lifetime.signal)).toBe(0);
  });
});
