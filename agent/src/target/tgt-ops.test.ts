import { randomBytes } from 'node:crypto';
import { openSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@xsctl/common/log/create-logger';
import { deleteNamespace } from '@xsctl/test/fleet/kill-namespace';
import type { TargetSpec } from '@xsctl/proto/gen/xsctl/agent/v1/target';
import { allowedCommands, type AllowedCommand } from '../exec/command-table.js';
import { CommandRunner } from '../exec/command-runner.js';
import { SandboxRoot } from '../fs/sandbox-root.js';
import type { AgentContext } from '../server/agent-context.js';
import { renderTargetsConf } from './render-targets-conf.js';
import { normalizeTargetSpec } from './target-spec.js';
import { applyTarget, deleteTarget, showTargets, startTgtd, stopTgtd, tgtdRunning, type Tgtd } from './tgt-ops.js';

/**
 * The real tgtd, one per test, in a private network namespace (its iSCSI port stays off the host);
 * a second namespace, joined by a veth pair, plays the initiator with libiscsi.
 */
const root = process.getuid?.() === 0;
const id = randomBytes(3).toString('hex');
const target = `xsctl-tt${id}-t`;
const initiator = `xsctl-tt${id}-i`;
const secret = 'Xs-CHAP-secret-42';

async function sh(args: string[]) {
  await execa('ip', args);
}

describe.skipIf(!root)('tgtd through tgtadm (real daemon in a namespace)', () => {
  let dir: string;
  /** The test's LUN images lie in its temp dir: the agent's lunFileDirs. */
  const files = () => ({ lunFileDirs: [dir] });
  let image: string;
  let logFile: string;
  let ctx: AgentContext;
  const t: Tgtd = { controlPort: 31_000 + Math.floor(Math.random() * 1_000) };
  let spec: TargetSpec;

  beforeAll(async () => {
    await sh(['netns', 'add', target]);
    await sh(['netns', 'add', initiator]);
    await sh(['link', 'add', `tt${id}a`, 'type', 'veth', 'peer', 'name', `tt${id}b`]);
    await sh(['link', 'set', `tt${id}a`, 'netns', target]);
    await sh(['link', 'set', `tt${id}b`, 'netns', initiator]);
    await sh(['-n', target, 'addr', 'add', '10.214.0.1/24', 'dev', `tt${id}a`]);
    await sh(['-n', initiator, 'addr', 'add', '10.214.0.2/24', 'dev', `tt${id}b`]);
    for (const [ns, dev] of [[target, `tt${id}a`], [initiator, `tt${id}b`]] as const) {
      await sh(['-n', ns, 'link', 'set', dev, 'up']);
      await sh(['-n', ns, 'link', 'set', 'lo', 'up']);
    }
    dir = await mkdtemp(join(tmpdir(), 'xsctl-tgt-'));
    image = join(dir, 'lun10.img');
    await writeFile(image, Buffer.alloc(32 * 1024 * 1024));
    logFile = join(dir, 'agent.log');
    const logger = createLogger('tgt-test', { level: 'debug', destination: openSync(logFile, 'a') });
    const paths: Partial<Record<AllowedCommand, string>> = {};
    const prefixArgs: Partial<Record<AllowedCommand, readonly string[]>> = {};
    for (const cmd of allowedCommands) {
      paths[cmd] = 'ip';
      prefixArgs[cmd] = ['netns', 'exec', target, cmd];
    }
    ctx = { root: new SandboxRoot(dir), runner: new CommandRunner({ logger, paths, prefixArgs }), logger, stateDir: '/state' };
    spec = {
      tid: 7,
      iqn: 'iqn.2013-05.com.example:xsctl.unit',
      luns: [{ lun: 10, backingStore: image, scsiId: 'XSCTL-UNIT', scsiSn: 'XSUNIT000001', vendorId: 'XSCTL', productId: 'UNIT-LUN', bsType: 'rdwr' }],
      initiatorAddresses: ['10.214.0.0/24'],
      initiatorNames: [],
      incomingUser: { user: 'xsinit', password: secret },
    };
  }, 30_000);

  afterAll(async () => {
    for (const ns of [target, initiator]) await deleteNamespace(ns);
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  const url = (lun = 10) => `iscsi://xsinit%${secret}@10.214.0.1/${spec.iqn}/${lun}`;
  const inq = (args: string[]) => execa('ip', ['netns', 'exec', initiator, 'iscsi-inq', ...args], { reject: false });

  it('starts tgtd once (pid file, control port) and reports it running', async () => {
    expect(await tgtdRunning(ctx, t)).toBe(false);
    const first = await startTgtd(ctx, t);
    expect(first.changed).toBe(true);
    expect(first.pid).toBeGreaterThan(0);
    expect(Number(await readFile(join(dir, 'state', `tgtd.${t.controlPort}.pid`), 'utf8'))).toBe(first.pid);
    expect(await startTgtd(ctx, t)).toEqual({ changed: false, pid: first.pid });
  });

  it('applies a target with a fixed identity, CHAP and an ACL; applying again changes nothing', async () => {
    const r = await applyTarget(ctx, t, normalizeTargetSpec(spec, 'target', files()));
    expect(r.changed).toBe(true);
    expect(r.commands).toContain(`tgtadm -C ${t.controlPort} --lld iscsi --op update --mode logicalunit --tid 7 --lun 10 --params scsi_id=XSCTL-UNIT,scsi_sn=XSUNIT000001,vendor_id=XSCTL,product_id=UNIT-LUN`);
    expect(r.commands.join('\n')).not.toContain(secret);
    expect(r.target).toMatchObject({ tid: 7, state: 'ready', accounts: ['xsinit'], acls: ['10.214.0.0/24'] });
    const again = await applyTarget(ctx, t, normalizeTargetSpec(spec, 'target', files()));
    expect(again).toMatchObject({ changed: false, commands: [] });
    const std = await inq([url()]);
    expect(std.stdout).toMatch(/^Vendor:XSCTL\s*$/m);
    expect(std.stdout).toMatch(/^Product:UNIT-LUN\s*$/m);
    expect((await inq(['-e', '1', '-c', '128', url()])).stdout).toMatch(/Unit Serial Number:\[\s*XSUNIT000001\]/);
    expect((await inq([`iscsi://10.214.0.1/${spec.iqn}/10`])).exitCode).not.toBe(0);
  });

  it('keeps the CHAP secret out of the agent log even at debug level', async () => {
    const log = await readFile(logFile, 'utf8');
    expect(log).toContain('--op new --mode logicalunit');
    expect(log).not.toContain(secret);
  });

  it('refuses to change the identity of a LUN that is already exported', async () => {
    const other = normalizeTargetSpec({ ...spec, luns: [{ ...spec.luns[0]!, scsiSn: 'XSUNIT000002' }] }, 'target', files());
    await expect(applyTarget(ctx, t, other)).rejects.toMatchObject({ code: 'TGT_IDENTITY_MISMATCH' });
    await expect(applyTarget(ctx, t, normalizeTargetSpec({ ...spec, tid: 8 }, 'target', files()))).rejects.toMatchObject({ code: 'TGT_IDENTITY_MISMATCH' });
  });

  it('deleting a target with a busy session needs --force, which drains it offline first', async () => {
    const perf = execa('ip', ['netns', 'exec', initiator, 'iscsi-perf', '-r', '-t', '30', '-n', '-x', '0', url()], { reject: false });
    let sessions = 0;
    for (let i = 0; i < 50 && sessions === 0; i++) {
      sessions = (await showTargets(ctx, t)).targets.find((x) => x.tid === 7)?.nexuses.length ?? 0;
      if (sessions === 0) await new Promise((res) => setTimeout(res, 100));
    }
    expect(sessions).toBe(1);
    await expect(deleteTarget(ctx, t, 7, false)).rejects.toMatchObject({ code: 'TGT_COMMAND_FAILED', reason: 'this target is still active' });
    expect(await deleteTarget(ctx, t, 7, true)).toEqual({ changed: true, sessions: 1 });
    expect(await deleteTarget(ctx, t, 7, true)).toEqual({ changed: false, sessions: 0 });
    perf.kill('SIGKILL');
    await perf;
  }, 30_000);

  it('accepts the targets.conf it renders: tgt-admin builds the same target (tid pinned), and drops runtime-only targets', async () => {
    const conf = join(dir, 'targets.conf');
    const second = join(dir, 'lun11.img');
    await writeFile(second, Buffer.alloc(16 * 1024 * 1024));
    const cfg = normalizeTargetSpec({ ...spec, tid: 9, iqn: 'iqn.2013-05.com.example:xsctl.conf', luns: [{ ...spec.luns[0]!, lun: 11, backingStore: second, scsiSn: 'XSUNIT000009' }] }, 'target', files());
    await writeFile(conf, renderTargetsConf([cfg], { redactSecrets: false }));
    expect((await applyTarget(ctx, t, normalizeTargetSpec(spec, 'target', files()))).changed).toBe(true);
    await execa('tgt-admin', ['-C', String(t.controlPort), '-e', '-c', conf]);
    // tgt-admin -e removes every target its file does not name: why the agent drives tgtadm directly.
    expect((await showTargets(ctx, t)).targets.map((x) => x.tid)).toEqual([9]);
    const shown = (await showTargets(ctx, t)).targets.find((x) => x.iqn === cfg.iqn);
    expect(shown).toMatchObject({ tid: 9, state: 'ready', accounts: ['xsinit'], acls: ['10.214.0.0/24'] });
    expect(shown?.luns.find((l) => l.lun === 11)).toMatchObject({ scsiId: 'XSCTL-UNIT', scsiSn: 'XSUNIT000009', backingStorePath: second });
    // The running target built by tgt-admin is what applyTarget would build: nothing to change.
    expect((await applyTarget(ctx, t, cfg)).changed).toBe(false);
  });

  it('stops gracefully when tgtd answers', async () => {
    expect(await stopTgtd(ctx, t, 2_000)).toEqual({ changed: true, how: 'graceful' });
    expect(await tgtdRunning(ctx, t)).toBe(false);
    expect(await stopTgtd(ctx, t, 2_000)).toEqual({ changed: false, how: 'not-running' });
  }, 30_000);

  it('escalates to SIGKILL when tgtd hangs (rule 6: demotion is bounded)', async () => {
    const { pid } = await startTgtd(ctx, t);
    process.kill(pid, 'SIGSTOP'); // a hung daemon: the control socket accepts but nobody answers
    const start = Date.now();
    expect(await stopTgtd(ctx, t, 500)).toEqual({ changed: true, how: 'sigkill' });
    expect(Date.now() - start).toBeLessThan(10_000);
  }, 30_000);

  it('signals only this tgtd: not an unrelated process, an impostor or another port\'s tgtd that a stale pid file names', async () => {
    const file = join(dir, 'state', `tgtd.${t.controlPort}.pid`);
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    // Process groups of their own, so the cleanup reaches their children.
    const unrelated = execa('sleep', ['300'], { detached: true, reject: false });
    // argv says "tgtd -C PORT", but the program is sh.
    const impostor = execa('bash', ['-c', `exec -a tgtd /bin/sh -c 'sleep 300; :' -C ${t.controlPort}`], { detached: true, reject: false });
    const other: Tgtd = { controlPort: t.controlPort + 1 };
    const o = await startTgtd(ctx, other);
    try {
      await sleep(200);
      for (const pid of [unrelated.pid!, o.pid]) {
        await writeFile(file, `${pid}\n`);
        expect(await stopTgtd(ctx, t, 300)).toEqual({ changed: false, how: 'not-running' });
        expect({ pid, alive: alive(pid) }).toEqual({ pid, alive: true });
      }
      await rm(file, { force: true });
      expect(await stopTgtd(ctx, t, 300)).toEqual({ changed: false, how: 'not-running' });
      expect(alive(impostor.pid!)).toBe(true);
      expect(await tgtdRunning(ctx, other)).toBe(true);
    } finally {
      for (const p of [unrelated.pid, impostor.pid]) {
        try {
          if (p !== undefined) process.kill(-p, 'SIGKILL');
        } catch {
          // already gone (a failing run may have killed it)
        }
      }
      await stopTgtd(ctx, other, 2_000);
    }
  }, 30_000);

  it('starts a tgtd without -p (tgt 1.0.24 on a dom0) and writes its pid file from the /proc scan', async () => {
    // `tgtd -h` of fujita/tgt v1.0.24 (usr/tgtd.c usage(0), 2012): no -p/--pid-file, which that
    // tgtd refuses (usage(1)). The daemon itself is this machine's tgtd, run without -p.
    const usage1024 = [
      'Usage: tgtd [OPTION]',
      'Target framework daemon, version 1.0.24',
      '  -f, --foreground        make the program run in the foreground',
      '  -C, --control-port NNNN use port NNNN for the mgmt channel',
      '  -t, --nr_iothreads NNNN specify the number of I/O threads',
      '  -d, --debug debuglevel  print debugging information',
      '  -V, --version           print version and exit',
      '  -h, --help              display this help and exit',
      '',
    ].join('\n');
    const calls: string[][] = [];
    const real = ctx.runner;
    const runner = {
      run(command: AllowedCommand, args: readonly string[], options?: Parameters<CommandRunner['run']>[2]) {
        if (command === 'tgtd') calls.push([...args]);
        if (command === 'tgtd' && args[0] === '-h') return Promise.resolve({ command, args, exitCode: 0, stdout: usage1024, stderr: '', durationMs: 1 });
        return real.run(command, args, options);
      },
    } as unknown as CommandRunner;
    const old: AgentContext = { ...ctx, runner };
    const p: Tgtd = { controlPort: t.controlPort + 2 };
    const started = await startTgtd(old, p);
    try {
      expect(calls).toEqual([['-h'], ['-C', String(p.controlPort)]]);
      // The oracle: the tgtd processes in the target namespace (ip netns pids, ps): the daemon and
      // the logger it forks (usr/log.c), whose parent is the daemon.
      const inNs = String((await execa('ip', ['netns', 'pids', target])).stdout).split(/\s+/).filter((x) => x !== '');
      const ps = String((await execa('ps', ['-o', 'pid=,ppid=,comm=', '-p', inNs.join(',')])).stdout)
        .split('\n')
        .map((l) => l.trim().split(/\s+/))
        .filter((f) => f[2] === 'tgtd');
      expect(ps).toHaveLength(2);
      const daemon = ps.filter((f) => !ps.some((g) => g[0] === f[1])).map((f) => Number(f[0]));
      expect(daemon).toEqual([started.pid]);
      expect(Number(await readFile(join(dir, 'state', `tgtd.${p.controlPort}.pid`), 'utf8'))).toBe(started.pid);
      expect(await startTgtd(old, p)).toEqual({ changed: false, pid: started.pid });
    } finally {
      expect(await stopTgtd(old, p, 2_000)).toEqual({ changed: true, how: 'graceful' });
    }
    expect(await tgtdRunning(old, p)).toBe(false);
  }, 30_000);
});
