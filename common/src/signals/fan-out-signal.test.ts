import { getEventListeners, getMaxListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { fanOutSignal } from './fan-out-signal.js';

describe('fanOutSignal: a signal of its own for a bounded fan-out, following the caller', () => {
  it("follows the caller's abort with the caller's reason, with the fan-out's own listener limit", () => {
    const caller = new AbortController();
    const { signal } = fanOutSignal(caller.signal, 25);
    expect(getMaxListeners(signal!)).toBe(25);
    // The caller's signal carries one listener of ours, whatever the fan-out puts on its own.
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(1);
    const reason = new Error('paused');
    caller.abort(reason);
    expect(signal!.aborted).toBe(true);
    expect(signal!.reason).toBe(reason);
  });

  it("release takes our listener off the caller's signal and aborts the fan-out's (calls a failure left in flight)", () => {
    const caller = new AbortController();
    const { signal, release } = fanOutSignal(caller.signal, 10, 'the wave ended');
    release();
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
    expect(signal!.aborted).toBe(true);
    expect((signal!.reason as Error).message).toBe('the wave ended');
    // The caller lives on, unaborted.
    expect(caller.signal.aborted).toBe(false);
  });

  it('a caller already aborted gives a fan-out signal already aborted, and no listener', () => {
    const caller = new AbortController();
    caller.abort(new Error('shutdown'));
    const { signal } = fanOutSignal(caller.signal, 10);
    expect(signal!.aborted).toBe(true);
    expect((signal!.reason as Error).message).toBe('shutdown');
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
  });

  it('no caller signal: no fan-out signal', () => {
    const { signal, release } = fanOutSignal(undefined, 10);
    expect(signal).toBeUndefined();
    release();
  });
});
