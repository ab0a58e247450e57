import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ProbeHost } from '@xsctl/test/storage/probe-host';
import { drbdHostRoot, peerWatchSpec, procDrbd84 } from '@xsctl/test/storage/storage-spec';
import type { CommandRunner } from '../exec/command-runner.js';
import { SandboxRoot } from '../fs/sandbox-root.js';
import type { AgentContext } from '../server/agent-context.js';
import { PeerWatch } from './peer-watch.js';

// The peer watch's early view (issue 11): a round's DRBD read reaches the witness before its ARP
// probes end (each waits up to a second when nobody answers: the lost peer's case), while the
// probes' fields keep their own age. The survivor's lost replication link is the failover's
// rule-3 evidence; its ARP answer for the floating IP is the self-fence evidence, which must never
// look fresher than it is.

// /proc/drbd, minor 1: a slave connected to its Primary peer, then the link lost (WFConnection, peer unknown).
const connected = procDrbd84({ ro: 'Secondary/Primary', ds: 'UpToDate/UpToDate' });
const lost = procDrbd84({ cs: 'WFConnection', ro: 'Secondary/Unknown', ds: 'UpToDate/DUnknown' });

const watch = peerWatchSpec();

let root = '';
let pw: PeerWatch | null = null;
beforeEach(async () => {
  root = await drbdHostRoot('xsctl-peer-early-', connected);
});
afterEach(async () => {
  await pw?.close();
  pw = null;
  await rm(root, { recursive: true, force: true });
});

describe('peer watch: the early view of a round', () => {
  it('reports the replication link lost while the next round\'s ARP probes still run, with the probes\' fields as old as they are', async () => {
    const host = new ProbeHost();
    host.drbdMs = 800;
    const ctx: AgentContext = { root: new SandboxRoot(root), runner: host as unknown as CommandRunner, logger: pino({ level: 'silent' }), stateDir: '/var/lib/xsctl' };
    pw = new PeerWatch(ctx);
    // A complete round first: connected, the peer answering, the floating IP answering elsewhere (the master).
    await expect.poll(async () => (await pw!.heartbeat(watch)).replicationReachable, { timeout: 10_000 }).toBe(true);
    expect(await pw.heartbeat(watch)).toMatchObject({ replicationConnected: true, floatingIpAnswersElsewhere: true });
    // Round N: held in its probes, its DRBD read (connected) done.
    let liftN = (): void => undefined;
    const heldFrom = host.calls.length;
    host.gate = new Promise<void>((resolve) => (liftN = resolve));
    await expect.poll(() => host.pending, { timeout: 10_000 }).toBeGreaterThan(0);
    // Its probes start with its DRBD read, so a held probe alone does not mean the read is done: the
    // link lost below must be round N+1's news, not round N's (under load round N read it).
    await expect.poll(() => host.drbdReadSince(heldFrom), { timeout: 10_000 }).toBe(true);
    // ... and that read (800 ms) is over, so round N ends when its probes are lifted.
    await new Promise((r) => setTimeout(r, 1_000));
    // The link goes; round N+1's probes will be held too, so only a view published before a
    // complete round can report it: round N+1's early view, or the link watch's read between
    // rounds (peer-watch-link.test.ts), whichever comes first.
    await writeFile(join(root, 'proc/drbd'), lost);
    let liftNext = (): void => undefined;
    host.gate = new Promise<void>((resolve) => (liftNext = resolve));
    liftN();
    const lifted = performance.now();
    try {
      await expect.poll(async () => (await pw!.heartbeat(watch)).replicationConnected, { timeout: 10_000 }).toBe(false);
      expect(host.pending).toBeGreaterThan(0);
      // Past round N+1's early view: round N ended at the lift, and round N+1's DRBD read took 800 ms after it.
      await new Promise((r) => setTimeout(r, Math.max(0, 1_800 - (performance.now() - lifted))));
      // Taken before the call: the view's age is computed inside it, later.
      const asked = performance.now();
      const early = await pw.heartbeat(watch);
      expect(host.pending).toBeGreaterThan(0);
      expect(early.drbd[0]).toMatchObject({ connection: 'WFConnection', role: 'Secondary' });
      // The probes' fields are round N's, and so is the age the view reports: round N ended at
      // the lift (give or take its last few steps, 300 ms at most here), so the view is as old as
      // the time since; an early view that took its own time as the age would be 800 ms younger.
      expect(early).toMatchObject({ replicationReachable: true, floatingIpAnswersElsewhere: true, floatingIpPresent: false });
      expect(Number(early.observedAgeMs)).toBeGreaterThanOrEqual(Math.floor(asked - lifted) - 300);
    } finally {
      liftNext();
      host.gate = null;
    }
    // A complete round is fresh again.
    await expect.poll(async () => Number((await pw!.heartbeat(watch)).observedAgeMs), { timeout: 10_000 }).toBeLessThan(300);
  }, 60_000);
});
