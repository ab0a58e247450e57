import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Status } from 'nice-grpc-common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statusForCode } from '@xsctl/common/errors/index';
import { StorageHandover, StorageRole } from '@xsctl/proto/gen/xsctl/agent/v1/storage';
import { storageSpec } from '@xsctl/test/storage/storage-spec';
import { CommandFailedError } from '../exec/command-errors.js';
import { CommandRunner, type CommandResult, type RunOptions } from '../exec/command-runner.js';
import type { AllowedCommand } from '../exec/command-table.js';
import { SandboxRoot } from '../fs/sandbox-root.js';
import type { AgentContext } from '../server/agent-context.js';
import { runHandover } from '../storage/handover.js';
import { applyFirewall, normalizeFirewall } from './firewall.js';
import { iptables } from './iptables.js';
import { IptablesBusyError } from './network-errors.js';
import { persistFirewall } from './persist-firewall.js';

/**
 * What iptables 1.4.21 prints when another program holds the xtables lock and the call has no -w
 * (netfilter/iptables v1.4.21, iptables/iptables.c do_command4, then exit(RESOURCE_PROBLEM) = 4),
 * and what a CentOS 7 iptables-restore (1.4.21-18.el7 on, the backport of 999eaa2) prints at
 * `*filter` in the same case. Written out from the sources: Debian's 1.8.9 here waits by default
 * and its nf_tables build takes no lock, so neither can be made to say it.
 */
const LOCKED_1_4_21 = 'Another app is currently holding the xtables lock. Perhaps you want to use the -w option?\n';

let root = '';
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'xsctl-iptables-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

type Answer = (command: string, args: readonly string[]) => { exitCode: number; stderr?: string } | undefined;

/**
 * The fuzzers' RecordingRunner, over this source tree's runner: its checks before exec (the
 * tool-option table: `-w` first), then the call is recorded and answered. Its own copy because
 * the error it throws must be this tree's CommandFailedError (@xsctl/test's is the built one).
 */
class RecordingRunner extends CommandRunner {
  readonly calls: { command: string; args: readonly string[] }[] = [];
  constructor(private readonly answer: Answer = () => undefined) {
    super({ logger: pino({ level: 'silent' }) });
  }
  override async run(command: string, args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    this.admit(command, args, options);
    this.calls.push({ command, args: [...args] });
    const a = this.answer(command, args) ?? { exitCode: 0 };
    if (a.exitCode !== 0 && !(options.okExitCodes ?? []).includes(a.exitCode)) throw new CommandFailedError(command, args, a.exitCode, a.stderr ?? '');
    return { command: command as AllowedCommand, args, exitCode: a.exitCode, stdout: '', stderr: a.stderr ?? '', durationMs: 0 };
  }
}

const ctxOf = (runner: CommandRunner): AgentContext => ({ root: new SandboxRoot(root), runner, logger: pino({ level: 'silent' }), stateDir: '/var/lib/xsctl' });
const locked = (match: (command: string, args: readonly string[]) => boolean) => new RecordingRunner((command, args) => (match(command, args) ? { exitCode: 4, stderr: LOCKED_1_4_21 } : undefined));

describe('iptables calls and the xtables lock', () => {
  it('puts -w first on the call, before the command option', async () => {
    const rec = new RecordingRunner();
    await iptables(ctxOf(rec), ['-C', 'INPUT', '-j', 'DROP'], { timeoutMs: 1_000, okExitCodes: [1] });
    expect(rec.calls).toEqual([{ command: 'iptables', args: ['-w', '-C', 'INPUT', '-j', 'DROP'] }]);
  });

  it('says exit 4 as IPTABLES_BUSY with the call, what iptables said and the failure as its cause; ABORTED on the wire', async () => {
    const err = await iptables(ctxOf(locked(() => true)), ['-I', 'INPUT', '-j', 'DROP'], { timeoutMs: 1_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IptablesBusyError);
    const busy = err as IptablesBusyError;
    expect(busy.code).toBe('IPTABLES_BUSY');
    expect(busy.command).toBe('iptables');
    expect(busy.args).toEqual(['-w', '-I', 'INPUT', '-j', 'DROP']);
    expect(busy.stderr).toBe('Another app is currently holding the xtables lock. Perhaps you want to use the -w option?');
    expect(busy.message).toMatch(/holds the xtables lock.*\(exit 4: Another app.*nothing was changed, retry/);
    expect(busy.cause).toBeInstanceOf(CommandFailedError);
    expect(statusForCode('IPTABLES_BUSY')).toBe(Status.ABORTED);
  });

  it('leaves other failures as they are: exit 1 where it is an answer, exit 2 as the command failure', async () => {
    const rec = new RecordingRunner((_c, args) => ({ exitCode: args.includes('-C') ? 1 : 2, stderr: 'iptables v1.4.21: bad argument\n' }));
    await expect(iptables(ctxOf(rec), ['-C', 'INPUT', '-j', 'DROP'], { timeoutMs: 1_000, okExitCodes: [1] })).resolves.toMatchObject({ exitCode: 1 });
    const err = await iptables(ctxOf(rec), ['-I', 'INPUT', '-j', 'DROP'], { timeoutMs: 1_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandFailedError);
    expect(err).not.toBeInstanceOf(IptablesBusyError);
    expect((err as CommandFailedError).exitCode).toBe(2);
  });

  it('the storage firewall: a busy lock on the insert fails the apply with IPTABLES_BUSY, not a missing chain', async () => {
    const fw = normalizeFirewall({ subnet: '10.10.10.0/24', drbdPorts: [7789], iscsiPort: 0, chain: '' });
    // The chain is there (-n -L 0), the rule is not (-C 1), the insert meets the lock (-I 4).
    const absent = new RecordingRunner((_c, args) => (args[1] === '-C' ? { exitCode: 1 } : args[1] === '-I' ? { exitCode: 4, stderr: LOCKED_1_4_21 } : undefined));
    await expect(applyFirewall(ctxOf(absent), fw, true)).rejects.toBeInstanceOf(IptablesBusyError);
    // The chain listing busy: the same error, not FIREWALL_CHAIN_NOT_FOUND.
    const listBusy = locked((_c, args) => args[1] === '-n');
    await expect(applyFirewall(ctxOf(listBusy), fw, true)).rejects.toMatchObject({ code: 'IPTABLES_BUSY', args: ['-w', '-n', '-L', 'RH-Firewall-1-INPUT'] });
    expect(listBusy.calls).toHaveLength(1);
  });

  it('iptables-restore --test busy (CentOS 7 locks at *filter) is IPTABLES_BUSY, not a rejected file', async () => {
    await mkdir(join(root, 'etc/sysconfig'), { recursive: true });
    await writeFile(join(root, 'etc/sysconfig/iptables'), '*filter\n:INPUT ACCEPT [0:0]\n:RH-Firewall-1-INPUT - [0:0]\n-A RH-Firewall-1-INPUT -j REJECT --reject-with icmp-host-prohibited\nCOMMIT\n');
    const fw = normalizeFirewall({ subnet: '10.10.10.0/24', drbdPorts: [7789], iscsiPort: 0, chain: '' });
    const rec = locked((c) => c === 'iptables-restore');
    await expect(persistFirewall(ctxOf(rec), fw, true)).rejects.toMatchObject({ code: 'IPTABLES_BUSY', command: 'iptables-restore', args: ['--test'] });
    // No -w on iptables-restore: upstream 1.4.21 refuses it.
    expect(rec.calls.map((c) => [c.command, ...c.args])).toEqual([['iptables-restore', '--test']]);
  });

  it('a switchover RELEASE whose portal block meets a busy lock stops there: the target, the address and DRBD stay (rule 5)', async () => {
    const spec = storageSpec();
    const rec = new RecordingRunner((c, args) => (c !== 'iptables' ? undefined : args[1] === '-C' ? { exitCode: 1 } : { exitCode: 4, stderr: LOCKED_1_4_21 }));
    const r = await runHandover(ctxOf(rec), StorageRole.STORAGE_ROLE_SLAVE, StorageHandover.STORAGE_HANDOVER_RELEASE, spec, false);
    expect(r.ok).toBe(false);
    expect(r.failedStep).toBe('portal-block');
    expect(r.steps[0]).toMatchObject({ name: 'portal-block', errorCode: 'IPTABLES_BUSY' });
    expect(rec.calls.map((c) => c.command)).toEqual(['iptables', 'iptables']);
  });
});
