import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ResourceBusyError, ResourceLocks } from './resource-locks.js';

describe('ResourceLocks', () => {
  it('runs calls on the same key one after the other, first come first served', async () => {
    const locks = new ResourceLocks();
    const order: string[] = [];
    const job = (name: string, ms: number) =>
      locks.with(['file:/etc/multipath.conf'], name, undefined, async () => {
        order.push(`${name}+`);
        await sleep(ms);
        order.push(`${name}-`);
      });
    await Promise.all([job('a', 40), job('b', 10), job('c', 1)]);
    expect(order).toEqual(['a+', 'a-', 'b+', 'b-', 'c+', 'c-']);
  });

  it('runs calls on other keys at the same time', async () => {
    const locks = new ResourceLocks();
    const order: string[] = [];
    const job = (key: string) =>
      locks.with([key], key, undefined, async () => {
        order.push(`${key}+`);
        await sleep(30);
        order.push(`${key}-`);
      });
    await Promise.all([job('drbd:r0'), job('drbd:r1')]);
    expect(order.slice(0, 2).sort()).toEqual(['drbd:r0+', 'drbd:r1+']);
  });

  it('does not let a later call overtake an earlier one that waits for more keys', async () => {
    const locks = new ResourceLocks();
    const order: string[] = [];
    const releaseA = await locks.acquire(['a'], 'first');
    const both = locks.acquire(['a', 'b'], 'both').then((r) => (order.push('both'), r));
    const onlyB = locks.acquire(['b'], 'onlyB').then((r) => (order.push('onlyB'), r));
    await sleep(20);
    expect(order).toEqual([]);
    releaseA();
    (await both)();
    (await onlyB)();
    expect(order).toEqual(['both', 'onlyB']);
  });

  it('gives up waiting when the call is cancelled (RESOURCE_BUSY, naming the holder), and the queue moves on', async () => {
    const locks = new ResourceLocks();
    const release = await locks.acquire(['tgtd:0'], '/xsctl.agent.v1.TargetService/StopTgtd');
    const ac = new AbortController();
    const waiting = locks.acquire(['tgtd:0'], 'second', ac.signal);
    const third = locks.acquire(['tgtd:0'], 'third');
    ac.abort();
    const err = await waiting.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ResourceBusyError);
    expect(err).toMatchObject({ code: 'RESOURCE_BUSY', heldBy: '/xsctl.agent.v1.TargetService/StopTgtd', keys: ['tgtd:0'] });
    release();
    release(); // twice is harmless
    (await third)();
    expect(locks.holders().size).toBe(0);
  });

  it('never lets two holders share a key, and every call finishes (random calls over random key sets)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.subarray(['a', 'b', 'c', 'd'], { minLength: 1 }), fc.integer({ min: 0, max: 3 })), { minLength: 2, maxLength: 12 }), async (calls) => {
        const locks = new ResourceLocks();
        const inUse = new Set<string>();
        let overlaps = 0;
        await Promise.all(
          calls.map(([keys, ms], i) =>
            locks.with(keys, `c${i}`, undefined, async () => {
              for (const k of keys) if (inUse.has(k)) overlaps++;
              for (const k of keys) inUse.add(k);
              await sleep(ms);
              for (const k of keys) inUse.delete(k);
            }),
          ),
        );
        expect(overlaps).toBe(0);
        expect(locks.holders().size).toBe(0);
      }),
      { numRuns: 60, seed: 5050 },
    );
  });
});
