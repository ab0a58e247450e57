import { getMaxListeners } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoDescription, finish, simFor, startUpgrade } from './upgrade-helpers.js';

/**
 * A rolling upgrade's signal lives for the whole run. A wave of several hosts, each migrating
 * several VMs at once, put one or more listeners per XAPI call in flight on it, and Node warned
 * "MaxListenersExceededWarning: Possible EventTarget memory leak detected. 11 abort listeners
 * added to [AbortSignal]" (twice per --max-hosts-down 2 run of upgrade-inprocess.test.ts, traced to
 * waves -> host-stages -> migrate -> XapiClient). Every listener was removed when its call ended:
 * a bounded fan-out on a long-lived signal, now on a signal derived per wave (fanOutSignal).
 * These tests count the abort listeners of every signal while a run goes on.
 */
const live = new Map<AbortSignal, Set<unknown>>();
const peaks: { signal: AbortSignal; peak: number; limit: number }[] = [];
const add = EventTarget.prototype.addEventListener;
const remove = EventTarget.prototype.removeEventListener;
const warnings: Error[] = [];
/** Only while the run goes on: vitest's own listener on the running test's signal is not the run's. */
let counting = false;
/** Node 20's getMaxListeners throws for a signal whose limit was set to 0 (none): read that as 0. */
const limitOf = (s: AbortSignal): number => {
  try {
    return getMaxListeners(s);
  } catch {
    return 0;
  }
};
const onWarning = (w: Error) => void (w.name === 'MaxListenersExceededWarning' && warnings.push(w));

beforeAll(() => {
  // Counting wrappers: Node's own count (getEventListeners) cannot be read at the peak.
  EventTarget.prototype.addEventListener = function (this: EventTarget, ...args: Parameters<EventTarget['addEventListener']>) {
    const [type, listener] = args;
    if (counting && type === 'abort' && this instanceof AbortSignal && !this.aborted) {
      const set = live.get(this) ?? new Set();
      live.set(this, set);
      set.add(listener);
      peaks.push({ signal: this, peak: set.size, limit: limitOf(this) });
    }
    add.apply(this, args);
  };
  EventTarget.prototype.removeEventListener = function (this: EventTarget, ...args: Parameters<EventTarget['removeEventListener']>) {
    const [type, listener] = args;
    if (type === 'abort' && this instanceof AbortSignal) live.get(this)?.delete(listener);
    remove.apply(this, args);
  };
  process.on('warning', onWarning);
});

afterAll(() => {
  EventTarget.prototype.addEventListener = add;
  EventTarget.prototype.removeEventListener = remove;
  process.off('warning', onWarning);
});

describe('a rolling upgrade with hosts and migrations in parallel, and the abort listeners of its signals', () => {
  it('--max-hosts-down 2 --max-parallel 4: no signal carries more listeners than its limit, none is left behind, no warning', async () => {
    const sim = simFor(await demoDescription((d) => {
      for (const h of d.hosts) h.memoryGiB = 64;
    }));
    counting = true;
    try {
      const { engine, workflow } = startUpgrade(sim, { overrides: ['VM_REQUIRES_SR'], maxHostsDown: 2, maxParallel: 4 });
      const end = await engine.wait(workflow.id);
      expect(end.error).toBe('');
      expect(end.state).toBe('done');
    } finally {
      finish(sim);
      counting = false;
    }
    // Some signal did carry several listeners at once (the count sees the fan-out at all).
    expect(Math.max(...peaks.map((p) => p.peak))).toBeGreaterThan(4);
    // Node warns when a signal passes its limit (10 by default; 0 is none): none did.
    expect(peaks.filter((p) => p.limit > 0 && p.peak > p.limit).map((p) => `${p.peak} > ${p.limit}`)).toEqual([]);
    // Every listener on a signal that did not abort was removed (a once-listener goes when it fires).
    expect([...live].filter(([s, set]) => !s.aborted && set.size > 0).map(([, set]) => set.size)).toEqual([]);
    await new Promise((r) => setImmediate(r));
    expect(warnings).toEqual([]);
  });
});
