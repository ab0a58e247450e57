import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { fakeHost, RecordingRunner } from '@xsctl/test/fuzz/recording-runner';
import { IptablesBusyError } from '../network/network-errors.js';
import { iptables } from '../network/iptables.js';
import type { AgentContext } from '../server/agent-context.js';
import { SandboxRoot } from '../fs/sandbox-root.js';
import { TgtadmFailedError } from '../target/target-errors.js';
import { tgtadm } from '../target/tgt-ops.js';
import { CommandFailedError } from './command-errors.js';
import { CommandRunner } from './command-runner.js';

/*
 * @xsctl/test's RecordingRunner imports the agent by its package name, these sources by relative
 * paths. Unless vitest resolves both to one module (vitest.config.ts's alias to the sources), the
 * runner throws another CommandFailedError class than the one the agent's `instanceof` checks, and
 * a test sees the untyped COMMAND_FAILED where a dom0 gets TGT_COMMAND_FAILED or IPTABLES_BUSY.
 */

// RecordingRunner extends the CommandRunner of @xsctl/agent's built declarations to tsc; at run
// time (what this file checks) it is this tree's class.
const ctxOf = (runner: RecordingRunner): AgentContext => ({ root: new SandboxRoot('/nonexistent-xsctl-root'), runner: runner as unknown as CommandRunner, logger: pino({ level: 'silent' }), stateDir: '/var/lib/xsctl' });

describe('@xsctl/test and the agent sources under test share one class per module', () => {
  it('RecordingRunner is a CommandRunner of these sources, and its failure a CommandFailedError of these sources', async () => {
    const rec = new RecordingRunner(pino({ level: 'silent' }), () => ({ exitCode: 3, stderr: 'x\n' }));
    expect(rec).toBeInstanceOf(CommandRunner);
    const err = await rec.run('tgtadm', ['--op', 'show', '--mode', 'sys'], { timeoutMs: 1_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandFailedError);
  });

  it('a tgtadm refusal through RecordingRunner is TGT_COMMAND_FAILED, with what tgtadm said minus its prefix', async () => {
    // tgtadm exits 22 (TGTADM_TARGET_ACTIVE, usr/tgtadm_error.h) refusing to delete a target with sessions.
    const rec = new RecordingRunner(pino({ level: 'silent' }), (command) => (command === 'tgtadm' ? { exitCode: 22, stderr: 'tgtadm: this target is still active\n' } : undefined));
    const err = await tgtadm(ctxOf(rec), { controlPort: 0 }, ['--op', 'delete', '--mode', 'target', '--tid', '7'], 'delete target 7').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TgtadmFailedError);
    expect(err).toMatchObject({ code: 'TGT_COMMAND_FAILED', operation: 'delete target 7', exitCode: 22, reason: 'this target is still active' });
    expect(rec.calls).toEqual([{ command: 'tgtadm', args: ['--lld', 'iscsi', '--op', 'delete', '--mode', 'target', '--tid', '7'] }]);
  });

  it("fakeHost's stopped tgtd (exit 107) is TGT_COMMAND_FAILED through tgtadm()", async () => {
    const host = fakeHost();
    const rec = new RecordingRunner(pino({ level: 'silent' }), host);
    await rec.run('tgtadm', ['-C', '5', '--op', 'delete', '--mode', 'system'], { timeoutMs: 1_000 });
    const err = await tgtadm(ctxOf(rec), { controlPort: 5 }, ['--op', 'show', '--mode', 'target'], 'show').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TGT_COMMAND_FAILED', exitCode: 107 });
  });

  it('iptables exit 4 (RESOURCE_PROBLEM: the xtables lock) through RecordingRunner is IPTABLES_BUSY, caused by the runner failure', async () => {
    const rec = new RecordingRunner(pino({ level: 'silent' }), () => ({ exitCode: 4, stderr: 'Another app is currently holding the xtables lock. Perhaps you want to use the -w option?\n' }));
    const err = await iptables(ctxOf(rec), ['-I', 'INPUT', '-j', 'DROP'], { timeoutMs: 1_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IptablesBusyError);
    expect(err).toMatchObject({ code: 'IPTABLES_BUSY', command: 'iptables', args: ['-w', '-I', 'INPUT', '-j', 'DROP'] });
    expect((err as IptablesBusyError).cause).toBeInstanceOf(CommandFailedError);
  });
});
