import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ControllerContext } from '../../server/controller-context.js';
import { agentProbeMs, upgradeDeps } from './upgrade-service.js';

/**
 * Issue 11, storage-aware rolling upgrade: "the upgrade switches the storage over before it
 * disables, evacuates or reboots the storage master", and switches back afterwards. The storage
 * hook's own behaviour is test/e2e/storage-upgrade-hook.test.ts (on the namespaced lab); this is
 * where the real upgrade runs it: the stages each host goes through, in order.
 */
describe('the rolling upgrade with the storage hook', () => {
  it('moves the storage away before the host is disabled, emptied or rebooted, and back only once it is enabled again', () => {
    // The context is only captured by the stages' closures; building the list touches nothing.
    const names = upgradeDeps({} as ControllerContext).hostStages?.map((s) => s.name) ?? [];
    expect(names[0]).toBe('storage-away');
    expect(names.at(-1)).toBe('storage-back');
    expect(names.filter((n) => n.startsWith('storage-'))).toEqual(['storage-away', 'storage-back']);
    const at = (n: string) => names.indexOf(n);
    for (const down of ['disable', 'evacuate-and-install', 'reboot']) expect(at(down), down).toBeGreaterThan(at('storage-away'));
    expect(at('enable')).toBeGreaterThan(at('reboot'));
    expect(at('storage-back')).toBeGreaterThan(at('enable'));
  });
});

describe("the rolling upgrade's agent probe after a reboot", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /** A context whose host xs1's agent never answers GetFacts; `seen` is the signal the call got. */
  function silentAgent() {
    const seen: AbortSignal[] = [];
    const client = () => ({
      getFacts: (_req: unknown, options: { signal: AbortSignal }) => {
        seen.push(options.signal);
        return new Promise((_resolve, reject) => options.signal.addEventListener('abort', () => reject(options.signal.reason as Error)));
      },
    });
    const ctx = { pool: (name: string) => ({ name }), poolHosts: async () => [{ uuid: 'u1', name: 'xs1', agent: { client } }] } as unknown as ControllerContext;
    return { ctx, seen };
  }

  it('gives up on a silent agent after agentProbeMs, by a timer it holds, and leaves no listener on the workflow', async () => {
    // Fake timers move a held setTimeout; an AbortSignal.timeout() (Node 20 lets a gc() collect one
    // inside AbortSignal.any(), and then it never fires) does not move with them.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { ctx, seen } = silentAgent();
    const workflow = new AbortController();
    const probe = upgradeDeps(ctx).probeAgent!('lab', { uuid: 'u1', name: 'xs1', address: '10.0.0.1' }, workflow.signal);
    const outcome = probe.then(() => 'answered', (err: unknown) => (err as Error).message);
    await vi.advanceTimersByTimeAsync(agentProbeMs - 1);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(seen[0]!.aborted).toBe(true);
    expect(await outcome).toBe('the agent of xs1 did not answer within 10000 ms');
    expect(getEventListeners(workflow.signal, 'abort')).toHaveLength(0);
    expect(workflow.signal.aborted).toBe(false);
  });
});
