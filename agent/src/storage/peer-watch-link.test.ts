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

// The peer watch's link watch (issue 11): a DRBD connection change reaches the witness as the
// kernel shows it in /proc/drbd, not at the next round, which waits for its ARP probes (a second
// each when nobody answers: the lost peer's case). The survivor's lost replication link is the
// failover's rule-3 evidence.

const connected = procDrbd84({ ro: 'Secondary/Primary', ds: 'UpToDate/UpToDate' });
const lost = procDrbd84({ cs: 'WFConnection', ro: 'Secondary/Unknown', ds: 'UpToDate/DUnknown' });

const watch = peerWatchSpec();

let root = '';
let pw: PeerWatch | null = null;
beforeEach(async () => {
  root = await drbdHostRoot('xsctl-peer-link-', connected);
});
afterEach(async () => {
  await pw?.close();
  pw = null;
  await rm(root, { recursive: true, force: true });
});

function start(host: ProbeHost): PeerWatch {
  const ctx: AgentContext = { root: new SandboxRoot(root), runner: host as unknown as CommandRunner, logger: pino({ level: 'silent' }), stateDir: '/var/lib/xsctl' };
  pw = new PeerWatch(ctx);
  return pw;
}

describe('peer watch: a replication link change between rounds', () => {
  it('reports the link lost while a round is held in its ARP probes, and the round that ends later does not put it back', async () => {
    const host = new ProbeHost();
    // The round after the one held reads DRBD for 600 ms: its start would otherwise publish the
    // held round's older state (Connected) for that long.
    host.drbdMs = 600;
    const w = start(host);
    await expect.poll(async () => (await w.heartbeat(watch)).replicationReachable, { timeout: 10_000 }).toBe(true);
    expect((await w.heartbeat(watch)).replicationConnected).toBe(true);
    // Every round from now on stays in its probes until lifted: only a read between rounds can see the change.
    let lift = (): void => undefined;
    host.gate = new Promise<void>((resolve) => (lift = resolve));
    const arpings = () => host.calls.filter((c) => c.command === 'arping').length;
    const before = arpings();
    await expect.poll(arpings, { timeout: 10_000 }).toBeGreaterThan(before);
    // Let the held round's own DRBD read (600 ms) finish first: it read Connected.
    await new Promise((r) => setTimeout(r, 900));
    const cut = performance.now();
    await writeFile(join(root, 'proc/drbd'), lost);
    await expect.poll(async () => (await w.heartbeat(watch)).replicationConnected, { timeout: 5_000, interval: 20 }).toBe(false);
    // The link watch reads /proc/drbd every 100 ms, then DRBD once (600 ms here): well under a second.
    expect(performance.now() - cut).toBeLessThan(1_500);
    const view = await w.heartbeat(watch);
    expect(view.drbd[0]).toMatchObject({ connection: 'WFConnection', peerRole: 'Unknown' });
    // The probes' fields are still the last complete round's: the peer answered then.
    expect(view.replicationReachable).toBe(true);
    // The held round ends now (its DRBD read was Connected) and the next one begins with a 600 ms
    // DRBD read: the view must stay lost all along.
    let liftNext = (): void => undefined;
    host.gate = new Promise<void>((resolve) => (liftNext = resolve));
    lift();
    try {
      const seen: boolean[] = [];
      for (let t = performance.now(); performance.now() - t < 1_000; ) {
        seen.push((await w.heartbeat(watch)).replicationConnected);
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(seen.length).toBeGreaterThan(10);
      expect(seen.filter((c) => c)).toEqual([]);
    } finally {
      liftNext();
      host.gate = null;
    }
  }, 60_000);

  it('publishes a link coming back as well (rule 3: Connected means a live peer), and nothing while it does not change', async () => {
    await writeFile(join(root, 'proc/drbd'), lost);
    const host = new ProbeHost();
    const w = start(host);
    await expect.poll(async () => (await w.heartbeat(watch)).replicationReachable, { timeout: 10_000 }).toBe(true);
    expect((await w.heartbeat(watch)).replicationConnected).toBe(false);
    let lift = (): void => undefined;
    host.gate = new Promise<void>((resolve) => (lift = resolve));
    try {
      const drbdadm = () => host.calls.filter((c) => c.command === 'drbdadm').length;
      // Held in probes, the link unchanged: no DRBD read between rounds (only /proc/drbd, a file).
      await new Promise((r) => setTimeout(r, 300));
      const idle = drbdadm();
      await new Promise((r) => setTimeout(r, 500));
      expect(drbdadm()).toBe(idle);
      await writeFile(join(root, 'proc/drbd'), connected);
      await expect.poll(async () => (await w.heartbeat(watch)).replicationConnected, { timeout: 1_500, interval: 20 }).toBe(true);
      expect(drbdadm()).toBe(idle + 1);
    } finally {
      lift();
      host.gate = null;
    }
  }, 60_000);
});
