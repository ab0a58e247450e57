import { rm } from 'node:fs/promises';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RecordingRunner } from '@xsctl/test/fuzz/recording-runner';
import { drbdHostRoot, ipAddrShowDev, peerWatchSpec, procDrbd84 } from '@xsctl/test/storage/storage-spec';
import type { CommandRunner } from '../exec/command-runner.js';
import { SandboxRoot } from '../fs/sandbox-root.js';
import type { AgentContext } from '../server/agent-context.js';
import { PeerWatch } from './peer-watch.js';

// The peer watch keeps its duplicate address probes of the floating IP (the last four, with their
// times and outcomes): a promotion whose peer was fenced by power may stand on them (early-dad.ts).

const lost = procDrbd84({ cs: 'WFConnection', ro: 'Secondary/Unknown', ds: 'UpToDate/DUnknown' });
const watch = peerWatchSpec();
const ip = { address: watch.storage!.floatingIp!.address, iface: 'eth1' };

let root = '';
let pw: PeerWatch | null = null;
beforeEach(async () => {
  root = await drbdHostRoot('xsctl-peer-dad-', lost);
});
afterEach(async () => {
  await pw?.close();
  pw = null;
  await rm(root, { recursive: true, force: true });
});

describe('peer watch: its duplicate address probes', () => {
  it('records each probe with its outcome (answered, silent, failed) and keeps the last four, for this address and interface only', async () => {
    // arping -D answers in turn: exit 1 (a host claims it), exit 0 (nobody), exit 2 (failed), then nobody.
    const exits = [1, 0, 2];
    const rec = new RecordingRunner(pino({ level: 'silent' }), (command, args) => {
      if (command === 'drbdadm') return { stdout: '1\n' };
      if (command === 'ip') return { stdout: ipAddrShowDev('eth1', ['10.10.10.12/24']) };
      if (command === 'arping' && args[0] === '-D') return { exitCode: exits.shift() ?? 0 };
      return undefined;
    });
    const ctx: AgentContext = { root: new SandboxRoot(root), runner: rec as unknown as CommandRunner, logger: pino({ level: 'silent' }), stateDir: '/var/lib/xsctl' };
    pw = new PeerWatch(ctx);
    const w = pw;
    await w.heartbeat(watch);
    await expect.poll(() => w.dadProbes(ip).length, { timeout: 10_000 }).toBe(4);
    const probes = w.dadProbes(ip);
    expect(probes.slice(0, 3).map((p) => p.answered)).toEqual([true, false, null]);
    for (const [i, p] of probes.entries()) {
      expect(p.endedAt).toBeGreaterThanOrEqual(p.startedAt);
      if (i > 0) expect(p.startedAt).toBeGreaterThanOrEqual(probes[i - 1]!.endedAt);
    }
    // More rounds: still the last four, the newest last.
    await expect.poll(() => w.dadProbes(ip)[0]!.answered, { timeout: 10_000 }).toBe(false);
    expect(w.dadProbes(ip)).toHaveLength(4);
    expect(w.dadProbes({ ...ip, iface: 'eth0' })).toEqual([]);
    expect(w.dadProbes({ ...ip, address: '10.10.10.4' })).toEqual([]);
  }, 30_000);
});
