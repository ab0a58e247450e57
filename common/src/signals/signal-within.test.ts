import { getEventListeners } from 'node:events';
import { runInNewContext } from 'node:vm';
import v8 from 'node:v8';
import { describe, expect, it } from 'vitest';
import { signalWithin } from './signal-within.js';

describe('signalWithin: one call bounded in time', () => {
  it('aborts after its time, also after garbage collections (a held timer, not AbortSignal.timeout inside AbortSignal.any)', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const caller = new AbortController();
    const { signal, release } = signalWithin(caller.signal, 300, 'no answer within 300 ms');
    // A call listens to it, as a gRPC client does.
    let heard = false;
    signal.addEventListener('abort', () => (heard = true));
    for (let i = 0; i < 5; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(signal.aborted).toBe(false);
    await new Promise((r) => setTimeout(r, 700));
    expect(heard).toBe(true);
    expect((signal.reason as Error).message).toBe('no answer within 300 ms');
    release();
  });

  it("follows the caller's abort and reason before its time", () => {
    const caller = new AbortController();
    const { signal, release } = signalWithin(caller.signal, 60_000, 'late');
    const reason = new Error('workflow paused');
    caller.abort(reason);
    expect(signal.reason).toBe(reason);
    release();
  });

  it("release ends it and leaves no listener on the caller's signal", () => {
    const caller = new AbortController();
    const { signal, release } = signalWithin(caller.signal, 60_000, 'late');
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(1);
    release();
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
    expect(signal.aborted).toBe(true);
    expect(caller.signal.aborted).toBe(false);
  });
});
