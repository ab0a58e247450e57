import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@xsctl/common/log/create-logger';
import { DrbdSyntax, FailoverReason, SplitBrainSide, SplitBrainState, type DrbdResourceSpec } from '@xsctl/proto/gen/xsctl/agent/v1/drbd';
import { CommandRunner } from '../exec/command-runner.js';
import { SandboxRoot } from '../fs/sandbox-root.js';
import type { AgentContext } from '../server/agent-context.js';
import { drbdadm, attach, bringUp, connect, createMetadata, demote, disconnect, initialSync, promote, readStatus, resolveSplitBrain, shAnswer } from './drbd-ops.js';
import { normalizeDrbdSpec } from './drbd-spec.js';
import { drbdService } from './drbd-service.js';
import { renderDrbdConf } from './render-drbd-conf.js';
import { drbdNetTimerLines, drbdNetTimers } from '@xsctl/common/drbd/drbd-net-timers';
import { drbdSimPath, drbdSimRunnerOptions } from '@xsctl/test/drbd-sim/drbd-sim-runner';

const logger = createLogger('test', { level: 'silent' });
const disk = '/dev/xsvg/drbd1';
const spec: DrbdResourceSpec = {
  name: 'iscsi1',
  minor: 1,
  nodes: [
    { hostname: 'XCP1', disk, address: '127.0.0.1', port: 7789 },
    { hostname: 'XCP2', disk, address: '10.77.0.2', port: 7789 },
  ],
  protocol: 'C',
  afterSb0pri: '',
  afterSb1pri: '',
  afterSb2pri: '',
  sharedSecret: 'PUTyourSECREThere',
  cramHmacAlg: 'sha1',
  resyncRate: '',
  quorum: '',
  onNoQuorum: '',
};

interface Cluster {
  ctx: AgentContext;
  root: string;
  /** Reads the simulated kernel state with calls the agent never makes (outside the tool-option table). */
  inspector: CommandRunner;
  /** XCP2, played by calling the simulator directly (drbdadm would insist on owning 10.77.0.2). */
  peer(args: readonly string[]): Promise<{ exitCode: number | undefined; stderr: string; stdout: string }>;
}

const bases: string[] = [];
afterAll(async () => {
  for (const b of bases) await rm(b, { recursive: true, force: true });
});

async function cluster(kernelVersion: string, syntax: DrbdSyntax): Promise<Cluster> {
  await chmod(drbdSimPath(), 0o755);
  const base = await mkdtemp(join(tmpdir(), 'xsctl-drbdsim-'));
  bases.push(base);
  const root = join(base, 'xcp1');
  const peerRoot = join(base, 'xcp2');
  const simDir = join(base, 'sim');
  await mkdir(join(root, 'etc'), { recursive: true });
  await mkdir(join(root, 'dev/xsvg'), { recursive: true });
  await writeFile(join(root, 'etc/drbd.conf'), renderDrbdConf([normalizeDrbdSpec(spec)], syntax));
  await writeFile(join(root, disk), Buffer.alloc(8 * 1024 * 1024));
  const runner = new CommandRunner({ logger, ...drbdSimRunnerOptions({ node: 'XCP1', kernelVersion, root, simDir }) });
  const ctx: AgentContext = { root: new SandboxRoot(root), runner, logger, stateDir: '/var/lib/xsctl-agent' };
  const peerEnv = drbdSimRunnerOptions({ node: 'XCP2', kernelVersion, root: peerRoot, simDir }).env ?? {};
  return {
    ctx,
    root,
    inspector: new CommandRunner({ logger, checkToolOptions: false, ...drbdSimRunnerOptions({ node: 'XCP1', kernelVersion, root, simDir }) }),
    async peer(args) {
      const r = await execa(drbdSimPath(), args, { reject: false, env: { ...peerEnv }, extendEnv: false });
      return { exitCode: r.exitCode, stderr: r.stderr, stdout: r.stdout };
    },
  };
}

/** XCP2 brings the resource up the way drbdadm would. */
async function peerUp(c: Cluster, syntax: DrbdSyntax): Promise<void> {
  const steps =
    syntax === DrbdSyntax.DRBD_SYNTAX_V9
      ? [
          ['1', 'v09', disk, 'internal', 'create-md', '1'],
          ['new-resource', 'iscsi1', '1'],
          ['new-minor', 'iscsi1', '1', '0'],
          ['new-peer', 'iscsi1', '0', '--_name=XCP1', '--protocol=C'],
          ['new-path', 'iscsi1', '0', 'ipv4:10.77.0.2:7789', 'ipv4:127.0.0.1:7789'],
          ['attach', '1', disk, disk, 'internal'],
          ['connect', 'iscsi1', '0'],
        ]
      : [
          ['1', 'v08', disk, 'internal', 'create-md'],
          ['new-resource', 'iscsi1'],
          ['new-minor', 'iscsi1', '1', '0'],
          ['attach', '1', disk, disk, 'internal'],
          ['connect', 'iscsi1', 'ipv4:10.77.0.2:7789', 'ipv4:127.0.0.1:7789', '--protocol=C'],
        ];
  for (const s of steps) expect((await c.peer(s)).exitCode).toBe(0);
}

const peerPrimary = (c: Cluster, syntax: DrbdSyntax) => c.peer(['primary', syntax === DrbdSyntax.DRBD_SYNTAX_V9 ? 'iscsi1' : '1']);
const peerSecondary = (c: Cluster, syntax: DrbdSyntax) => c.peer(['secondary', syntax === DrbdSyntax.DRBD_SYNTAX_V9 ? 'iscsi1' : '1']);
const peerConnect = (c: Cluster, syntax: DrbdSyntax) =>
  c.peer(syntax === DrbdSyntax.DRBD_SYNTAX_V9 ? ['connect', 'iscsi1', '0'] : ['connect', 'iscsi1', 'ipv4:10.77.0.2:7789', 'ipv4:127.0.0.1:7789']);

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'OK';
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}

describe.each([
  ['8.4', '8.4.11', DrbdSyntax.DRBD_SYNTAX_V84, 'WFConnection'],
  ['9', '9.1.0', DrbdSyntax.DRBD_SYNTAX_V9, 'Connecting'],
])('DRBD %s through the real drbdadm and the simulator', (_name, kernelVersion, syntax, waiting) => {
  let c: Cluster;
  beforeAll(async () => {
    c = await cluster(kernelVersion, syntax);
  });

  it('reports the resource Unconfigured before anything ran', async () => {
    const s = await readStatus(c.ctx, null);
    expect(s.version.syntax).toBe(syntax);
    expect(s.resources).toEqual([expect.objectContaining({ name: 'iscsi1', minor: 1, role: 'Unconfigured' })]);
  });

  it('create-md: a dry run by default; refuses a filesystem or LVM signature; wipes only when told', async () => {
    const dry = await createMetadata(c.ctx, 'iscsi1', false, false);
    expect(dry).toMatchObject({ backingDisk: disk, signatures: [], result: { dryRun: true, changed: false, commands: ['drbdadm create-md iscsi1'] } });

    await execa('mkfs.ext4', ['-q', '-F', join(c.root, disk)]);
    expect((await createMetadata(c.ctx, 'iscsi1', false, false)).signatures).toEqual(['ext4']);
    expect(await codeOf(createMetadata(c.ctx, 'iscsi1', true, false))).toBe('DRBD_DISK_HAS_SIGNATURE');

    await writeFile(join(c.root, disk), lvmPhysicalVolume());
    expect(await codeOf(createMetadata(c.ctx, 'iscsi1', true, false))).toBe('DRBD_DISK_HAS_SIGNATURE');
    const wiped = await createMetadata(c.ctx, 'iscsi1', true, true);
    expect(wiped.signatures).toEqual(['LVM2_member']);
    expect(wiped.result).toMatchObject({ changed: true, commands: [`wipefs -a ${disk}`, 'drbdadm create-md iscsi1'] });
    expect((await execa('blkid', ['-p', join(c.root, disk)], { reject: false })).exitCode).toBe(2);
    // Now the disk holds DRBD metadata (drbdadm dump-md reads it): a second create-md is refused.
    const again = await createMetadata(c.ctx, 'iscsi1', false, false);
    expect(again).toMatchObject({ metadataPresent: true, result: { commands: [] } });
    expect(await codeOf(createMetadata(c.ctx, 'iscsi1', true, false))).toBe('DRBD_METADATA_PRESENT');
  });

  it('attach brings the resource up: Secondary, Inconsistent, waiting for the peer', async () => {
    const r = await attach(c.ctx, 'iscsi1');
    expect(r.changed).toBe(true);
    expect(r.commands).toEqual(['drbdadm up iscsi1']);
    expect(r.state).toMatchObject({ role: 'Secondary', disk: 'Inconsistent', connection: waiting, peerDisk: 'DUnknown' });
    expect((await attach(c.ctx, 'iscsi1')).changed).toBe(false);
  });

  it('refuses to promote Inconsistent data; the simulator refuses it too, with exit 17', async () => {
    expect(await codeOf(promote(c.ctx, 'iscsi1', undefined))).toBe('DRBD_NOT_UP_TO_DATE');
    const err = await drbdadm(c.ctx, 'iscsi1', ['primary', 'iscsi1']).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'DRBD_STATE_CHANGE_FAILED', exitCode: 17, kernelCode: -2, reason: 'Need access to UpToDate data' });
  });

  it('initial sync needs the peer connected and Inconsistent, and a confirmation', async () => {
    expect(await codeOf(initialSync(c.ctx, 'iscsi1', true))).toBe('DRBD_INITIAL_SYNC_REFUSED');
    await peerUp(c, syntax);
    const s = await readStatus(c.ctx, 'iscsi1');
    expect(s.resources[0]).toMatchObject({ connection: 'Connected', disk: 'Inconsistent', peerDisk: 'Inconsistent', peerRole: 'Secondary' });
    const dry = await initialSync(c.ctx, 'iscsi1', false);
    expect(dry).toMatchObject({ dryRun: true, changed: false, commands: ['drbdadm primary --force iscsi1'] });
    expect(dry.state?.role).toBe('Secondary');
    const done = await initialSync(c.ctx, 'iscsi1', true);
    expect(done.state).toMatchObject({ role: 'Primary', disk: 'UpToDate', peerDisk: 'UpToDate', connection: 'Connected' });
    expect(await codeOf(initialSync(c.ctx, 'iscsi1', true))).toBe('DRBD_INITIAL_SYNC_REFUSED');
  });

  it('with a connected peer: the kernel refuses a second Primary, and so do we', async () => {
    const second = await peerPrimary(c, syntax);
    expect(second.exitCode).toBe(11);
    expect(second.stderr).toContain('State change failed: (-1) Multiple primaries not allowed by config');
    expect((await demote(c.ctx, 'iscsi1')).state).toMatchObject({ role: 'Secondary' });
    expect((await peerPrimary(c, syntax)).exitCode).toBe(0);
    expect(await codeOf(promote(c.ctx, 'iscsi1', undefined))).toBe('DRBD_PEER_PRIMARY');
    expect((await peerSecondary(c, syntax)).exitCode).toBe(0);
    const up = await promote(c.ctx, 'iscsi1', undefined);
    expect(up).toMatchObject({ changed: true, commands: ['drbdadm primary iscsi1'] });
    expect(up.state).toMatchObject({ role: 'Primary', peerRole: 'Secondary' });
    expect((await promote(c.ctx, 'iscsi1', undefined)).changed).toBe(false);
    expect((await demote(c.ctx, 'iscsi1')).changed).toBe(true);
  });

  it('rule 3: a failover promotion is refused while the replication link is Connected (the peer is alive)', async () => {
    const failover = (failoverReason: FailoverReason) => ({ peerFenced: true, peerFencedByPower: false, witnessAddress: '', witnessInterface: '', failoverReason });
    expect((await readStatus(c.ctx, 'iscsi1')).resources[0]).toMatchObject({ role: 'Secondary', peerRole: 'Secondary', connection: 'Connected', disk: 'UpToDate' });
    // Even with the peer claimed fenced: a Connected link proves it is not.
    const err = await promote(c.ctx, 'iscsi1', failover(FailoverReason.FAILOVER_REASON_MANAGEMENT_LINK_LOST)).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'DRBD_PEER_ALIVE', connection: 'Connected', reason: 'management-link-lost' });
    expect(await codeOf(promote(c.ctx, 'iscsi1', failover(FailoverReason.FAILOVER_REASON_PEER_HOST_NOT_LIVE)))).toBe('DRBD_PEER_ALIVE');
    expect(await codeOf(promote(c.ctx, 'iscsi1', failover(99 as FailoverReason)))).toBe('DRBD_PEER_ALIVE');
    // Nothing ran: still Secondary. The dry run refuses too.
    expect((await readStatus(c.ctx, 'iscsi1')).resources[0]?.role).toBe('Secondary');
    expect(await codeOf(promote(c.ctx, 'iscsi1', failover(FailoverReason.FAILOVER_REASON_MANAGEMENT_LINK_LOST), undefined, true))).toBe('DRBD_PEER_ALIVE');
  });

  it('a disconnected peer must be fenced (or outvoted) before we promote', async () => {
    expect((await disconnect(c.ctx, 'iscsi1')).state).toMatchObject({ connection: 'StandAlone', peerRole: 'Unknown' });
    expect(await codeOf(promote(c.ctx, 'iscsi1', undefined))).toBe('DRBD_PEER_UNVERIFIED');
    expect(await codeOf(promote(c.ctx, 'iscsi1', { peerFenced: false, peerFencedByPower: false, witnessAddress: '', witnessInterface: '', failoverReason: FailoverReason.FAILOVER_REASON_UNSPECIFIED }))).toBe('DRBD_PEER_UNVERIFIED');
    // The link is down: a failover for a lost management link is possible, once the peer is fenced.
    expect(await codeOf(promote(c.ctx, 'iscsi1', { peerFenced: false, peerFencedByPower: false, witnessAddress: '', witnessInterface: '', failoverReason: FailoverReason.FAILOVER_REASON_MANAGEMENT_LINK_LOST }))).toBe('DRBD_PEER_UNVERIFIED');
    const up = await promote(c.ctx, 'iscsi1', { peerFenced: true, peerFencedByPower: false, witnessAddress: '', witnessInterface: '', failoverReason: FailoverReason.FAILOVER_REASON_MANAGEMENT_LINK_LOST });
    expect(up.state).toMatchObject({ role: 'Primary', connection: 'StandAlone' });
  });

  it('both sides wrote apart: split brain is detected, connect is refused, the named victim recovers', async () => {
    // XCP2 also became Primary while apart (a second master): both data sets changed.
    expect((await peerPrimary(c, syntax)).exitCode).toBe(0);
    expect((await peerSecondary(c, syntax)).exitCode).toBe(0);
    await connect(c.ctx, 'iscsi1');
    const s = (await readStatus(c.ctx, 'iscsi1')).resources[0];
    expect(s).toMatchObject({ connection: 'StandAlone', splitBrain: SplitBrainState.SPLIT_BRAIN_STATE_DETECTED });
    expect(s?.splitBrainEvidence).toMatch(/Split-Brain detected but unresolved, dropping connection!/);
    expect(await readFile(join(c.root, 'var/log/kern.log'), 'utf8')).toMatch(/Split-Brain detected/);
    expect(await codeOf(connect(c.ctx, 'iscsi1'))).toBe('DRBD_SPLIT_BRAIN_REFUSED');

    // We are Primary: discarding our data under a running target is refused.
    expect(await codeOf(resolveSplitBrain(c.ctx, 'iscsi1', SplitBrainSide.SPLIT_BRAIN_SIDE_VICTIM, true))).toBe('DRBD_SPLIT_BRAIN_REFUSED');
    await demote(c.ctx, 'iscsi1');
    const plan = await resolveSplitBrain(c.ctx, 'iscsi1', SplitBrainSide.SPLIT_BRAIN_SIDE_VICTIM, false);
    expect(plan).toMatchObject({ dryRun: true, commands: ['drbdadm connect --discard-my-data iscsi1'] });
    const victim = await resolveSplitBrain(c.ctx, 'iscsi1', SplitBrainSide.SPLIT_BRAIN_SIDE_VICTIM, true);
    expect(victim.state?.connection).toBe(waiting);
    expect((await peerConnect(c, syntax)).exitCode).toBe(0); // the survivor reconnects
    const healed = (await readStatus(c.ctx, 'iscsi1')).resources[0];
    expect(healed).toMatchObject({ connection: 'Connected', disk: 'UpToDate', peerDisk: 'UpToDate', splitBrain: SplitBrainState.SPLIT_BRAIN_STATE_NONE });
  });

  it('the service renders with the detected syntax and refuses a config drbdadm rejects', async () => {
    const svc = drbdService(c.ctx);
    const call = { signal: new AbortController().signal } as never;
    const r = await svc.renderDrbdConfig({ resources: [spec], syntax: DrbdSyntax.DRBD_SYNTAX_UNSPECIFIED }, call);
    expect(r.syntax).toBe(syntax);
    const w = await svc.writeDrbdConfig({ resources: [spec], syntax: DrbdSyntax.DRBD_SYNTAX_UNSPECIFIED, confirm: false }, call);
    expect(w).toMatchObject({ changed: false, written: false, path: '/etc/drbd.conf' });
    const changedSpec = { ...spec, resyncRate: '50M' };
    const w2 = await svc.writeDrbdConfig({ resources: [changedSpec], syntax: DrbdSyntax.DRBD_SYNTAX_UNSPECIFIED, confirm: true }, call);
    expect(w2).toMatchObject({ changed: true, written: true });
    expect(w2.backup).toMatch(/^\/var\/lib\/xsctl-agent\/backups\/drbd\.conf\./);
    expect(await readFile(join(c.root, 'etc/drbd.conf'), 'utf8')).toContain('resync-rate 50M;');
  });
});

describe('DRBD 8.4: storage setup rewrites drbd.conf under an up resource (issue 11)', () => {
  const call = { signal: new AbortController().signal } as never;
  const timerLines = drbdNetTimerLines(drbdNetTimers);
  /** The file of a pool set up before the fast-failover net section: DRBD's 10 s keep-alive. */
  const oldConf = renderDrbdConf([normalizeDrbdSpec(spec)], DrbdSyntax.DRBD_SYNTAX_V84)
    .split('\n')
    .filter((l) => !timerLines.includes(l.trim()))
    .join('\n');
  /** What the (simulated) kernel holds: `drbdsetup show`, which drbdadm adjust compares with. */
  const kernelNet = async (c: Cluster) => (await c.inspector.run('drbdsetup', ['show', 'iscsi1'])).stdout;
  // drbdadm adjust sends the whole net section again, --set-defaults first (drbd-utils 8.4 adm_adjust).
  const netOptions = /net-options ipv4:127\.0\.0\.1:7789 ipv4:10\.77\.0\.2:7789 --set-defaults .*--ping-int=1 --ping-timeout=5 --timeout=9 --connect-int=10 --ko-count=47/;

  async function upWithOldConf(): Promise<Cluster> {
    const c = await cluster('8.4.11', DrbdSyntax.DRBD_SYNTAX_V84);
    await writeFile(join(c.root, 'etc/drbd.conf'), oldConf);
    await createMetadata(c.ctx, 'iscsi1', true, false);
    await bringUp(c.ctx, 'iscsi1');
    expect(await kernelNet(c)).not.toMatch(/ping-int/);
    return c;
  }

  it('a dry run prints the drbdsetup commands adjust would run and changes neither the file nor the kernel', async () => {
    const c = await upWithOldConf();
    const w = await drbdService(c.ctx).writeDrbdConfig({ resources: [spec], syntax: DrbdSyntax.DRBD_SYNTAX_UNSPECIFIED, confirm: false }, call);
    expect(w).toMatchObject({ changed: true, written: false });
    expect(w.adjusts).toEqual([{ resource: 'iscsi1', commands: [expect.stringMatching(netOptions)], applied: false }]);
    expect(JSON.stringify(w.adjusts)).not.toContain(spec.sharedSecret);
    expect(await readFile(join(c.root, 'etc/drbd.conf'), 'utf8')).toBe(oldConf);
    expect(await kernelNet(c)).not.toMatch(/ping-int/);
  });

  it('a confirmed write adjusts an up resource after the write: the kernel takes the new net section', async () => {
    const c = await upWithOldConf();
    const w = await drbdService(c.ctx).writeDrbdConfig({ resources: [spec], syntax: DrbdSyntax.DRBD_SYNTAX_UNSPECIFIED, confirm: true }, call);
    expect(w).toMatchObject({ changed: true, written: true });
    expect(w.adjusts).toEqual([{ resource: 'iscsi1', commands: [expect.stringMatching(netOptions)], applied: true }]);
    // Values only the new file has: the adjust read it after it was written.
    expect(await kernelNet(c)).toMatch(/ping-int\s+1;[\s\S]*ping-timeout\s+5;[\s\S]*ko-count\s+47;/);
    expect((await readStatus(c.ctx, 'iscsi1')).resources[0]).toMatchObject({ role: 'Secondary', connection: 'WFConnection' });
    // Nothing left to load: a second dry run of adjust prints nothing.
    expect((await c.inspector.run('drbdadm', ['-d', 'adjust', 'iscsi1'])).stdout.trim()).toBe('');
  });

  it('no adjust when the file did not change, even if the kernel differs from it', async () => {
    const c = await upWithOldConf();
    await writeFile(join(c.root, 'etc/drbd.conf'), renderDrbdConf([normalizeDrbdSpec(spec)], DrbdSyntax.DRBD_SYNTAX_V84));
    const w = await drbdService(c.ctx).writeDrbdConfig({ resources: [spec], syntax: DrbdSyntax.DRBD_SYNTAX_UNSPECIFIED, confirm: true }, call);
    expect(w).toMatchObject({ changed: false, written: false, adjusts: [] });
    expect(await kernelNet(c)).not.toMatch(/ping-int/);
  });

  it('no adjust for a resource that is not up: it stays down (the boot/role path brings it up)', async () => {
    const c = await cluster('8.4.11', DrbdSyntax.DRBD_SYNTAX_V84);
    await writeFile(join(c.root, 'etc/drbd.conf'), oldConf);
    await createMetadata(c.ctx, 'iscsi1', true, false);
    const w = await drbdService(c.ctx).writeDrbdConfig({ resources: [spec], syntax: DrbdSyntax.DRBD_SYNTAX_UNSPECIFIED, confirm: true }, call);
    expect(w).toMatchObject({ changed: true, written: true, adjusts: [] });
    expect((await readStatus(c.ctx, 'iscsi1')).resources[0]).toMatchObject({ role: 'Unconfigured' });
  });
});

describe('DRBD 8.3 through drbdadm-83 and the simulator', () => {
  it("brings a resource up in the how-to's order (attach, syncer, connect) with its 100M resync rate", async () => {
    const c = await cluster('8.3.16', DrbdSyntax.DRBD_SYNTAX_V83);
    await createMetadata(c.ctx, 'iscsi1', true, false);
    const up = await bringUp(c.ctx, 'iscsi1');
    expect(up.commands).toEqual(['drbdadm attach iscsi1', 'drbdadm syncer iscsi1', 'drbdadm connect iscsi1']);
    expect(up.state).toMatchObject({ role: 'Secondary', disk: 'Inconsistent', connection: 'WFConnection' });
    // What the (simulated) kernel holds: the rate the how-to sets, not 8.3's 250 KB/s default.
    expect((await c.inspector.run('drbdsetup', ['1', 'show'])).stdout).toMatch(/rate\s+100M;/);
    expect((await bringUp(c.ctx, 'iscsi1')).commands).toEqual([]);
    // A connect after a plain attach (by hand, or an older agent) loads the syncer first.
    await disconnect(c.ctx, 'iscsi1');
    expect((await connect(c.ctx, 'iscsi1')).commands).toEqual(['drbdadm syncer iscsi1', 'drbdadm connect iscsi1']);
  });

  it('the simulator refuses a connect whose syncer settings were never loaded (attach, connect as before)', async () => {
    const c = await cluster('8.3.16', DrbdSyntax.DRBD_SYNTAX_V83);
    await createMetadata(c.ctx, 'iscsi1', true, false);
    await drbdadm(c.ctx, 'iscsi1', ['attach', 'iscsi1']);
    const err = await drbdadm(c.ctx, 'iscsi1', ['connect', 'iscsi1']).catch((e: unknown) => e);
    expect(err).toMatchObject({ exitCode: 20 });
    expect((err as Error).message).toMatch(/net before syncer/);
    expect((await readStatus(c.ctx, 'iscsi1')).resources[0]?.connection).toBe('StandAlone');
  });

  it('up, refused promotion, and the 8.3 split-brain syntax', async () => {
    const c = await cluster('8.3.16', DrbdSyntax.DRBD_SYNTAX_V83);
    await createMetadata(c.ctx, 'iscsi1', true, false);
    const up = await attach(c.ctx, 'iscsi1');
    expect(up.commands).toEqual(['drbdadm attach iscsi1', 'drbdadm syncer iscsi1']);
    await connect(c.ctx, 'iscsi1');
    const s = await readStatus(c.ctx, 'iscsi1');
    expect(s.source).toBe('proc-drbd');
    expect(s.resources[0]).toMatchObject({ role: 'Secondary', disk: 'Inconsistent', connection: 'WFConnection' });
    expect(await readFile(join(c.root, 'proc/drbd'), 'utf8')).toMatch(/^version: 8\.3\.16 \(api:88/);
    expect(await codeOf(promote(c.ctx, 'iscsi1', { peerFenced: true, peerFencedByPower: false, witnessAddress: '', witnessInterface: '', failoverReason: FailoverReason.FAILOVER_REASON_UNSPECIFIED }))).toBe('DRBD_NOT_UP_TO_DATE');
    await disconnect(c.ctx, 'iscsi1');
    const plan = await resolveSplitBrain(c.ctx, 'iscsi1', SplitBrainSide.SPLIT_BRAIN_SIDE_VICTIM, false);
    expect(plan.commands).toEqual(['drbdadm -- --discard-my-data connect iscsi1']);
    const done = await resolveSplitBrain(c.ctx, 'iscsi1', SplitBrainSide.SPLIT_BRAIN_SIDE_VICTIM, true);
    expect(done.state?.connection).toBe('WFConnection');
  });
});

/** An 8 MiB image with a valid LVM2 physical-volume label (blkid checks its CRC). */
function lvmPhysicalVolume(): Buffer {
  const buf = Buffer.alloc(8 * 1024 * 1024);
  const label = buf.subarray(512, 1024);
  label.write('LABELONE', 0, 'latin1');
  label.writeBigUInt64LE(1n, 8);
  label.writeUInt32LE(32, 20);
  label.write('LVM2 001', 24, 'latin1');
  label.write('xsctlxsctlxsctlxsctlxsctlxsctl01', 32, 'latin1');
  label.writeBigUInt64LE(BigInt(buf.length), 64);
  const t = [0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4, 0x4db26158, 0x5005713c, 0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c, 0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c];
  let crc = 0xf597a6cf;
  for (const b of label.subarray(20)) {
    crc ^= b;
    crc = (crc >>> 4) ^ (t[crc & 0xf] ?? 0);
    crc = (crc >>> 4) ^ (t[crc & 0xf] ?? 0);
  }
  label.writeUInt32LE(crc >>> 0, 16);
  return buf;
}

describe('drbdadm sh-* answers', () => {
  it('reads the answer after the "register the current config file?" prompt drbdadm prints on stdout', () => {
    // Captured from drbdadm 9.x (`sh-minor iscsi1` with -c naming another file than the one
    // registered for minor 1 in /var/lib/drbd): the prompt and its forced answer come first.
    const stdout = '\nDo you want to proceed and register the current config file?\n*** confirmation forced via --force option ***\n1\n';
    expect(shAnswer(stdout)).toBe('1');
    expect(shAnswer('iscsi1 iscsi2\n')).toBe('iscsi1 iscsi2');
    expect(shAnswer('')).toBe('');
  });

  it('takes volume 0 of a multi-volume resource: sh-minor and sh-ll-dev print one line per volume', () => {
    // drbd-utils user/v84/drbdadm_main.c: sh_minor and sh_ll_dev print ctx->vol's minor/disk and a
    // newline, once per volume of the resource (volumes 0 and 1 with minors 1 and 2 here).
    expect(shAnswer('1\n2\n')).toBe('1');
    expect(shAnswer('\nDo you want to proceed and register the current config file?\n*** confirmation forced via --force option ***\n/dev/sdb\n/dev/sdc\n')).toBe('/dev/sdb');
  });
});
