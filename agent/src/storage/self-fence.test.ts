import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { storageSpec } from '@xsctl/test/storage/storage-spec';
import { StuckRunner } from '@xsctl/test/storage/stuck-runner';
import type { CommandRunner } from '../exec/command-runner.js';
import { SandboxRoot } from '../fs/sandbox-root.js';
import type { AgentContext } from '../server/agent-context.js';
import { normalizeStorageSpec } from './assert-role.js';
import { selfFenceTearDown } from './self-fence.js';

let root = '';
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'xsctl-self-fence-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('self-fence tear-down: each step ends at its deadline', () => {
  it('a stuck `ip addr del` ends at its share of the budget even after garbage collections, and the next steps still run', async () => {
    // iproute stuck on a wedged netlink socket: the step's own deadline is all that ends it.
    const runner = new StuckRunner((command, args) => command === 'ip' && args[1] === 'del');
    const ctx: AgentContext = { root: new SandboxRoot(root), runner: runner as unknown as CommandRunner, logger: pino({ level: 'silent' }), stateDir: '/var/lib/xsctl' };
    const budgetMs = 400;
    const started = performance.now();
    // With AbortSignal.timeout() inside AbortSignal.any(), Node 20 collects the timeout and the
    // step never ends: the race below then answers 'stuck'.
    const done = selfFenceTearDown(ctx, normalizeStorageSpec(storageSpec(), ctx), budgetMs, new AbortController().signal);
    const r = await Promise.race([done, new Promise<'stuck'>((resolve) => setTimeout(() => resolve('stuck'), 3_000))]);
    expect(r).not.toBe('stuck');
    if (r === 'stuck') return;
    // The floating-ip step's share: 25% of 400 ms, written out in self-fence.ts.
    expect(r.steps[0]).toMatchObject({ name: 'floating-ip', ok: false, detail: 'deadline 100 ms passed' });
    expect(r.steps.map((s) => s.name)).toEqual(['floating-ip', 'target', 'drbd-secondary:iscsi1']);
    expect(r.steps.slice(1).every((s) => s.ok)).toBe(true);
    // The whole tear-down within its budget plus this test's slack (spawns are stubs here).
    expect(performance.now() - started).toBeLessThan(budgetMs + 600);
  });
});
