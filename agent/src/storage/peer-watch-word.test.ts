import { rm } from 'node:fs/promises';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StorageRole } from '@xsctl/proto/gen/xsctl/agent/v1/storage';
import { ProbeHost } from '@xsctl/test/storage/probe-host';
import { drbdHostRoot, peerWatchSpec, procDrbd84 } from '@xsctl/test/storage/storage-spec';
import type { CommandRunner } from '../exec/command-runner.js';
import { SandboxRoot } from '../fs/sandbox-root.js';
import type { AgentContext } from '../server/agent-context.js';
import { PeerWatch } from './peer-watch.js';
import { witnessWordOf } from './witness-word.js';

// The witness's word on who the storage master is (PeerWatchSpec.witness_role) reaches the
// boot-time role through the peer watch (witness-word.ts): every GetPeerView records it, and a new
// word does not restart the observation (the failover's own calls name nobody, the witness's
// name a master: forgetting the view at each change would leave the survivor without one).

let root = '';
let pw: PeerWatch | null = null;
let lift = (): void => undefined;
beforeEach(async () => {
  root = await drbdHostRoot('xsctl-peer-word-', procDrbd84({ cs: 'WFConnection', ro: 'Secondary/Unknown', ds: 'UpToDate/DUnknown' }));
});
afterEach(async () => {
  lift();
  await pw?.close();
  pw = null;
  await rm(root, { recursive: true, force: true });
});

describe('peer watch: the witness word', () => {
  it('each call records the word with its self-fence bound as validity; a new word keeps the observation, a new watch spec drops it', async () => {
    const host = new ProbeHost(() => 1);
    const ctx: AgentContext = { root: new SandboxRoot(root), runner: host as unknown as CommandRunner, logger: pino({ level: 'silent' }), stateDir: '/var/lib/xsctl' };
    pw = new PeerWatch(ctx);
    const master = peerWatchSpec({ selfFenceAfterMs: 4_000, witnessRole: StorageRole.STORAGE_ROLE_MASTER });
    const before = performance.now();
    await expect.poll(async () => (await pw!.heartbeat(master)).heldRole, { timeout: 10_000 }).toBe('slave');
    expect(witnessWordOf(ctx).latest()).toMatchObject({ role: StorageRole.STORAGE_ROLE_MASTER, validMs: 4_000 });
    expect(witnessWordOf(ctx).latest()!.at).toBeGreaterThanOrEqual(before);
    // Hold the next rounds in their probes: only a kept observation can answer now.
    host.gate = new Promise<void>((resolve) => (lift = resolve));
    const slave = peerWatchSpec({ selfFenceAfterMs: 4_000, witnessRole: StorageRole.STORAGE_ROLE_SLAVE });
    const v = await pw.heartbeat(slave);
    expect(witnessWordOf(ctx).latest()).toMatchObject({ role: StorageRole.STORAGE_ROLE_SLAVE, validMs: 4_000 });
    expect(v).toMatchObject({ heldRole: 'slave', warnings: [] });
    // Self-fencing off: the word is good for 1.5 s. And a real change of the watch (the bound) drops the view.
    const off = await pw.heartbeat(peerWatchSpec({ selfFenceAfterMs: 0, witnessRole: StorageRole.STORAGE_ROLE_SLAVE }));
    expect(witnessWordOf(ctx).latest()).toMatchObject({ role: StorageRole.STORAGE_ROLE_SLAVE, validMs: 1_500 });
    expect(off).toMatchObject({ heldRole: 'unknown', warnings: ['no observation yet'] });
  }, 30_000);
});
