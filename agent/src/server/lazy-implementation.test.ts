import { describe, expect, it } from 'vitest';
import { lazyImplementation } from './lazy-implementation.js';

const definition = { methods: { get: { responseStream: false }, watch: { responseStream: true } } } as const;

interface Impl {
  get(request: number, context: unknown): Promise<number>;
  watch(request: number, context: unknown): AsyncIterable<number>;
}

function counting(fail = 0) {
  let loads = 0;
  let failures = fail;
  const load = async (): Promise<Impl> => {
    loads++;
    await new Promise((r) => setTimeout(r, 10));
    if (failures > 0) {
      failures--;
      throw new Error('module did not load');
    }
    return {
      factor: 3,
      async get(this: { factor: number }, request: number) {
        return request * this.factor;
      },
      async *watch(request: number) {
        for (let i = 0; i < request; i++) yield i;
      },
    } as Impl;
  };
  return { load, loads: () => loads };
}

describe('lazyImplementation', () => {
  it('loads nothing until the first call, then once for concurrent first calls', async () => {
    const c = counting();
    const impl = lazyImplementation<Impl>(definition, c.load);
    expect(c.loads()).toBe(0);
    // The handler runs as a method of the loaded object (`this` is kept).
    expect(await Promise.all([impl.get(2, {}), impl.get(5, {}), impl.get(7, {})])).toEqual([6, 15, 21]);
    expect(c.loads()).toBe(1);
  });

  it('streams a server-streaming method from the loaded generator', async () => {
    const impl = lazyImplementation<Impl>(definition, counting().load);
    const got: number[] = [];
    for await (const v of impl.watch(4, {})) got.push(v);
    expect(got).toEqual([0, 1, 2, 3]);
  });

  it('fails the call whose load failed, and loads again on the next call', async () => {
    const c = counting(1);
    const impl = lazyImplementation<Impl>(definition, c.load);
    await expect(impl.get(1, {})).rejects.toThrow('module did not load');
    expect(await impl.get(1, {})).toBe(3);
    expect(c.loads()).toBe(2);
  });
});
