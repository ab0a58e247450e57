import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createLogger } from '@xsctl/common/log/create-logger';
import { CommandRunner } from './command-runner.js';
import { CommandCancelledError, CommandFailedError, CommandNotFoundError, CommandOptionNotInTableError, CommandTimeoutError } from './command-errors.js';
import { tempDir } from '@xsctl/common/testing/temp-dir';

const logger = createLogger('test', { level: 'silent' });
// Allowed names pointed at coreutils so the runner's behaviour is tested on real processes.
const runner = new CommandRunner({ logger, checkToolOptions: false, paths: { dmesg: '/bin/echo', chronyc: '/bin/sleep', ntpq: '/bin/false', service: '/bin/cat', wipefs: '/bin/sh-does-not-exist' } });

describe('CommandRunner', () => {
  it('passes arguments as an array: shell syntax stays literal', async () => {
    const r = await runner.run('dmesg', ['$(id)', ';', 'rm', '-rf', '/', '|', '`x`']);
    expect(r.stdout).toBe('$(id) ; rm -rf / | `x`\n');
    expect(r.exitCode).toBe(0);
  });

  it('refuses a program that is not in the table', async () => {
    await expect(runner.run('bash', ['-c', 'id'])).rejects.toBeInstanceOf(CommandNotFoundError);
    await expect(runner.run('/bin/sh', [])).rejects.toBeInstanceOf(CommandNotFoundError);
  });

  it('reports a missing binary as not found', async () => {
    await expect(runner.run('wipefs', [])).rejects.toBeInstanceOf(CommandNotFoundError);
  });

  it('turns a non-zero exit into CommandFailedError unless the caller allows it', async () => {
    const err = await runner.run('ntpq', []).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandFailedError);
    expect((err as CommandFailedError).exitCode).toBe(1);
    expect((err as CommandFailedError).code).toBe('COMMAND_FAILED');
    expect((await runner.run('ntpq', [], { okExitCodes: [1] })).exitCode).toBe(1);
  });

  it('kills a program that outlives its timeout', async () => {
    const start = performance.now();
    await expect(runner.run('chronyc', ['5'], { timeoutMs: 200 })).rejects.toBeInstanceOf(CommandTimeoutError);
    expect(performance.now() - start).toBeLessThan(3000);
  });

  it('kills a program when the caller aborts', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    await expect(runner.run('chronyc', ['5'], { signal: ac.signal })).rejects.toBeInstanceOf(CommandCancelledError);
  });

  it('passes stdin and does not leak the agent environment', async () => {
    process.env['XSCTL_SECRET_TEST'] = 'do-not-leak';
    const r = await runner.run('service', [], { input: 'hello\n' });
    expect(r.stdout).toBe('hello\n');
    const env = await new CommandRunner({ logger, checkToolOptions: false, paths: { dmesg: '/usr/bin/env' } }).run('dmesg', []);
    expect(env.stdout).not.toContain('XSCTL_SECRET_TEST');
    expect(env.stdout).toMatch(/^LC_ALL=C$/m);
  });
});

describe('CommandRunner secrets', () => {
  it('keeps secret arguments out of the log line and the error', async () => {
    const lines: string[] = [];
    const { pino } = await import('pino');
    const capture = pino({ level: 'debug' }, { write: (l: string) => lines.push(l) });
    const r = new CommandRunner({ logger: capture, checkToolOptions: false, paths: { dmesg: '/bin/echo', ntpq: '/bin/ls' } });
    await r.run('dmesg', ['--password', 'chap-s3cret'], { secrets: ['chap-s3cret'] });
    const err = await r.run('ntpq', ['/nonexistent-chap-s3cret'], { secrets: ['chap-s3cret'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandFailedError);
    expect(JSON.stringify((err as CommandFailedError).args)).not.toContain('chap-s3cret');
    expect((err as CommandFailedError).message).not.toContain('chap-s3cret');
    expect((err as Error).cause).toBeUndefined();
    expect(lines.join('')).toContain('[redacted]');
    expect(lines.join('')).not.toContain('chap-s3cret');
  });
});

describe('CommandRunner and the tool-option table', () => {
  const strict = new CommandRunner({ logger, paths: { ip: '/bin/echo', multipathd: '/bin/echo', unshare: '/bin/echo' } });

  it('refuses an option the dom0 tool lacks before anything runs (ip -j: iproute 4.13, dom0 has 4.11)', async () => {
    const err = await strict.run('ip', ['-j', 'addr', 'show', 'dev', 'eth0']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandOptionNotInTableError);
    expect((err as CommandOptionNotInTableError).code).toBe('COMMAND_OPTION_NOT_IN_TABLE');
    expect((err as CommandOptionNotInTableError).arg).toBe('-j');
  });

  it('refuses an unknown subcommand and passes the listed ones', async () => {
    await expect(strict.run('ip', ['link', 'set', 'eth0', 'down'])).rejects.toBeInstanceOf(CommandOptionNotInTableError);
    expect((await strict.run('ip', ['addr', 'show', 'dev', 'eth0'])).stdout).toBe('addr show dev eth0\n');
    expect((await strict.run('multipathd', ['show', 'maps', 'json'])).exitCode).toBe(0);
    await expect(strict.run('multipathd', ['show', 'config'])).rejects.toBeInstanceOf(CommandOptionNotInTableError);
  });

  it('stops checking after unshare\'s --: what follows is the helper\'s own argv', async () => {
    expect((await strict.run('unshare', ['--mount', '--', '/bin/x', '--anything'])).exitCode).toBe(0);
    await expect(strict.run('unshare', ['--fork', '--', '/bin/x'])).rejects.toBeInstanceOf(CommandOptionNotInTableError);
  });
});

/** Alive and not a zombie: a killed orphan may linger as Z until its new parent reaps it. */
async function running(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const state = /\) (\S)/.exec(stat)?.[1];
  return state !== undefined && state !== 'Z' && state !== 'X';
}

async function waitForPids(file: string): Promise<number[]> {
  for (let i = 0; i < 200; i++) {
    const text = await readFile(file, 'utf8').catch(() => '');
    if (text.endsWith('\n')) return text.trim().split(/\s+/).map(Number);
    await sleep(25);
  }
  throw new Error(`no pid file ${file}`);
}

describe('CommandRunner stops the whole process group', () => {
  // An allowed name pointed at sh, which starts grandchildren the way drbdadm or tgt-admin do.
  const shRunner = new CommandRunner({ logger, paths: { chronyc: '/bin/sh' }, checkToolOptions: false });
  const spawnTree = (pidFile: string, trap = '') => ['-c', `${trap}sleep 300 & a=$!; sh -c 'sleep 300 & echo $!' > ${pidFile}.b; echo "$$ $a $(cat ${pidFile}.b)" > ${pidFile}; wait`];

  it('a cancel kills the grandchildren too, not only the direct child', async () => {
    const dir = await tempDir('xsctl-pg-');
    const ac = new AbortController();
    const run = shRunner.run('chronyc', spawnTree(join(dir, 'pids')), { signal: ac.signal, timeoutMs: 60_000 });
    const pids = await waitForPids(join(dir, 'pids'));
    expect(pids).toHaveLength(3);
    for (const p of pids) expect(await running(p)).toBe(true);
    ac.abort();
    await expect(run).rejects.toBeInstanceOf(CommandCancelledError);
    await sleep(200);
    for (const p of pids) expect({ pid: p, running: await running(p) }).toEqual({ pid: p, running: false });
  });

  it('a timeout kills the grandchildren, with SIGKILL for those that ignore SIGTERM', async () => {
    const dir = await tempDir('xsctl-pg-');
    const start = performance.now();
    const run = shRunner.run('chronyc', spawnTree(join(dir, 'pids'), "trap '' TERM; "), { timeoutMs: 700 });
    const pids = await waitForPids(join(dir, 'pids'));
    await expect(run).rejects.toBeInstanceOf(CommandTimeoutError);
    await sleep(300);
    for (const p of pids) expect({ pid: p, running: await running(p) }).toEqual({ pid: p, running: false });
    expect(performance.now() - start).toBeLessThan(10_000);
  });

  it('does not start a program when the signal is already aborted', async () => {
    const dir = await tempDir('xsctl-pg-');
    const ac = new AbortController();
    ac.abort();
    await expect(shRunner.run('chronyc', ['-c', `touch ${join(dir, 'ran')}`], { signal: ac.signal })).rejects.toBeInstanceOf(CommandCancelledError);
    await sleep(100);
    await expect(readFile(join(dir, 'ran'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
