import { rm } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RecordingRunner } from '@xsctl/test/fuzz/recording-runner';
import { drbdHostRoot, ipAddrShowDev, peerWatchSpec, procDrbd84 } from '@xsctl/test/storage/storage-spec';
import type { CommandRunner } from '../exec/command-runner.js';
import { SandboxRoot } from '../fs/sandbox-root.js';
import type { AgentContext } from '../server/agent-context.js';
import { PeerWatch } from './peer-watch.js';

// The peer-fenced hold in the watch itself (issue 11, the lone survivor): a master whose peer is
// gone (DRBD WFConnection, no ARP answer), witness silent past its 200 ms bound. The decision's
// facts are in self-fence-decision.test.ts; here: the watch arms the hold when told, holds the
// tear-down, logs it once, shows it in the view, and ends it when the peer answers.

/** This node after a failover: Primary, its peer gone (8.4's WFConnection, the peer Unknown). */
const survivor = procDrbd84({ cs: 'WFConnection', ro: 'Primary/Unknown', ds: 'UpToDate/DUnknown' });
const FIP = '10.10.10.3';

/** The host's commands: the floating IP on eth1 until `ip addr del`, the peer answering ARP when `peerBack`. */
class Host extends RecordingRunner {
  peerBack = false;
  ipHere = true;
  constructor() {
    super(pino({ level: 'silent' }), (command, args) => {
      if (command === 'ip' && args[1] === 'show') return { stdout: ipAddrShowDev('eth1', this.ipHere ? [`${FIP}/24`] : []) };
      if (command === 'ip' && args[1] === 'del') {
        this.ipHere = false;
        return {};
      }
      if (command === 'drbdadm') return { stdout: '1\n' };
      // arping -D (the floating IP elsewhere): exit 0, nobody else; arping -q -c 1 to the peer: 0 answers, 1 silent.
      if (command === 'arping') return { exitCode: args[0] === '-D' ? 0 : this.peerBack ? 0 : 1 };
      return {};
    });
  }

  get tornDown(): boolean {
    return this.calls.some((c) => c.command === 'ip' && c.args[1] === 'del');
  }
}

const watchSpec = peerWatchSpec({ floatingIp: { address: FIP }, selfFenceAfterMs: 200 });

let root = '';
let pw: PeerWatch | null = null;
let lines: { msg: string; [k: string]: unknown }[] = [];
let host: Host;

beforeEach(async () => {
  root = await drbdHostRoot('xsctl-peer-hold-', survivor);
  lines = [];
  host = new Host();
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n').filter((x) => x !== '')) lines.push(JSON.parse(l) as { msg: string });
      done();
    },
  });
  const ctx: AgentContext = { root: new SandboxRoot(root), runner: host as unknown as CommandRunner, logger: pino({ level: 'info' }, sink), stateDir: '/var/lib/xsctl' };
  pw = new PeerWatch(ctx);
});
afterEach(async () => {
  await pw?.close();
  pw = null;
  await rm(root, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const logged = (re: RegExp) => lines.filter((l) => re.test(l.msg)).length;

/** Arms the watch with one heartbeat and waits for an observation of this node serving. */
async function armed(w: PeerWatch): Promise<void> {
  await expect.poll(async () => (await w.heartbeat(watchSpec)).heldRole, { timeout: 10_000 }).toBe('master');
}

/** Armed, then a completed power-fenced master assertion starts the hold; `ms` later it still serves. */
async function holding(w: PeerWatch, ms: number): Promise<void> {
  await armed(w);
  w.roleAsserted('start');
  await sleep(ms);
  expect(host.tornDown).toBe(false);
}

describe('peer watch: the peer-fenced hold', () => {
  it('without the hold, the same silence tears the master down (the harness sees a self-fence)', async () => {
    await armed(pw!);
    await expect.poll(() => host.tornDown, { timeout: 10_000 }).toBe(true);
    expect(logged(/^SELF-FENCE: replication link and witness lost while serving/)).toBe(1);
  }, 30_000);

  it('holds the tear-down while the peer stays silent, logs it once, shows it; ends when the peer answers ARP on replication', async () => {
    // Five times the 200 ms bound without a witness call: some 20 checks (every 50 ms) past the bound.
    await holding(pw!, 1_000);
    expect(logged(/^SELF-FENCE HELD: witness lost while serving, but the peer was fenced by power/)).toBe(1);
    expect(logged(/^SELF-FENCE: /)).toBe(0);
    const v = await pw!.heartbeat(watchSpec);
    expect(v).toMatchObject({ peerFencedHold: true, heldRole: 'master', selfFenced: false, replicationReachable: false });
    expect(Date.parse(v.peerFencedHoldSince)).toBeGreaterThan(Date.now() - 60_000);
    // The peer comes back on the replication network; the witness stays away: the normal rule fences.
    host.peerBack = true;
    await expect.poll(() => host.tornDown, { timeout: 10_000 }).toBe(true);
    expect(logged(/^PEER-FENCED HOLD ENDED: the peer answers on the replication link/)).toBe(1);
    expect(logged(/^SELF-FENCE: replication link and witness lost while serving/)).toBe(1);
    expect(await pw!.heartbeat(watchSpec)).toMatchObject({ peerFencedHold: false, peerFencedHoldSince: '' });
  }, 30_000);

  it('a later role assertion ends the hold (the role changed): the silence tears down', async () => {
    await holding(pw!, 600);
    pw!.roleAsserted('end');
    await expect.poll(() => host.tornDown, { timeout: 10_000 }).toBe(true);
    expect(logged(/^PEER-FENCED HOLD ENDED: a new role assertion/)).toBe(1);
  }, 30_000);

  it('a dry run (keep) leaves the hold as it is', async () => {
    await armed(pw!);
    pw!.roleAsserted('start');
    pw!.roleAsserted('keep');
    await sleep(800);
    expect(host.tornDown).toBe(false);
    expect((await pw!.heartbeat(watchSpec)).peerFencedHold).toBe(true);
  }, 30_000);
});
