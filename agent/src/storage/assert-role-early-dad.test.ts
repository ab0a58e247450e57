import { rm } from 'node:fs/promises';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StepOutcome, StorageRole } from '@xsctl/proto/gen/xsctl/agent/v1/storage';
import { fakeHost, RecordingRunner } from '@xsctl/test/fuzz/recording-runner';
import { drbdHostRoot, procDrbd84, storageSpec } from '@xsctl/test/storage/storage-spec';
import type { CommandResult, CommandRunner, RunOptions } from '../exec/command-runner.js';
import { SandboxRoot } from '../fs/sandbox-root.js';
import type { AgentContext } from '../server/agent-context.js';
import { assertRole } from './assert-role.js';
import type { DadProbe } from './early-dad.js';

// Rule 4 and the power fence (docs/storage-safety-rules.md): a failover's promotion whose peer was
// fenced by power adds the floating IP on the peer watch's duplicate address probes (nobody
// answered the last two, recent, a full second each) instead of waiting for its own two-probe
// detection, which it stops. Without the power fence, or with an answer, it waits as before.

const procDrbd = (role: string) => procDrbd84({ ro: `${role}/Unknown`, cs: 'WFConnection', ds: 'UpToDate/DUnknown' });
const answered = 'ARPING 10.10.10.3 from 0.0.0.0 xapi1\nUnicast reply from 10.10.10.3 [52:54:00:12:34:56]  0.713ms\nSent 1 probes (1 broadcast(s))\nReceived 1 response(s)\n';

let root = '';
beforeEach(async () => {
  root = await drbdHostRoot('xsctl-assert-early-dad-', procDrbd('Secondary'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/**
 * A survivor about to be promoted (its peer gone: WFConnection). The promotion's own detection
 * (`arping -D -c 2 -w 3`) takes `dadMs` and then exits `dadExit`, unless it is aborted first.
 */
class Survivor extends RecordingRunner {
  dadAborted = false;
  dadEnded = 0;
  addedAt = 0;

  constructor(
    private readonly dadMs: number,
    private readonly dadExit: number,
  ) {
    const tgt = fakeHost();
    super(pino({ level: 'silent' }), (command, args) => {
      if (command === 'drbdadm' && args[0] === 'sh-minor') return { stdout: '1\n' };
      if (command === 'drbdadm' && args.includes('primary')) writeFileSync(join(root, 'proc/drbd'), procDrbd('Primary'));
      if (command === 'iptables' && args[1] === '-C') return { exitCode: 1 };
      return tgt(command, args);
    });
  }

  override async run(command: string, args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    if (command === 'ip' && args[0] === 'addr' && args[1] === 'add') this.addedAt = performance.now();
    if (command !== 'arping' || args[0] !== '-D') return super.run(command, args, options);
    this.calls.push({ command, args: [...args] });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, this.dadMs);
      options.signal?.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          this.dadAborted = true;
          reject(new Error('aborted'));
        },
        { once: true },
      );
    });
    this.dadEnded = performance.now();
    if (this.dadExit !== 0 && !(options.okExitCodes ?? []).includes(this.dadExit)) throw new Error(`arping exit ${this.dadExit}`);
    return { command, args, exitCode: this.dadExit, stdout: this.dadExit === 1 ? answered : '', stderr: '', durationMs: this.dadMs };
  }
}

const ctxOf = (runner: RecordingRunner): AgentContext => ({ root: new SandboxRoot(root), runner: runner as unknown as CommandRunner, logger: pino({ level: 'silent' }), stateDir: '/var/lib/xsctl' });
const fenced = (byPower: boolean) => storageSpec({ peerSafety: { witnessAddress: '', witnessInterface: '', peerFenced: true, peerFencedByPower: byPower, failoverReason: 0 } });
/** Two silent probes of a second each, the newer ended `agoMs` before now. */
const silentProbes = (agoMs: number): DadProbe[] => {
  const end = performance.now() - agoMs;
  return [
    { startedAt: end - 2_100, endedAt: end - 1_100, answered: false },
    { startedAt: end - 1_000, endedAt: end, answered: false },
  ];
};

describe('master assertion after a power fence: the peer watch\'s duplicate address probes', () => {
  it('two recent silent probes: the address is added without waiting for the detection started beside DRBD Primary, which is stopped', async () => {
    const rec = new Survivor(5_000, 0);
    const t0 = performance.now();
    const r = await assertRole(ctxOf(rec), StorageRole.STORAGE_ROLE_MASTER, fenced(true), false, undefined, () => silentProbes(200));
    expect(r.ok).toBe(true);
    // The detection (5 s here) was started beside the promotion and stopped at the floating-ip step.
    expect(rec.calls.filter((c) => c.command === 'arping' && c.args[0] === '-D')).toHaveLength(1);
    expect(rec.dadAborted).toBe(true);
    expect(performance.now() - t0).toBeLessThan(2_500);
    const step = r.steps.find((s) => s.name === 'floating-ip');
    expect(step).toMatchObject({ outcome: StepOutcome.STEP_OUTCOME_DONE });
    expect(step?.detail).toContain("nobody answered the peer watch's last 2 duplicate address probes");
    // Rule 5's order holds: the address after DRBD Primary and the target, before the GARP.
    const order = rec.calls.map((c) => `${c.command} ${c.args.join(' ')}`);
    const at = (p: string) => order.findIndex((l) => l.startsWith(p));
    expect(at('drbdadm primary')).toBeLessThan(at('ip addr add'));
    expect(at('tgtadm --lld iscsi --op update --mode target')).toBeLessThan(at('ip addr add'));
    expect(at('ip addr add')).toBeLessThan(at('arping -U'));
  });

  it('without the power fence (quorum, self-fencing) the same probes do not count: the address waits for the detection', async () => {
    const rec = new Survivor(600, 0);
    const r = await assertRole(ctxOf(rec), StorageRole.STORAGE_ROLE_MASTER, fenced(false), false, undefined, () => silentProbes(200));
    expect(r.ok).toBe(true);
    expect(rec.dadAborted).toBe(false);
    expect(rec.addedAt).toBeGreaterThanOrEqual(rec.dadEnded);
    expect(r.steps.find((s) => s.name === 'floating-ip')?.detail).toContain('duplicate address detection in line: the peer was not fenced by power');
  });

  it('a probe that was answered: the detection decides, and an answer there stops the bring-up before `ip addr add`', async () => {
    const rec = new Survivor(300, 1);
    const probes = silentProbes(200);
    probes[1] = { ...probes[1]!, answered: true };
    const r = await assertRole(ctxOf(rec), StorageRole.STORAGE_ROLE_MASTER, fenced(true), false, undefined, () => probes);
    expect(r.failedStep).toBe('floating-ip');
    expect(r.steps.find((s) => s.name === 'floating-ip')).toMatchObject({ outcome: StepOutcome.STEP_OUTCOME_FAILED, errorCode: 'FLOATING_IP_IN_USE' });
    expect(rec.dadAborted).toBe(false);
    expect(rec.addedAt).toBe(0);
  });

  it('probes too old (the last ended 1.6 s ago): the detection decides', async () => {
    const rec = new Survivor(300, 0);
    const r = await assertRole(ctxOf(rec), StorageRole.STORAGE_ROLE_MASTER, fenced(true), false, undefined, () => silentProbes(1_600));
    expect(r.ok).toBe(true);
    expect(rec.dadAborted).toBe(false);
    expect(rec.addedAt).toBeGreaterThanOrEqual(rec.dadEnded);
  });
});
