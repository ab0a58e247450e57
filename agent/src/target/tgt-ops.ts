import { mkdir, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CommandFailedError } from '../exec/command-errors.js';
import type { CommandResult } from '../exec/command-runner.js';
import type { AgentContext } from '../server/agent-context.js';
import { TargetIdentityMismatchError, TgtadmFailedError, TgtdControlError, TgtdNotRunningError } from './target-errors.js';
import type { TargetConfig } from './target-spec.js';
import { parseTgtadmShow, type TgtTarget } from './parse-tgtadm-show.js';

/** The control port selects the tgtd (tgtd -C N / tgtadm -C N); 0 is tgtd's default. */
export interface Tgtd {
  controlPort: number;
}

/** `-C N` only for a non-default port: port 0 is what tgtd and tgtadm use without it. */
const port = (t: Tgtd) => (t.controlPort === 0 ? [] : ['-C', String(t.controlPort)]);
const base = (t: Tgtd) => [...port(t), '--lld', 'iscsi'];

/** One tgtadm call on this tgtd's control port; a refusal becomes TgtadmFailedError naming the operation. */
export async function tgtadm(ctx: AgentContext, t: Tgtd, args: readonly string[], operation: string, signal?: AbortSignal, timeoutMs = 30_000): Promise<CommandResult> {
  try {
    return await ctx.runner.run('tgtadm', [...base(t), ...args], { signal, timeoutMs });
  } catch (err) {
    if (err instanceof CommandFailedError) throw new TgtadmFailedError(operation, err.exitCode, err.stderr.trim().replace(/^tgtadm:\s*/, ''));
    throw err;
  }
}

/**
 * CHAP account calls carry the password on tgtadm's command line (it has no other input): the
 * runner redacts it from its log line and from the error.
 */
async function tgtadmSecret(ctx: AgentContext, t: Tgtd, args: readonly string[], operation: string, secret: string, signal?: AbortSignal): Promise<void> {
  try {
    await ctx.runner.run('tgtadm', [...base(t), ...args], { signal, timeoutMs: 30_000, secrets: [secret] });
  } catch (err) {
    if (err instanceof CommandFailedError) throw new TgtadmFailedError(operation, err.exitCode, err.stderr.trim().replace(/^tgtadm:\s*/, ''));
    throw err;
  }
}

/** Whether a tgtd answers on the control port. A hung daemon (no answer in 3 s) counts as not answering. */
export async function tgtdRunning(ctx: AgentContext, t: Tgtd, signal?: AbortSignal): Promise<boolean> {
  const r = await ctx.runner.run('tgtadm', [...port(t), '--op', 'show', '--mode', 'sys'], { signal, timeoutMs: 3_000, okExitCodes: [1, 22, 107] }).catch(() => null);
  return r !== null && r.exitCode === 0;
}

export async function showTargets(ctx: AgentContext, t: Tgtd, signal?: AbortSignal): Promise<{ running: boolean; targets: TgtTarget[] }> {
  if (!(await tgtdRunning(ctx, t, signal))) return { running: false, targets: [] };
  const r = await tgtadm(ctx, t, ['--op', 'show', '--mode', 'target'], 'show', signal);
  return { running: true, targets: parseTgtadmShow(r.stdout) };
}

async function accountExists(ctx: AgentContext, t: Tgtd, user: string, signal?: AbortSignal): Promise<boolean> {
  const r = await tgtadm(ctx, t, ['--op', 'show', '--mode', 'account'], 'show accounts', signal);
  return r.stdout.split('\n').some((l) => l.trim() === user);
}

export interface ApplyResult {
  commands: string[];
  changed: boolean;
  target: TgtTarget | null;
}

/**
 * Makes the running tgtd export the spec: target with its fixed tid, each LUN with its fixed
 * identity, ACLs, CHAP, state ready. Idempotent; a LUN that exists with another identity or
 * backing store is an error, not something to change under connected initiators.
 */
export async function applyTarget(ctx: AgentContext, t: Tgtd, cfg: TargetConfig, signal?: AbortSignal, options: { readBack?: boolean; shown?: { running: boolean; targets: TgtTarget[] } } = {}): Promise<ApplyResult> {
  // `shown`: what the caller read (or knows: a tgtd it has just started has no targets) a moment
  // ago, under the same lock; two spawns less (show sys, show target) in a promotion.
  const shown = options.shown ?? (await showTargets(ctx, t, signal));
  if (!shown.running) throw new TgtdNotRunningError(t.controlPort);
  const commands: string[] = [];
  const run = async (args: string[], op: string) => {
    commands.push(`tgtadm ${[...base(t), ...args].join(' ')}`);
    await tgtadm(ctx, t, args, op, signal);
  };
  const tid = String(cfg.tid);
  let current = shown.targets.find((x) => x.tid === cfg.tid) ?? null;
  if (current !== null && current.iqn !== cfg.iqn) throw new TargetIdentityMismatchError(cfg.tid, `IQN ${current.iqn}, wanted ${cfg.iqn}`);
  if (current === null) {
    const clash = shown.targets.find((x) => x.iqn === cfg.iqn);
    if (clash !== undefined) throw new TargetIdentityMismatchError(clash.tid, `tid ${clash.tid} serves ${cfg.iqn}, wanted tid ${cfg.tid}`);
    await run(['--op', 'new', '--mode', 'target', '--tid', tid, '--targetname', cfg.iqn], 'new target');
  }
  for (const l of cfg.luns) {
    const have = current?.luns.find((x) => x.lun === l.lun);
    if (have !== undefined) {
      if (have.backingStorePath !== l.backingStore || have.scsiId !== l.scsiId || have.scsiSn !== l.scsiSn) {
        throw new TargetIdentityMismatchError(cfg.tid, `LUN ${l.lun} is ${have.backingStorePath} ${have.scsiId}/${have.scsiSn}, wanted ${l.backingStore} ${l.scsiId}/${l.scsiSn}`);
      }
      continue;
    }
    commands.push(...lunCalls(cfg.tid, l).map((a) => `tgtadm ${[...base(t), ...a].join(' ')}`));
    await addLun(ctx, t, cfg.tid, l, signal);
  }
  for (const a of cfg.initiatorAddresses) {
    if (current?.acls.includes(a)) continue;
    await run(['--op', 'bind', '--mode', 'target', '--tid', tid, '--initiator-address', a], 'bind initiator-address');
  }
  for (const n of cfg.initiatorNames) {
    if (current?.acls.includes(n)) continue;
    await run(['--op', 'bind', '--mode', 'target', '--tid', tid, '--initiator-name', n], 'bind initiator-name');
  }
  // An account bound to the target exists: no `show account` then (one spawn less in a promotion).
  if (cfg.chap !== null && !current?.accounts.includes(cfg.chap.user)) {
    if (!(await accountExists(ctx, t, cfg.chap.user, signal))) {
      commands.push(`tgtadm ${base(t).join(' ')} --op new --mode account --user ${cfg.chap.user} --password [redacted]`);
      await tgtadmSecret(ctx, t, ['--op', 'new', '--mode', 'account', '--user', cfg.chap.user, '--password', cfg.chap.password], 'new account', cfg.chap.password, signal);
    }
    await run(['--op', 'bind', '--mode', 'account', '--tid', tid, '--user', cfg.chap.user], 'bind account');
  }
  if (current !== null && current.state !== 'ready') {
    await run(['--op', 'update', '--mode', 'target', '--tid', tid, '--name', 'state', '--value', 'ready'], 'set ready');
  }
  if (commands.length > 0) ctx.logger.info({ tid: cfg.tid, iqn: cfg.iqn, commands }, 'tgt target applied');
  // `readBack: false`: the caller needs no target afterwards (a bring-up: each call's exit code
  // already said it took), so no second `show` (two spawns) after the changes.
  if (options.readBack === false) return { commands, changed: commands.length > 0, target: null };
  if (commands.length > 0) current = (await showTargets(ctx, t, signal)).targets.find((x) => x.tid === cfg.tid) ?? null;
  return { commands, changed: commands.length > 0, target: current };
}

/** A LUN's two tgtadm calls: the LU on its backing store, then its identity (rule 7). */
function lunCalls(tid: number, l: TargetConfig['luns'][number]): string[][] {
  return [
    ['--op', 'new', '--mode', 'logicalunit', '--tid', String(tid), '--lun', String(l.lun), '--backing-store', l.backingStore, '--bstype', l.bsType],
    ['--op', 'update', '--mode', 'logicalunit', '--tid', String(tid), '--lun', String(l.lun), '--params', `scsi_id=${l.scsiId},scsi_sn=${l.scsiSn},vendor_id=${l.vendorId},product_id=${l.productId}`],
  ];
}

/**
 * Adds one LUN to a target that has none by that number, with the identity the spec fixes (rule
 * 7) before anything can see it ready; no `show` first (each call's exit code says it took).
 */
export async function addLun(ctx: AgentContext, t: Tgtd, tid: number, l: TargetConfig['luns'][number], signal?: AbortSignal, timeoutMs = 30_000): Promise<void> {
  const [create, identity] = lunCalls(tid, l);
  await tgtadm(ctx, t, create!, 'new logicalunit', signal, timeoutMs);
  await tgtadm(ctx, t, identity!, 'update logicalunit', signal, timeoutMs);
}

/** Sets a target's state with one tgtadm call (no `show` first). */
export async function setTargetState(ctx: AgentContext, t: Tgtd, tid: number, state: 'offline' | 'ready', signal?: AbortSignal): Promise<void> {
  await tgtadm(ctx, t, ['--op', 'update', '--mode', 'target', '--tid', String(tid), '--name', 'state', '--value', state], `set ${state}`, signal, 10_000);
}

/**
 * A target defined ahead of its LUNs (rule 5: nothing of the device before DRBD Primary): the
 * target with its ACLs and CHAP account but no LUN, then offline. Its LUNs' backing store is the
 * DRBD device, which the kernel will not open while it is Secondary; the bring-up adds them and
 * sets the target ready after the promotion (applyTarget). Used by a switchover's prepare and by
 * a master assertion that promotes (beside DRBD Primary).
 */
export async function defineOfflineTarget(ctx: AgentContext, t: Tgtd, cfg: TargetConfig, signal?: AbortSignal, shown?: { running: boolean; targets: TgtTarget[] }): Promise<void> {
  await applyTarget(ctx, t, { ...cfg, luns: [] }, signal, shown === undefined ? { readBack: false } : { readBack: false, shown });
  await setTargetState(ctx, t, cfg.tid, 'offline', signal);
}

export async function offlineTarget(ctx: AgentContext, t: Tgtd, tid: number, signal?: AbortSignal): Promise<boolean> {
  const shown = await showTargets(ctx, t, signal);
  const target = shown.targets.find((x) => x.tid === tid);
  if (target === undefined || target.state === 'offline') return false;
  await tgtadm(ctx, t, ['--op', 'update', '--mode', 'target', '--tid', String(tid), '--name', 'state', '--value', 'offline'], 'set offline', signal);
  return true;
}

/**
 * Deletes a target. Without `force` tgtadm refuses while sessions exist ("this target is still
 * active"). With `force` the target is set offline first, so in-flight commands drain and the
 * LUN is released ("this logical unit is still active" otherwise), then deleted with --force.
 */
export async function deleteTarget(ctx: AgentContext, t: Tgtd, tid: number, force: boolean, signal?: AbortSignal, timeoutMs = 5_000): Promise<{ changed: boolean; sessions: number }> {
  const shown = await showTargets(ctx, t, signal);
  const target = shown.targets.find((x) => x.tid === tid);
  if (target === undefined) return { changed: false, sessions: 0 };
  const args = ['--op', 'delete', '--mode', 'target', '--tid', String(tid), ...(force ? ['--force'] : [])];
  if (!force) {
    await tgtadm(ctx, t, args, 'delete target', signal);
    return { changed: true, sessions: target.nexuses.length };
  }
  if (target.state !== 'offline') await tgtadm(ctx, t, ['--op', 'update', '--mode', 'target', '--tid', String(tid), '--name', 'state', '--value', 'offline'], 'set offline', signal);
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      await tgtadm(ctx, t, args, 'delete target', signal, timeoutMs);
      return { changed: true, sessions: target.nexuses.length };
    } catch (err) {
      if (!(err instanceof TgtadmFailedError) || !/still active/.test(err.reason) || Date.now() >= end) throw err;
      await sleep(200, undefined, { signal });
    }
  }
}

/**
 * The self-fence's target step: stop initiators reaching the LUN now, with no `show` first (one
 * spawn less on a loaded host). Offline (tgtd answers new commands with NOT READY), then delete
 * with --force (drops the sessions and closes the backing store, so DRBD can go Secondary),
 * retrying "still active" every 50 ms until `signal` (the step's deadline) ends it. A tid that
 * does not exist (tgtadm exit 22) or a tgtd that is not running (exit 107) is already withdrawn.
 */
export async function withdrawTarget(ctx: AgentContext, t: Tgtd, tid: number, signal: AbortSignal): Promise<'withdrawn' | 'absent'> {
  const gone = [22, 107];
  const offline = await ctx.runner.run('tgtadm', [...base(t), '--op', 'update', '--mode', 'target', '--tid', String(tid), '--name', 'state', '--value', 'offline'], { signal, timeoutMs: 5_000, okExitCodes: gone });
  if (gone.includes(offline.exitCode)) return 'absent';
  for (;;) {
    try {
      await ctx.runner.run('tgtadm', [...base(t), '--op', 'delete', '--mode', 'target', '--tid', String(tid), '--force'], { signal, timeoutMs: 5_000, okExitCodes: gone });
      return 'withdrawn';
    } catch (err) {
      if (!(err instanceof CommandFailedError)) throw err;
      const reason = err.stderr.trim().replace(/^tgtadm:\s*/, '');
      if (!/still active/.test(reason)) throw new TgtadmFailedError('delete target', err.exitCode, reason);
    }
    await sleep(50, undefined, { signal });
  }
}

function pidFile(ctx: AgentContext, t: Tgtd): string {
  return ctx.root.resolve(join(ctx.stateDir, `tgtd.${t.controlPort}.pid`));
}

/** Beside the pid file: the start time of the tgtd it names, so a recycled pid is told apart. */
function identityFile(ctx: AgentContext, t: Tgtd): string {
  return ctx.root.resolve(join(ctx.stateDir, `tgtd.${t.controlPort}.identity`));
}

/** Alive and not a zombie (a reaped-late daemon stays in /proc as Z). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  return true;
}

interface ProcInfo {
  argv: string[];
  /** /proc/PID/exe, or null when it cannot be read. */
  exe: string | null;
  /** Field 22 of /proc/PID/stat: clock ticks after boot; with the pid, unique until reboot. */
  startTime: string;
  state: string;
  /** Field 4 of /proc/PID/stat. */
  ppid: number;
}

async function procInfo(pid: number): Promise<ProcInfo | null> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // comm may hold spaces and parentheses: the fields start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  if (state === undefined || state === '' || state === 'Z' || state === 'X') return null;
  const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0').filter((a) => a !== '');
  const exe = await readlink(`/proc/${pid}/exe`).catch(() => null);
  return { argv, exe: exe === null ? null : exe.replace(/ \(deleted\)$/, ''), startTime: fields[19] ?? '', state, ppid: Number(fields[1]) };
}

async function liveProcess(pid: number): Promise<boolean> {
  return alive(pid) && (await procInfo(pid)) !== null;
}

/**
 * Whether the process is a tgtd serving this control port: its program (/proc/PID/exe) is a
 * tgtd, its argv names the port (none for port 0), and, when the agent recorded the start time of
 * the tgtd it started, it is that very process. A stale pid file may name an unrelated process
 * that got the pid since; signalling it would kill an innocent one.
 */
function isOurTgtd(info: ProcInfo, t: Tgtd, recordedStart: string | null): boolean {
  const isTgtd = (p: string | undefined) => p !== undefined && /(^|\/)tgtd$/.test(p);
  if (!isTgtd(info.argv[0]) || (info.exe !== null && !isTgtd(info.exe))) return false;
  const i = info.argv.findIndex((a) => a === '-C' || a === '--control-port');
  const port = i === -1 ? 0 : Number(info.argv[i + 1]);
  if (port !== t.controlPort) return false;
  return recordedStart === null || recordedStart === info.startTime;
}

/**
 * tgtd processes serving this control port: the pid file first (checked), then a /proc scan. The
 * scan looks at every process at once, not one after the other: on a loaded host each read waits
 * for a thread-pool turn, and hundreds of them in a row took 80 s in the failover lab, longer than
 * any demotion bound (rule 6).
 */
async function tgtdPids(ctx: AgentContext, t: Tgtd): Promise<number[]> {
  const pids = new Set<number>();
  const fromFile = Number((await readFile(pidFile(ctx, t), 'utf8').catch(() => '')).trim());
  const recorded = await readFile(identityFile(ctx, t), 'utf8')
    .then((text) => JSON.parse(text) as { pid?: unknown; startTime?: unknown })
    .catch(() => null);
  const recordedStart = recorded !== null && recorded.pid === fromFile && typeof recorded.startTime === 'string' ? recorded.startTime : null;
  if (Number.isInteger(fromFile) && fromFile > 0 && alive(fromFile)) {
    const info = await procInfo(fromFile);
    if (info !== null && isOurTgtd(info, t, recordedStart)) pids.add(fromFile);
    else if (info !== null) ctx.logger.warn({ pid: fromFile, argv: info.argv.slice(0, 4), exe: info.exe, controlPort: t.controlPort }, 'the tgtd pid file names a process that is not this tgtd; ignoring it');
  }
  const entries = (await readdir('/proc').catch(() => [] as string[])).filter((e) => /^\d+$/.test(e) && !pids.has(Number(e)));
  const found = await Promise.all(entries.map(async (entry) => ((await cheapTgtdCheck(entry)) && isOurTgtdInfo(await procInfo(Number(entry)), t) ? Number(entry) : 0)));
  for (const pid of found) if (pid > 0) pids.add(pid);
  return [...pids];
}

/** Only the cmdline first: most processes are not a tgtd, and need no stat or exe read. */
async function cheapTgtdCheck(pid: string): Promise<boolean> {
  const argv0 = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0')[0] ?? '';
  return /(^|\/)tgtd$/.test(argv0);
}

function isOurTgtdInfo(info: ProcInfo | null, t: Tgtd): boolean {
  return info !== null && isOurTgtd(info, t, null);
}

/**
 * After a start: the start time of the tgtd the pid file names, if it is the tgtd for this port.
 * Returns that pid (0 when the pid file names none of ours).
 */
async function recordIdentity(ctx: AgentContext, t: Tgtd): Promise<number> {
  const pid = Number((await readFile(pidFile(ctx, t), 'utf8').catch(() => '')).trim());
  const info = Number.isInteger(pid) && pid > 0 ? await procInfo(pid) : null;
  if (info === null || !isOurTgtd(info, t, null)) return 0;
  await writeFile(identityFile(ctx, t), `${JSON.stringify({ pid, startTime: info.startTime })}\n`, { mode: 0o600 });
  return pid;
}

async function waitFor(check: () => Promise<boolean>, ms: number, signal?: AbortSignal): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= end) return false;
    await sleep(100, undefined, { signal });
  }
}

const pidFileSupport = new WeakMap<AgentContext['runner'], Promise<boolean>>();

/**
 * Whether this tgtd takes `-p PIDFILE` (fujita/tgt 98bcc90, v1.0.78): asked once per runner from
 * `tgtd -h`. A dom0's tgt 1.0.24 has no such option and refuses to start with it.
 */
function tgtdWritesPidFile(ctx: AgentContext, signal?: AbortSignal): Promise<boolean> {
  let known = pidFileSupport.get(ctx.runner);
  if (known === undefined) {
    known = ctx.runner
      .run('tgtd', ['-h'], { okExitCodes: [1], timeoutMs: 10_000, ...(signal === undefined ? {} : { signal }) })
      .then((r) => /--pid-file\b/.test(`${r.stdout}${r.stderr}`))
      .catch(() => false);
    pidFileSupport.set(ctx.runner, known);
  }
  return known;
}

/**
 * A tgtd without -p: the agent writes the pid file itself, from the /proc scan. A daemonized tgtd
 * forks a logger child with the same argv (fujita/tgt usr/log.c log_init, 1.0.24 as today): the
 * daemon is the one whose parent is not another tgtd of this port.
 */
async function writePidFileFromScan(ctx: AgentContext, t: Tgtd): Promise<void> {
  const found = await tgtdPids(ctx, t);
  const parents = await Promise.all(found.map(async (pid) => (await procInfo(pid))?.ppid));
  const pids = found.filter((_, i) => !found.includes(parents[i] ?? -1));
  if (pids.length === 1) await writeFile(pidFile(ctx, t), `${pids[0]}\n`, { mode: 0o644 });
  else ctx.logger.warn({ controlPort: t.controlPort, pids }, 'no single tgtd found for this control port after the start; no pid file written');
}

/** Starts tgtd for this control port unless one answers already. Never enables it at boot. */
export async function startTgtd(ctx: AgentContext, t: Tgtd, signal?: AbortSignal): Promise<{ changed: boolean; pid: number }> {
  if (await tgtdRunning(ctx, t, signal)) return { changed: false, pid: (await tgtdPids(ctx, t))[0] ?? 0 };
  const file = pidFile(ctx, t);
  await mkdir(dirname(file), { recursive: true });
  await rm(file, { force: true });
  await rm(identityFile(ctx, t), { force: true });
  const withPidFile = await tgtdWritesPidFile(ctx, signal);
  try {
    await ctx.runner.run('tgtd', [...port(t), ...(withPidFile ? ['-p', file] : [])], { signal, timeoutMs: 15_000 });
  } catch (err) {
    throw new TgtdControlError('start', err instanceof CommandFailedError ? err.stderr.trim() || `exit ${err.exitCode}` : String(err), { cause: err });
  }
  if (!(await waitFor(() => tgtdRunning(ctx, t, signal), 10_000, signal))) throw new TgtdControlError('start', `no answer on control port ${t.controlPort} after 10 s`);
  if (!withPidFile) await writePidFileFromScan(ctx, t);
  const recorded = await recordIdentity(ctx, t);
  ctx.logger.info({ controlPort: t.controlPort }, 'tgtd started');
  // The pid just checked and recorded, without a second /proc scan (every process's cmdline,
  // 0.3-0.6 s in the loaded failover lab, in line before the target's definition).
  return { changed: true, pid: recorded > 0 ? recorded : ((await tgtdPids(ctx, t))[0] ?? 0) };
}

/**
 * Rule 6: a bounded stop. Targets are deleted with --force (sessions dropped) and tgtd is asked
 * to exit; what is still there after `graceMs` gets SIGTERM, then SIGKILL.
 */
export async function stopTgtd(ctx: AgentContext, t: Tgtd, graceMs: number, signal?: AbortSignal): Promise<{ changed: boolean; how: 'not-running' | 'graceful' | 'sigterm' | 'sigkill' }> {
  const running = await tgtdRunning(ctx, t, signal);
  let pids = await tgtdPids(ctx, t);
  if (!running && pids.length === 0) return { changed: false, how: 'not-running' };
  // With known pids, gone means every pid is gone (a hung daemon does not answer, yet lives).
  const gone = async () => (pids.length > 0 ? (await Promise.all(pids.map(liveProcess))).every((a) => !a) : !(await tgtdRunning(ctx, t, signal)));
  if (running) {
    try {
      const shown = await showTargets(ctx, t, signal);
      for (const target of shown.targets) await deleteTarget(ctx, t, target.tid, true, signal, graceMs);
      await ctx.runner.run('tgtadm', [...port(t), '--op', 'delete', '--mode', 'system'], { signal, timeoutMs: Math.max(graceMs, 1_000) });
    } catch (err) {
      ctx.logger.warn({ err: err instanceof Error ? err.message : String(err), controlPort: t.controlPort }, 'tgtd did not stop on request; escalating');
    }
    if (await waitFor(gone, graceMs, signal)) return done('graceful');
  }
  pids = pids.length > 0 ? pids : await tgtdPids(ctx, t);
  for (const sig of ['SIGTERM', 'SIGKILL'] as const) {
    for (const pid of pids) {
      try {
        process.kill(pid, sig);
      } catch {
        // already gone
      }
    }
    if (await waitFor(gone, graceMs, signal)) return done(sig === 'SIGTERM' ? 'sigterm' : 'sigkill');
  }
  throw new TgtdControlError('stop', `tgtd (pids ${pids.join(', ') || 'unknown'}) still running after SIGKILL`);

  async function done(how: 'graceful' | 'sigterm' | 'sigkill') {
    await rm(pidFile(ctx, t), { force: true });
    await rm(identityFile(ctx, t), { force: true });
    ctx.logger.info({ controlPort: t.controlPort, how }, 'tgtd stopped');
    return { changed: true, how };
  }
}
