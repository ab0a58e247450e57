import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { execa } from 'execa';
import { Status } from 'nice-grpc';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueCertificate } from '@xsctl/common/pki/index';
import { makeTestPki } from '@xsctl/common/testing/make-test-pki';
import { drbdadm } from '@xsctl/agent/drbd/drbd-ops';
import { CommandFailedError } from '@xsctl/agent/exec/command-errors';
import { CommandRunner, type CommandResult, type RunOptions } from '@xsctl/agent/exec/command-runner';
import type { AgentContext } from '@xsctl/agent/server/agent-context';
import { assertRole } from '@xsctl/agent/storage/assert-role';
import { assertStorageRoleOnBoot, type BootRoleOutcome } from '@xsctl/agent/storage/boot-role';
import { witnessWordOf } from '@xsctl/agent/storage/witness-word';
import { tgtdRunning } from '@xsctl/agent/target/tgt-ops';
import { DrbdServiceDefinition, DrbdSyntax, FailoverReason, SplitBrainSide, SplitBrainState, type DrbdResourceSpec } from '@xsctl/proto/gen/xsctl/agent/v1/drbd';
import { FloatingIpServiceDefinition } from '@xsctl/proto/gen/xsctl/agent/v1/floating_ip';
import { StepOutcome, StorageRole, StorageServiceDefinition, type StorageSpec } from '@xsctl/proto/gen/xsctl/agent/v1/storage';
import { Fleet, isRoot } from '../src/fleet/fleet.js';
import { startStorageNode, type StorageNode } from '../src/fleet/storage-node.js';

/**
 * Rules 9 and 11: after a restart the agent waits (hysteresis), reads pool.conf and re-asserts the
 * storage role through AssertStorageRole's code. Two namespaced hosts and an initiator: real tgtd,
 * ip, iputils arping, libiscsi; the DRBD kernel is the simulator (drbdadm -s/-m). A "reboot" is
 * what a reboot leaves: `drbdadm down` (roles do not survive it), no tgtd, no floating IP.
 */
const chapPassword = 'Xs-CHAP-secret-42';
const identity = { scsiId: 'XSCTL-BOOT1', scsiSn: 'XSBOOT000001', vendorId: 'XSCTL', productId: 'DRBD-HA-LUN' };
const timing = { hysteresisMs: 500, connectWaitMs: 3_000, retryInitialMs: 200, retryMaxMs: 800 };

/** Records every command with its time, and can make one fail (fault injection over the real tools). */
class Tap extends CommandRunner {
  readonly calls: { at: number; line: string }[] = [];
  readonly t0 = performance.now();
  constructor(
    private readonly inner: CommandRunner,
    private readonly fail?: (command: string, args: readonly string[]) => boolean,
  ) {
    super({ logger: pino({ level: 'silent' }) });
  }
  override async run(command: string, args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    this.calls.push({ at: performance.now() - this.t0, line: `${command} ${args.join(' ')}` });
    if (this.fail?.(command, args) === true) throw new CommandFailedError(command, args, 2, 'arping: injected failure');
    return this.inner.run(command, args, options);
  }
}

interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}

/** The node's context with a recording runner and a logger kept in memory. */
function tapped(node: StorageNode, fail?: (command: string, args: readonly string[]) => boolean) {
  const lines: LogLine[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) if (l !== '') lines.push(JSON.parse(l) as LogLine);
      cb();
    },
  });
  const tap = new Tap(node.ctx.runner, fail);
  const ctx: AgentContext = { ...node.ctx, runner: tap, logger: pino({ level: 'debug' }, stream) };
  return { ctx, tap, lines };
}

describe.skipIf(!isRoot())('storage role re-asserted when the agent starts (namespaced hosts, real tgtd/ARP, simulated DRBD)', () => {
  let fleet: Fleet;
  let base: string;
  let xs1: StorageNode;
  let xs2: StorageNode;
  let floating: string;
  let lunImage: string;
  const controlPort = 20_000 + Math.floor(Math.random() * 10_000);

  const drbdSpec = (): DrbdResourceSpec => ({
    name: 'iscsi1',
    minor: 1,
    nodes: [xs1, xs2].map((n) => ({ hostname: n.name, disk: n.backingDisk, address: n.host.address, port: 7789 })),
    protocol: 'C',
    afterSb0pri: '',
    afterSb1pri: '',
    afterSb2pri: '',
    sharedSecret: 'PUTyourSECREThere',
    cramHmacAlg: 'sha1',
    resyncRate: '',
    quorum: '',
    onNoQuorum: '',
  });

  /** The same spec on both hosts (tgtd's default port: the lab maps it per host, see storage-node). */
  const spec = (): StorageSpec => ({
    drbdResources: ['iscsi1'],
    target: {
      tid: 1,
      iqn: 'iqn.2013-05.com.example:xsctl.boot',
      luns: [{ lun: 10, backingStore: lunImage, bsType: 'rdwr', ...identity }],
      initiatorAddresses: [fleet.subnet],
      initiatorNames: [],
      incomingUser: { user: 'xsinit', password: chapPassword },
    },
    floatingIp: { address: floating, prefixLength: 24, interface: 'eth0', garpCount: 2 },
    tgtd: undefined,
    peerSafety: undefined,
    stopGraceMs: 2_000,
  });

  /** /etc/xsctl/storage.yaml as an admin writes it: the CHAP secret in a file beside it. */
  async function writeRoleConfig(n: StorageNode): Promise<void> {
    await mkdir(join(n.root, 'etc/xsctl'), { recursive: true });
    await writeFile(join(n.root, 'etc/xsctl/chap-secret'), `${chapPassword}\n`, { mode: 0o600 });
    const s = spec();
    const yaml = [
      '# storage role this host re-asserts when the agent starts (rules 9, 11)',
      ...Object.entries(timing).map(([k, v]) => `${k}: ${v}`),
      'drbdResources: [iscsi1]',
      `target: ${JSON.stringify({ ...s.target, incomingUser: { user: 'xsinit', passwordFile: 'chap-secret' } })}`,
      `floatingIp: ${JSON.stringify(s.floatingIp)}`,
      'stopGraceMs: 2000',
    ].join('\n');
    await writeFile(join(n.root, 'etc/xsctl/storage.yaml'), `${yaml}\n`);
  }
  const poolConf = async (n: StorageNode, text: string) => {
    await mkdir(join(n.root, 'etc/xensource'), { recursive: true });
    await writeFile(join(n.root, 'etc/xensource/pool.conf'), text);
  };
  /** What a reboot leaves of the storage role: nothing (DRBD down, no tgtd, no floating IP). */
  const reboot = async (n: StorageNode) => {
    await n.client(StorageServiceDefinition).assertStorageRole({ role: StorageRole.STORAGE_ROLE_SLAVE, spec: spec(), dryRun: false });
    await drbdadm({ ...n.ctx, runner: n.inspector }, 'iscsi1', ['down', 'iscsi1']);
  };
  const drbdState = async (n: StorageNode) => (await n.client(DrbdServiceDefinition).getDrbdStatus({ resource: 'iscsi1' })).resources[0];
  const ipHere = async (n: StorageNode) => (await n.client(FloatingIpServiceDefinition).getFloatingIp({ ip: spec().floatingIp })).present;
  const lunUrl = () => `iscsi://xsinit%${chapPassword}@${floating}/iqn.2013-05.com.example:xsctl.boot/10`;
  const stale = (mac: string) => execa('ip', ['-n', fleet.host('ini').ns, 'neigh', 'replace', floating, 'lladdr', mac, 'dev', 'eth0', 'nud', 'stale']);
  const bogusMac = '02:00:00:00:00:01';

  beforeAll(async () => {
    fleet = await Fleet.create({ hosts: ['xs1', 'xs2', 'ini'] });
    floating = fleet.address(100);
    base = await mkdtemp(join(tmpdir(), 'xsctl-e2e-bootrole-'));
    lunImage = join(base, 'lun10.img');
    await writeFile(lunImage, Buffer.alloc(16 * 1024 * 1024));
    const pki = await makeTestPki();
    const controllerTls = await pki.issue({ kind: 'controller', name: 'ctl' });
    const common = { fleet, simDir: join(base, 'drbd-sim'), kernelVersion: '8.4.11', pki, controllerTls, base };
    xs1 = await startStorageNode({ ...common, name: 'xs1', tgtdControlPort: controlPort });
    xs2 = await startStorageNode({ ...common, name: 'xs2', tgtdControlPort: controlPort + 1 });
    for (const n of [xs1, xs2]) {
      const drbd = n.client(DrbdServiceDefinition);
      await drbd.writeDrbdConfig({ resources: [drbdSpec()], syntax: DrbdSyntax.DRBD_SYNTAX_UNSPECIFIED, confirm: true });
      await drbd.createDrbdMetadata({ resource: 'iscsi1', confirm: true, wipe: false });
      await drbd.attachDrbd({ resource: 'iscsi1' });
      await writeRoleConfig(n);
    }
    await xs1.client(DrbdServiceDefinition).startDrbdInitialSync({ resource: 'iscsi1', confirm: true });
    await xs1.client(DrbdServiceDefinition).demoteDrbd({ resource: 'iscsi1' });
  }, 60_000);

  afterAll(async () => {
    for (const n of [xs1, xs2]) {
      if (n === undefined) continue;
      await n.close();
    }
    await fleet?.destroy();
    if (base !== undefined) await rm(base, { recursive: true, force: true });
  }, 60_000);

  it('an agent restart on a host that still serves but is now a pool slave: after the hysteresis, tears down in reverse order', async () => {
    const up = await xs2.client(StorageServiceDefinition).assertStorageRole({ role: StorageRole.STORAGE_ROLE_MASTER, spec: spec(), dryRun: false });
    expect(up.ok).toBe(true);
    await poolConf(xs2, `slave:${xs1.host.address}`);
    const t = tapped(xs2);
    const out = await assertStorageRoleOnBoot(t.ctx, { signal: new AbortController().signal });
    expect(out).toMatchObject({ status: 'asserted', role: 'slave', attempts: 1 });
    expect(t.tap.calls[0]?.at).toBeGreaterThanOrEqual(timing.hysteresisMs);
    const steps = (out as Extract<BootRoleOutcome, { status: 'asserted' }>).result.steps;
    expect(steps.map((s) => `${s.name}=${StepOutcome[s.outcome]}`)).toEqual(['floating-ip=STEP_OUTCOME_DONE', 'target=STEP_OUTCOME_DONE', 'tgtd=STEP_OUTCOME_DONE', 'drbd-secondary:iscsi1=STEP_OUTCOME_DONE', 'portal-open=STEP_OUTCOME_ALREADY']);
    expect(await drbdState(xs2)).toMatchObject({ role: 'Secondary', connection: 'Connected' });
    expect(await ipHere(xs2)).toBe(false);
    expect(await tgtdRunning(xs2.ctx, { controlPort: 0 })).toBe(false);
    expect(t.lines.filter((l) => l.msg === 'boot storage role: step').map((l) => l['step'])).toEqual(['floating-ip', 'target', 'tgtd', 'drbd-secondary:iscsi1', 'portal-open']);
  }, 60_000);

  it('a pool slave rebooted: DRBD comes back Secondary and connected, nothing else starts', async () => {
    await reboot(xs2);
    expect(await drbdState(xs2)).toMatchObject({ role: 'Unconfigured' });
    const t = tapped(xs2);
    const out = await assertStorageRoleOnBoot(t.ctx, { signal: new AbortController().signal });
    expect(out).toMatchObject({ status: 'asserted', role: 'slave', attempts: 1, result: { ok: true, unchanged: true } });
    expect(t.tap.calls[0]?.at).toBeGreaterThanOrEqual(timing.hysteresisMs);
    expect(t.tap.calls.map((c) => c.line)).toContain('drbdadm up iscsi1');
    expect(await drbdState(xs2)).toMatchObject({ role: 'Secondary', disk: 'UpToDate', connection: 'Connected', peerRole: 'Secondary' });
    expect(await ipHere(xs2)).toBe(false);
    expect(await tgtdRunning(xs2.ctx, { controlPort: 0 })).toBe(false);
  }, 60_000);

  it('the pool master rebooted: DRBD Primary -> LUN -> target ready -> floating IP -> GARP, in order (tgtd and the offline target beside Primary); the initiator is repointed', async () => {
    await reboot(xs1);
    await poolConf(xs1, 'master');
    await stale(bogusMac);
    const t = tapped(xs1);
    const started = performance.now();
    const out = await assertStorageRoleOnBoot(t.ctx, { signal: new AbortController().signal });
    expect(out).toMatchObject({ status: 'asserted', role: 'master', attempts: 1 });
    expect(performance.now() - started).toBeGreaterThanOrEqual(timing.hysteresisMs);
    expect(t.tap.calls[0]?.at).toBeGreaterThanOrEqual(timing.hysteresisMs);
    const steps = (out as Extract<BootRoleOutcome, { status: 'asserted' }>).result.steps;
    expect(steps.map((s) => `${s.name}=${StepOutcome[s.outcome]}`)).toEqual([
      'drbd-primary:iscsi1=STEP_OUTCOME_DONE',
      'tgtd=STEP_OUTCOME_DONE',
      'target=STEP_OUTCOME_DONE',
      'portal-open=STEP_OUTCOME_ALREADY',
      'floating-ip=STEP_OUTCOME_DONE',
      'garp=STEP_OUTCOME_DONE',
    ]);
    // The commands themselves ran in rule 5's order for the device: up, primary, the LUN, the
    // target ready, ip addr add, arping -U. tgtd and the target (offline, no LUN) may start beside
    // the promotion (docs/storage-safety-rules.md, "The unplanned failover's promotion"), but
    // before any LUN.
    const at = (p: string) => t.tap.calls.findIndex((c) => c.line.includes(p));
    const order = ['drbdadm up iscsi1', 'drbdadm primary iscsi1', '--op new --mode logicalunit', '--name state --value ready', 'ip addr add', 'arping -U'].map(at);
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    for (const p of ['tgtd ', '--op new --mode target', '--name state --value offline']) {
      expect(at(p)).toBeGreaterThan(at('drbdadm up iscsi1'));
      expect(at(p)).toBeLessThan(at('--op new --mode logicalunit'));
    }
    expect(t.tap.calls.some((c) => c.line.includes('--force'))).toBe(false);
    expect(await drbdState(xs1)).toMatchObject({ role: 'Primary', peerRole: 'Secondary', connection: 'Connected' });
    // The GARP burst runs on after the assertion returns (garp-burst.ts); its first announcement repoints.
    const mac1 = await xs1.host.mac();
    await expect.poll(async () => (await fleet.host('ini').neighbour(floating))?.mac, { timeout: 3_000 }).toBe(mac1);
    const sn = await fleet.host('ini').exec('iscsi-inq', ['-e', '1', '-c', '128', lunUrl()]);
    expect(/Unit Serial Number:\[\s*(.*?)\]/.exec(String(sn.stdout))?.[1]).toBe(identity.scsiSn);
  }, 60_000);

  it('rule 3 in the agent API: a failover promotion is refused while the replication link is Connected', async () => {
    const failover = { peerFenced: true, peerFencedByPower: false, witnessAddress: '', witnessInterface: '', failoverReason: FailoverReason.FAILOVER_REASON_MANAGEMENT_LINK_LOST };
    const err = await xs2.client(DrbdServiceDefinition).promoteDrbd({ resource: 'iscsi1', peerSafety: failover }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: Status.FAILED_PRECONDITION, details: expect.stringMatching(/DRBD_PEER_ALIVE: refusing failover promotion of iscsi1 \(management-link-lost\): the replication link is Connected/) });
    const r = await xs2.client(StorageServiceDefinition).assertStorageRole({ role: StorageRole.STORAGE_ROLE_MASTER, spec: { ...spec(), peerSafety: failover }, dryRun: false });
    expect(r).toMatchObject({ ok: false, failedStep: 'drbd-primary:iscsi1' });
    expect(r.steps[0]).toMatchObject({ errorCode: 'DRBD_PEER_ALIVE' });
    expect(await drbdState(xs2)).toMatchObject({ role: 'Secondary' });
  }, 60_000);

  it('a returning host that believes it is master while the peer is Primary: refused, retried loudly, never forced; it takes over once the peer steps down', async () => {
    await poolConf(xs2, 'master');
    const t = tapped(xs2);
    const stop = new AbortController();
    const run = assertStorageRoleOnBoot(t.ctx, { signal: stop.signal });
    const failures = () => t.lines.filter((l) => l.level >= 50 && l.msg.includes('STORAGE ROLE NOT ASSERTED'));
    for (let i = 0; i < 200 && failures().length < 3; i++) await new Promise((res) => setTimeout(res, 50));
    expect(failures().slice(0, 3)).toEqual(Array(3).fill(expect.objectContaining({ failedStep: 'drbd-primary:iscsi1', errorCode: 'DRBD_PEER_PRIMARY' })));
    expect(failures().map((f) => f['retryInMs']).slice(0, 3)).toEqual([200, 400, 800]);
    expect(t.tap.calls.some((c) => /drbdadm (primary|.*--force)/.test(c.line))).toBe(false);
    expect(await drbdState(xs2)).toMatchObject({ role: 'Secondary', peerRole: 'Primary' });
    expect(await ipHere(xs2)).toBe(false);
    expect(await tgtdRunning(xs2.ctx, { controlPort: 0 })).toBe(false);

    // The pool moved its master: xs1 steps down; xs2's next attempt brings it up.
    await stale(await xs1.host.mac());
    const down = await xs1.client(StorageServiceDefinition).assertStorageRole({ role: StorageRole.STORAGE_ROLE_SLAVE, spec: spec(), dryRun: false });
    expect(down.ok).toBe(true);
    const out = await run;
    expect(out).toMatchObject({ status: 'asserted', role: 'master', result: { ok: true } });
    expect((out as { attempts: number }).attempts).toBeGreaterThanOrEqual(4);
    expect(await drbdState(xs2)).toMatchObject({ role: 'Primary', peerRole: 'Secondary', connection: 'Connected' });
    const mac2 = await xs2.host.mac();
    await expect.poll(async () => (await fleet.host('ini').neighbour(floating))?.mac, { timeout: 3_000 }).toBe(mac2);
    stop.abort();
  }, 60_000);

  it('the master re-announces the floating IP when it is already there: a retry after a failed GARP repoints the neighbours', async () => {
    const storage = xs2.client(StorageServiceDefinition);
    // Already master: the GARP goes out again, and the call still counts as "nothing changed".
    await stale(bogusMac);
    const again = await storage.assertStorageRole({ role: StorageRole.STORAGE_ROLE_MASTER, spec: spec(), dryRun: false });
    expect(again).toMatchObject({ ok: true, unchanged: true });
    expect(again.steps.at(-1)).toMatchObject({ name: 'garp', outcome: StepOutcome.STEP_OUTCOME_ALREADY, detail: 'address already here; re-announcing with 2 gratuitous ARPs' });
    const mac = await xs2.host.mac();
    await expect.poll(async () => (await fleet.host('ini').neighbour(floating))?.mac, { timeout: 3_000 }).toBe(mac);

    // A bring-up whose GARP cannot run (arping fails at once, inside the step's watch of the
    // burst): the IP is added, the step fails, the call reports it.
    expect((await storage.assertStorageRole({ role: StorageRole.STORAGE_ROLE_SLAVE, spec: spec(), dryRun: false })).ok).toBe(true);
    const t = tapped(xs2, (command, args) => command === 'arping' && args.includes('-U'));
    const failed = await assertRole(t.ctx, StorageRole.STORAGE_ROLE_MASTER, spec(), false);
    expect(failed).toMatchObject({ ok: false, failedStep: 'garp' });
    expect(failed.steps.map((s) => StepOutcome[s.outcome])).toEqual(['STEP_OUTCOME_DONE', 'STEP_OUTCOME_DONE', 'STEP_OUTCOME_DONE', 'STEP_OUTCOME_ALREADY', 'STEP_OUTCOME_DONE', 'STEP_OUTCOME_FAILED']);
    expect(await ipHere(xs2)).toBe(true);
    await stale(bogusMac);
    // The retry finds the IP in place and still announces it.
    const retry = await storage.assertStorageRole({ role: StorageRole.STORAGE_ROLE_MASTER, spec: spec(), dryRun: false });
    expect(retry).toMatchObject({ ok: true });
    expect(retry.steps.find((s) => s.name === 'floating-ip')?.outcome).toBe(StepOutcome.STEP_OUTCOME_ALREADY);
    expect(retry.steps.at(-1)?.detail).toMatch(/re-announcing with 2 gratuitous ARPs/);
    await expect.poll(async () => (await fleet.host('ini').neighbour(floating))?.mac, { timeout: 3_000 }).toBe(mac);
  }, 60_000);
  it("after a split brain the rebooted pool master still serves its own data (the how-to), and the split brain stays reported", async () => {
    // xs2 serves (master); the replication link drops; xs1 is made Primary apart (a second master)
    // and both wrote: the next connect is a split brain.
    const d1 = xs1.client(DrbdServiceDefinition);
    const d2 = xs2.client(DrbdServiceDefinition);
    await d2.promoteDrbd({ resource: 'iscsi1' });
    await d2.disconnectDrbd({ resource: 'iscsi1' });
    await d1.disconnectDrbd({ resource: 'iscsi1' });
    await d1.promoteDrbd({ resource: 'iscsi1', peerSafety: { peerFenced: true, peerFencedByPower: false, witnessAddress: '', witnessInterface: '', failoverReason: FailoverReason.FAILOVER_REASON_UNSPECIFIED } });
    await d1.demoteDrbd({ resource: 'iscsi1' });
    await d1.connectDrbd({ resource: 'iscsi1' });
    await d2.connectDrbd({ resource: 'iscsi1' });
    expect(await drbdState(xs2)).toMatchObject({ connection: 'StandAlone', splitBrain: SplitBrainState.SPLIT_BRAIN_STATE_DETECTED });

    // "Certain reboot scenarios ... can cause DRBD to detect split brain" (the how-to): both hosts
    // reboot; the slave comes back first and waits for its peer; the master's bring-up then meets
    // it, and the handshake finds the split brain (both drop to StandAlone).
    await reboot(xs2);
    await reboot(xs1);
    await poolConf(xs1, `slave:${xs2.host.address}`);
    expect(await assertStorageRoleOnBoot(tapped(xs1).ctx, { signal: new AbortController().signal })).toMatchObject({ status: 'asserted', role: 'slave' });
    expect(await drbdState(xs1)).toMatchObject({ role: 'Secondary', connection: 'WFConnection' });
    // With the peer StandAlone, rule 2 needs a witness: the how-to's FENCE_HEURISTICS_IPS (a
    // reliable address on the management network); here the initiator host.
    const yaml = await readFile(join(xs2.root, 'etc/xsctl/storage.yaml'), 'utf8');
    await writeFile(join(xs2.root, 'etc/xsctl/storage.yaml'), `${yaml}peerSafety: { witnessAddress: ${fleet.host('ini').address}, witnessInterface: eth0 }\n`);
    await poolConf(xs2, 'master');
    const t = tapped(xs2);
    // The peer is not Connected, so the promotion rests on quorum and needs the witness to name
    // this host the storage master (boot-promotion.ts, rule 1): the controller's heartbeat would
    // say so; it is absent here.
    witnessWordOf(t.ctx).heard(StorageRole.STORAGE_ROLE_MASTER, 600_000);
    const stop = new AbortController();
    const guard = setTimeout(() => stop.abort(), 20_000);
    const out = await assertStorageRoleOnBoot(t.ctx, { signal: stop.signal });
    clearTimeout(guard);
    expect(out).toMatchObject({ status: 'asserted', role: 'master', attempts: 1 });
    const steps = (out as Extract<BootRoleOutcome, { status: 'asserted' }>).result.steps;
    expect(steps.map((s) => `${s.name}=${StepOutcome[s.outcome]}`)).toEqual(['drbd-primary:iscsi1=STEP_OUTCOME_DONE', 'tgtd=STEP_OUTCOME_DONE', 'target=STEP_OUTCOME_DONE', 'portal-open=STEP_OUTCOME_ALREADY', 'floating-ip=STEP_OUTCOME_DONE', 'garp=STEP_OUTCOME_DONE']);
    expect(steps[0]?.detail).toMatch(/SPLIT BRAIN unresolved/);
    expect(t.tap.calls.some((c) => c.line.includes('--force') || c.line.includes('discard-my-data'))).toBe(false);
    expect(await drbdState(xs2)).toMatchObject({ role: 'Primary', connection: 'StandAlone', splitBrain: SplitBrainState.SPLIT_BRAIN_STATE_DETECTED });
    expect(t.lines.filter((l) => l.level >= 50).map((l) => l.msg)).toEqual(expect.arrayContaining([expect.stringMatching(/DRBD SPLIT BRAIN/)]));
    const sn = await fleet.host('ini').exec('iscsi-inq', ['-e', '1', '-c', '128', lunUrl()]);
    expect(/Unit Serial Number:\[\s*(.*?)\]/.exec(String(sn.stdout))?.[1]).toBe(identity.scsiSn);

    // Re-asserted while Primary (an agent restart, the controller's next check): still serving.
    const again = await xs2.client(StorageServiceDefinition).assertStorageRole({ role: StorageRole.STORAGE_ROLE_MASTER, spec: spec(), dryRun: false });
    expect(again).toMatchObject({ ok: true, unchanged: true });
    expect(again.steps[0]).toMatchObject({ outcome: StepOutcome.STEP_OUTCOME_ALREADY, detail: expect.stringMatching(/^Primary; SPLIT BRAIN unresolved/) });

    // The admin names the victim (xs1) and the survivor reconnects: the pair heals.
    await d1.resolveDrbdSplitBrain({ resource: 'iscsi1', side: SplitBrainSide.SPLIT_BRAIN_SIDE_VICTIM, confirm: true });
    await d2.resolveDrbdSplitBrain({ resource: 'iscsi1', side: SplitBrainSide.SPLIT_BRAIN_SIDE_SURVIVOR, confirm: true });
    expect(await drbdState(xs2)).toMatchObject({ role: 'Primary', connection: 'Connected', peerDisk: 'UpToDate' });
    await writeFile(join(xs2.root, 'etc/xsctl/storage.yaml'), yaml);
  }, 60_000);
});

const require = createRequire(import.meta.url);
const agentBin = join(require.resolve('@xsctl/agent/package.json'), '..', 'dist', 'bin', 'xsctl-agent.js');

describe('xsctl-agent serve starts the boot-time storage role and its shutdown aborts it', () => {
  it('logs the hysteresis wait, then stops cleanly on SIGTERM without touching anything', async () => {
    const root = await mkdtemp(join(tmpdir(), 'xsctl-serve-bootrole-'));
    try {
      const pki = await makeTestPki();
      const tls = await issueCertificate(pki.dir, { kind: 'agent', name: 'xs-boot', ipAddresses: ['127.0.0.1'] });
      await mkdir(join(root, 'etc/xsctl'), { recursive: true });
      await mkdir(join(root, 'etc/xensource'), { recursive: true });
      await writeFile(join(root, 'etc/xensource/pool.conf'), 'master');
      await writeFile(
        join(root, 'etc/xsctl/storage.yaml'),
        'hysteresisMs: 60000\ndrbdResources: [iscsi1]\ntarget: { tid: 1, iqn: iqn.2013-05.com.example:x, luns: [{ lun: 10, backingStore: /dev/drbd1, scsiId: X1, scsiSn: S1, vendorId: XSCTL, productId: P }], initiatorAddresses: [ALL] }\nfloatingIp: { address: 10.10.10.3, interface: xapi1 }\n',
      );
      const child = execa(process.execPath, [agentBin, 'serve', '--listen', '127.0.0.1:0', '--root', root, '--tls-ca', tls.ca, '--tls-cert', tls.cert, '--tls-key', tls.key], { reject: false, env: { XSCTL_LOG_LEVEL: 'info' } });
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => {
        stderr += d.toString('utf8');
      });
      for (let i = 0; i < 200 && !stderr.includes('waiting (hysteresis, rule 11)'); i++) await new Promise((res) => setTimeout(res, 50));
      expect(stderr).toContain('boot storage role: waiting (hysteresis, rule 11) before asserting the storage role');
      child.kill('SIGTERM');
      const r = await child;
      expect(r.exitCode).toBe(0);
      expect(stderr).toContain('boot storage role: aborted (agent shutting down)');
      expect(stderr).not.toContain('pool.conf says');
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  }, 30_000);
});
