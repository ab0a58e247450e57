import { chmod, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { DrbdResourceSpec } from '@xsctl/proto/gen/xsctl/agent/v1/drbd';
import { DrbdSyntax } from '@xsctl/proto/gen/xsctl/agent/v1/drbd';
import { StepOutcome, StorageRole, type AssertStorageRoleResponse, type StorageSpec } from '@xsctl/proto/gen/xsctl/agent/v1/storage';
import { readStatus, createMetadata } from '../drbd/drbd-ops.js';
import { normalizeDrbdSpec } from '../drbd/drbd-spec.js';
import { renderDrbdConf } from '../drbd/render-drbd-conf.js';
import { drbdSimPath, drbdSimRunnerOptions } from '@xsctl/test/drbd-sim/drbd-sim-runner';
import { CommandRunner, type CommandResult, type RunOptions } from '../exec/command-runner.js';
import { SandboxRoot } from '../fs/sandbox-root.js';
import type { AgentContext } from '../server/agent-context.js';
import { assertStorageRoleOnBoot, loadStorageRoleConfig, storageRoleDefaults } from './boot-role.js';
import { writeStorageRoleConfig } from './write-role-config.js';
import { witnessWordOf } from './witness-word.js';

/**
 * The boot-time storage role against a sandbox root, the real drbdadm and the DRBD simulator
 * (node XCP1; its peer never comes up here). The role assertion itself is replaced by a recorder:
 * these tests are about when and how often it runs. test/e2e/storage-boot-role.test.ts runs the
 * whole path (tgtd, floating IP, GARP) in network namespaces.
 */
const disk = '/dev/xsvg/drbd1';
const drbd: DrbdResourceSpec = {
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
  sharedSecret: '',
  cramHmacAlg: '',
  resyncRate: '',
  quorum: '',
  onNoQuorum: '',
};

const yaml = (timing: string) => `# /etc/xsctl/storage.yaml
${timing}
drbdResources: [iscsi1]
target:
  tid: 1
  iqn: iqn.2013-05.com.example:xsctl.iscsi1
  luns: [{ lun: 10, backingStore: /dev/drbd1, scsiId: XSCTL-ISCSI1, scsiSn: XS0000000001, vendorId: XSCTL, productId: DRBD-HA-LUN }]
  initiatorAddresses: [10.10.10.0/24]
  incomingUser: { user: xsinit, passwordFile: chap-secret }
floatingIp: { address: 10.10.10.3, prefixLength: 24, interface: xapi1 }
peerSafety: { witnessAddress: 192.168.1.253, witnessInterface: xenbr0 }
`;

/** Records every command and when it ran; optionally passes them to a real runner. */
class Tap extends CommandRunner {
  readonly calls: { at: number; line: string }[] = [];
  constructor(
    private readonly inner: CommandRunner | null,
    private readonly t0: () => number,
  ) {
    super({ logger: pino({ level: 'silent' }) });
  }
  /** Rules "in the chain" for a simulated iptables: never the real one, which is the host's. */
  readonly iptablesRules = new Set<string>();
  override async run(command: string, args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    this.calls.push({ at: performance.now() - this.t0(), line: `${command} ${args.join(' ')}` });
    if (command === 'iptables') {
      // Checked against the dom0 tool table as the real runner would, then simulated.
      this.admit(command, args, options);
      // Every call starts with -w (the xtables lock), then the command.
      const op = args[1];
      const rule = args.slice(op === '-I' ? 4 : 3).join(' ');
      if (op === '-I') this.iptablesRules.add(rule);
      // -D removes the rule, and like -C exits 1 when it is not there (iptables' own exit codes).
      const exitCode = (op === '-C' || op === '-D') && !this.iptablesRules.has(rule) ? 1 : 0;
      if (op === '-D') this.iptablesRules.delete(rule);
      return { command: 'iptables', args, exitCode, stdout: '', stderr: '', durationMs: 0 };
    }
    if (this.inner === null) throw new Error(`unexpected command ${command}`);
    return this.inner.run(command, args, options);
  }
}

interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}

function memoryLogger() {
  const lines: LogLine[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) if (l !== '') lines.push(JSON.parse(l) as LogLine);
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

const bases: string[] = [];
afterAll(async () => {
  for (const b of bases) await rm(b, { recursive: true, force: true });
});

interface Node {
  root: string;
  ctx: AgentContext;
  tap: Tap;
  lines: LogLine[];
  start(): void;
  writeConfig(text: string): Promise<void>;
  poolConf(text: string | null): Promise<void>;
}

async function node(withDrbd: boolean): Promise<Node> {
  await chmod(drbdSimPath(), 0o755);
  const base = await mkdtemp(join(tmpdir(), 'xsctl-bootrole-'));
  bases.push(base);
  const root = join(base, 'xcp1');
  await mkdir(join(root, 'etc/xsctl'), { recursive: true });
  await mkdir(join(root, 'etc/xensource'), { recursive: true });
  await mkdir(join(root, 'dev/xsvg'), { recursive: true });
  await writeFile(join(root, 'etc/drbd.conf'), renderDrbdConf([normalizeDrbdSpec(drbd)], DrbdSyntax.DRBD_SYNTAX_V84));
  await writeFile(join(root, disk), Buffer.alloc(8 * 1024 * 1024));
  await writeFile(join(root, 'etc/xsctl/chap-secret'), 'Xs-CHAP-secret-42\n');
  const { logger, lines } = memoryLogger();
  const real = new CommandRunner({ logger, ...drbdSimRunnerOptions({ node: 'XCP1', kernelVersion: '8.4.11', root, simDir: join(base, 'sim') }) });
  let t0 = performance.now();
  const tap = new Tap(withDrbd ? real : null, () => t0);
  const ctx: AgentContext = { root: new SandboxRoot(root), runner: tap, logger, stateDir: '/var/lib/xsctl-agent' };
  if (withDrbd) await createMetadata({ ...ctx, runner: real }, 'iscsi1', true, false);
  return {
    root,
    ctx,
    tap,
    lines,
    start() {
      t0 = performance.now();
      tap.calls.length = 0;
      lines.length = 0;
    },
    writeConfig: (text) => writeFile(join(root, 'etc/xsctl/storage.yaml'), text),
    poolConf: async (text) => (text === null ? rm(join(root, 'etc/xensource/pool.conf'), { force: true }) : writeFile(join(root, 'etc/xensource/pool.conf'), text)),
  };
}

const response = (role: StorageRole, ok: boolean): AssertStorageRoleResponse => ({
  role,
  ok,
  failedStep: ok ? '' : 'drbd-primary:iscsi1',
  unchanged: false,
  floatingIpAnsweredBy: [],
  steps: [
    ok
      ? { name: 'drbd-primary:iscsi1', outcome: StepOutcome.STEP_OUTCOME_DONE, detail: 'Primary', errorCode: '', durationMs: 1 }
      : { name: 'drbd-primary:iscsi1', outcome: StepOutcome.STEP_OUTCOME_FAILED, detail: 'refusing to promote iscsi1: the peer is Primary; demote it first', errorCode: 'DRBD_PEER_PRIMARY', durationMs: 1 },
  ],
});

/** Stands in for AssertStorageRole: records its calls, answers from a script. */
function recorder(t0: () => number, answers: boolean[] = []) {
  const calls: { at: number; role: StorageRole; spec: StorageSpec | undefined; dryRun: boolean }[] = [];
  const assert = async (_ctx: AgentContext, role: StorageRole, spec: StorageSpec | undefined, dryRun: boolean) => {
    calls.push({ at: performance.now() - t0(), role, spec, dryRun });
    return response(role, answers.shift() ?? true);
  };
  return { calls, assert };
}

describe('storage role config (/etc/xsctl/storage.yaml)', () => {
  let n: Node;
  beforeEach(async () => {
    n = await node(false);
  });

  it('is optional; read with the CLI spec keys, the CHAP secret from a file, defaults for the timing', async () => {
    expect(await loadStorageRoleConfig(n.ctx)).toBeNull();
    await n.writeConfig(yaml('hysteresisMs: 1500'));
    const c = await loadStorageRoleConfig(n.ctx);
    expect(c).toMatchObject({ hysteresisMs: 1500, connectWaitMs: storageRoleDefaults.connectWaitMs, retryInitialMs: 5_000, retryMaxMs: 300_000 });
    expect(c?.spec).toMatchObject({
      drbdResources: ['iscsi1'],
      target: { tid: 1, incomingUser: { user: 'xsinit', password: 'Xs-CHAP-secret-42' } },
      floatingIp: { address: '10.10.10.3', interface: 'xapi1' },
      peerSafety: { peerFenced: false, witnessAddress: '192.168.1.253' },
    });
  });

  it.each([
    ['an unknown key', `${yaml('')}hysteresis: 5\n`, /unknown key "hysteresis"/],
    ['an inline CHAP secret', yaml('').replace('passwordFile: chap-secret', 'password: x'), /passwordFile/],
    ['a missing secret file', yaml('').replace('chap-secret', 'nope'), /\/etc\/xsctl\/nope does not exist/],
    ['a stored fence claim', yaml('').replace('{ witnessAddress', '{ peerFenced: true, witnessAddress'), /peerFenced: a fence claim written in a file is stale/],
    ['a stored power-off claim', yaml('').replace('{ witnessAddress', '{ peerFencedByPower: true, witnessAddress'), /peerFencedByPower: a power-off read back once is stale at the next boot/],
    ['a stored failover reason', yaml('').replace('{ witnessAddress', '{ failoverReason: FAILOVER_REASON_MANAGEMENT_LINK_LOST, witnessAddress'), /no failover/],
    ['an invalid resource name', yaml('').replace('[iscsi1]', '["r0 --force"]'), /drbdResources\[0\]/],
    ['a negative delay', yaml('hysteresisMs: -1'), /hysteresisMs/],
    ['not a mapping', '- a\n', /expected a mapping/],
  ])('refuses %s', async (_what, text, reason) => {
    await n.writeConfig(text);
    await expect(loadStorageRoleConfig(n.ctx)).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringMatching(reason) });
  });

  it('an invalid config is logged loudly and nothing runs', async () => {
    await n.writeConfig(`${yaml('')}bogus: 1\n`);
    n.start();
    const rec = recorder(() => 0);
    expect(await assertStorageRoleOnBoot(n.ctx, { signal: new AbortController().signal, assert: rec.assert })).toMatchObject({ status: 'invalid-config' });
    expect(rec.calls).toEqual([]);
    expect(n.tap.calls).toEqual([]);
    expect(n.lines.find((l) => l.level >= 50)?.msg).toMatch(/CONFIG INVALID/);
  });

  it('without the file the agent does nothing', async () => {
    const rec = recorder(() => 0);
    expect(await assertStorageRoleOnBoot(n.ctx, { signal: new AbortController().signal, assert: rec.assert })).toEqual({ status: 'no-config' });
    expect(rec.calls).toEqual([]);
    expect(n.tap.calls).toEqual([]);
  });

  it('the agent shutdown aborts the hysteresis wait: nothing runs', async () => {
    await n.writeConfig(yaml('hysteresisMs: 60000'));
    await n.poolConf('master');
    const rec = recorder(() => 0);
    const stop = new AbortController();
    const started = performance.now();
    const run = assertStorageRoleOnBoot(n.ctx, { signal: stop.signal, assert: rec.assert });
    setTimeout(() => stop.abort(), 200);
    expect(await run).toEqual({ status: 'aborted', attempts: 0 });
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(rec.calls).toEqual([]);
    expect(n.tap.calls).toEqual([]);
  });
});

describe('boot-time storage role (real drbdadm, DRBD simulator, sandbox root)', () => {
  it('slave: waits the hysteresis delay before touching anything, brings DRBD up Secondary, asserts slave', async () => {
    const n = await node(true);
    await n.writeConfig(yaml('hysteresisMs: 600\nconnectWaitMs: 0'));
    await n.poolConf('slave:10.10.10.1');
    n.start();
    const rec = recorder(() => 0);
    const t0 = performance.now();
    const out = await assertStorageRoleOnBoot(n.ctx, { signal: new AbortController().signal, assert: rec.assert });
    expect(out).toMatchObject({ status: 'asserted', role: 'slave', attempts: 1 });
    // Rule 11: the first command ran only after the hysteresis delay.
    expect(n.tap.calls[0]?.at).toBeGreaterThanOrEqual(600);
    expect(n.tap.calls.map((c) => c.line)).toContain('drbdadm up iscsi1');
    expect(n.tap.calls.some((c) => /primary|--force/.test(c.line))).toBe(false);
    expect(rec.calls).toEqual([expect.objectContaining({ role: StorageRole.STORAGE_ROLE_SLAVE, dryRun: false, spec: expect.objectContaining({ drbdResources: ['iscsi1'] }) })]);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(600);
    expect((await readStatus(n.ctx, 'iscsi1')).resources[0]).toMatchObject({ role: 'Secondary', disk: 'Inconsistent', connection: 'WFConnection' });
    expect(n.lines.map((l) => l.msg)).toEqual(
      expect.arrayContaining(['boot storage role: waiting (hysteresis, rule 11) before asserting the storage role', 'boot storage role: pool.conf says slave; asserting the slave storage role', 'boot storage role: slave storage role asserted']),
    );
  });

  it('master: failures are logged loudly and retried with a doubling backoff; pool.conf is read on every attempt', async () => {
    const n = await node(true);
    await n.writeConfig(yaml('hysteresisMs: 100\nconnectWaitMs: 300\nretryInitialMs: 150\nretryMaxMs: 400'));
    await n.poolConf(null);
    // The peer never connects here: the witness names this host (a word that stays good all test long).
    witnessWordOf(n.ctx).heard(StorageRole.STORAGE_ROLE_MASTER, 600_000);
    n.start();
    let t0 = performance.now();
    const rec = recorder(() => t0, [false, false, false]);
    t0 = performance.now();
    const run = assertStorageRoleOnBoot(n.ctx, { signal: new AbortController().signal, assert: rec.assert });
    // No pool.conf yet: not acting, retrying. (Waits for that first failure rather than a fixed
    // time: on a loaded machine the first attempt can come later than the hysteresis.)
    for (let i = 0; i < 400 && !n.lines.some((l) => l['failedStep'] === 'pool-role'); i++) await new Promise((r) => setTimeout(r, 10));
    await n.poolConf('master');
    const out = await run;
    expect(out).toMatchObject({ status: 'asserted', role: 'master', attempts: 5 });
    expect(rec.calls.map((c) => c.role)).toEqual(Array(4).fill(StorageRole.STORAGE_ROLE_MASTER));
    const errors = n.lines.filter((l) => l.level >= 50 && l.msg.includes('STORAGE ROLE NOT ASSERTED'));
    expect(errors.map((e) => e['retryInMs'])).toEqual([150, 300, 400, 400]);
    expect(errors[0]).toMatchObject({ failedStep: 'pool-role', reason: '/etc/xensource/pool.conf does not exist' });
    expect(errors[1]).toMatchObject({ failedStep: 'drbd-primary:iscsi1', errorCode: 'DRBD_PEER_PRIMARY', role: 'master' });
    expect(n.lines.filter((l) => l.msg === 'boot storage role: step FAILED')).toHaveLength(3);
    // The peer never connected here: the master path waited for it (connectWaitMs), then said so.
    expect(n.lines.find((l) => l.msg.startsWith('boot storage role: DRBD peer not connected'))).toMatchObject({ level: 40 });
    const gaps = rec.calls.slice(1).map((c, i) => c.at - (rec.calls[i]?.at ?? 0));
    expect(gaps[0]).toBeGreaterThanOrEqual(300);
    expect(gaps[1]).toBeGreaterThanOrEqual(400);
  }, 30_000);

  it('master with the peer not Connected: no word from the witness, no assertion (retried); the witness naming the peer makes it a slave', async () => {
    const n = await node(true);
    await n.writeConfig(yaml('hysteresisMs: 0\nconnectWaitMs: 0\nretryInitialMs: 100\nretryMaxMs: 100'));
    await n.poolConf('master');
    n.start();
    const rec = recorder(() => 0);
    const run = assertStorageRoleOnBoot(n.ctx, { signal: new AbortController().signal, assert: rec.assert });
    const refused = () => n.lines.filter((l) => l.msg.includes('STORAGE ROLE NOT ASSERTED') && l['failedStep'] === 'witness');
    // The first attempt waits witnessWaitMs (3 s) for a word, then gives up this attempt.
    for (let i = 0; i < 1_000 && refused().length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(refused()[0]).toMatchObject({ role: 'master', errorCode: 'STORAGE_MASTER_UNCONFIRMED', reason: expect.stringMatching(/has not called since this agent started/) });
    expect(rec.calls).toEqual([]);
    expect(n.tap.calls.some((c) => /primary/.test(c.line))).toBe(false);
    // The witness (the controller's heartbeat) names the peer: the next attempt asserts slave and the loop ends.
    witnessWordOf(n.ctx).heard(StorageRole.STORAGE_ROLE_SLAVE, 600_000);
    expect(await run).toMatchObject({ status: 'asserted', role: 'slave' });
    expect(rec.calls.map((c) => c.role)).toEqual([StorageRole.STORAGE_ROLE_SLAVE]);
    expect(n.lines.map((l) => l.msg)).toContain('boot storage role: the witness names the peer the storage master; asserting the slave storage role, not the master role pool.conf names');
  }, 30_000);

  it('master with the peer not Connected: the witness naming this host lets the master role be asserted', async () => {
    const n = await node(true);
    await n.writeConfig(yaml('hysteresisMs: 0\nconnectWaitMs: 0'));
    await n.poolConf('master');
    witnessWordOf(n.ctx).heard(StorageRole.STORAGE_ROLE_MASTER, 600_000);
    const rec = recorder(() => 0);
    expect(await assertStorageRoleOnBoot(n.ctx, { signal: new AbortController().signal, assert: rec.assert })).toMatchObject({ status: 'asserted', role: 'master', attempts: 1 });
    expect(rec.calls.map((c) => c.role)).toEqual([StorageRole.STORAGE_ROLE_MASTER]);
  });

  it('re-inserts the storage firewall rules at start, before DRBD comes up, and only the missing ones', async () => {
    const n = await node(true);
    await n.writeConfig(`${yaml('hysteresisMs: 0\nconnectWaitMs: 0')}firewall: { subnet: 10.10.10.0/24, drbdPorts: [7789] }\n`);
    await n.poolConf('slave:10.10.10.1');
    n.start();
    const rec = recorder(() => 0);
    expect(await assertStorageRoleOnBoot(n.ctx, { signal: new AbortController().signal, assert: rec.assert })).toMatchObject({ status: 'asserted', role: 'slave' });
    const lines = n.tap.calls.map((c) => c.line);
    const inserts = lines.filter((l) => l.startsWith('iptables -w -I RH-Firewall-1-INPUT 1 '));
    expect(inserts).toEqual([
      'iptables -w -I RH-Firewall-1-INPUT 1 -s 10.10.10.0/24 -p tcp -m tcp --dport 3260 -j ACCEPT',
      'iptables -w -I RH-Firewall-1-INPUT 1 -s 10.10.10.0/24 -p tcp -m tcp --dport 7789 -j ACCEPT',
    ]);
    expect(lines.findIndex((l) => l.startsWith('iptables -w -I'))).toBeLessThan(lines.indexOf('drbdadm up iscsi1'));
    expect(n.lines.map((l) => l.msg)).toContain('boot storage role: firewall rules re-applied');
    // A second start finds them in place and inserts nothing.
    n.tap.calls.length = 0;
    await assertStorageRoleOnBoot(n.ctx, { signal: new AbortController().signal, assert: rec.assert });
    expect(n.tap.calls.filter((c) => c.line.startsWith('iptables -w -I'))).toEqual([]);
  });

  it('the agent shutdown aborts the retries', async () => {
    const n = await node(true);
    await n.writeConfig(yaml('hysteresisMs: 0\nconnectWaitMs: 0\nretryInitialMs: 60000'));
    await n.poolConf('master');
    witnessWordOf(n.ctx).heard(StorageRole.STORAGE_ROLE_MASTER, 600_000);
    const rec = recorder(() => 0, [false]);
    const stop = new AbortController();
    const run = assertStorageRoleOnBoot(n.ctx, { signal: stop.signal, assert: rec.assert });
    for (let i = 0; i < 100 && rec.calls.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    stop.abort();
    expect(await run).toEqual({ status: 'aborted', attempts: 1 });
    expect(n.lines.at(-1)).toMatchObject({ msg: 'boot storage role: aborted (agent shutting down)' });
  }, 30_000);
});

describe('WriteStorageRoleConfig writes what the boot-time assertion reads', () => {
  it('round-trips the spec, the firewall and the timing; the CHAP secret goes to a 0600 file, never into the YAML', async () => {
    const n = await node(false);
    const spec: StorageSpec = {
      drbdResources: ['iscsi1'],
      target: {
        tid: 1,
        iqn: 'iqn.2013-05.com.example:xsctl.iscsi1',
        luns: [{ lun: 10, backingStore: '/dev/drbd1', scsiId: 'XSCTL-ISCSI1', scsiSn: 'XS0000000001', vendorId: 'XSCTL', productId: 'DRBD-HA-LUN', bsType: '' }],
        initiatorAddresses: ['10.10.10.0/24'],
        initiatorNames: [],
        incomingUser: { user: 'xsinit', password: 'Xs-CHAP-secret-42' },
      },
      floatingIp: { address: '10.10.10.3', prefixLength: 24, interface: 'xapi1', garpCount: 0 },
      tgtd: undefined,
      peerSafety: { peerFenced: true, peerFencedByPower: true, witnessAddress: '192.168.1.253', witnessInterface: 'xenbr0', failoverReason: 0 },
      stopGraceMs: 0,
    };
    const req = { spec, firewall: { subnet: '10.10.10.0/24', drbdPorts: [7789], iscsiPort: 0, chain: '' }, timing: { hysteresisMs: 2000, connectWaitMs: 0, retryInitialMs: 0, retryMaxMs: 0 } };
    const dry = await writeStorageRoleConfig(n.ctx, { ...req, confirm: false });
    expect(dry).toMatchObject({ path: '/etc/xsctl/storage.yaml', changed: true, written: false });
    expect(dry.content).not.toContain('Xs-CHAP-secret-42');
    expect(await loadStorageRoleConfig(n.ctx)).toBeNull();
    const done = await writeStorageRoleConfig(n.ctx, { ...req, confirm: true });
    expect(done.written).toBe(true);
    expect((await stat(join(n.root, 'etc/xsctl/chap-secret'))).mode & 0o777).toBe(0o600);
    const loaded = await loadStorageRoleConfig(n.ctx);
    expect(loaded).toMatchObject({ hysteresisMs: 2000, connectWaitMs: storageRoleDefaults.connectWaitMs, firewall: { subnet: '10.10.10.0/24', drbdPorts: [7789], iscsiPort: 3260 } });
    expect(loaded?.spec.target?.incomingUser?.password).toBe('Xs-CHAP-secret-42');
    expect(loaded?.spec.target?.luns[0]).toMatchObject({ scsiId: 'XSCTL-ISCSI1', scsiSn: 'XS0000000001' });
    // A fence claim is a statement about one moment: it is not written for the next boot.
    expect(loaded?.spec.peerSafety).toMatchObject({ peerFenced: false, peerFencedByPower: false, witnessAddress: '192.168.1.253' });
    expect((await writeStorageRoleConfig(n.ctx, { ...req, confirm: true })).changed).toBe(false);
  });
});
