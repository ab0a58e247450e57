import { rm } from 'node:fs/promises';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StepOutcome, StorageRole } from '@xsctl/proto/gen/xsctl/agent/v1/storage';
import { fakeHost, RecordingRunner } from '@xsctl/test/fuzz/recording-runner';
import { drbdHostRoot, procDrbd84, storageSpec } from '@xsctl/test/storage/storage-spec';
import type { CommandRunner } from '../exec/command-runner.js';
import { SandboxRoot } from '../fs/sandbox-root.js';
import type { AgentContext } from '../server/agent-context.js';
import { assertRole } from './assert-role.js';

// A master assertion starts the floating IP's duplicate address detection with DRBD Primary
// (assert-role.ts) and reads it at the floating-ip step. These tests hold that wiring to rule 4:
// an answer stops the bring-up before `ip addr add`, and a detection that fails is that step's
// failure, or nobody's when an earlier step failed (never an unhandled rejection).

const spec = storageSpec();

// Minor 1, connected to a Secondary.
const procDrbd = (role: string) => procDrbd84({ ro: `${role}/Secondary`, ds: 'UpToDate/UpToDate' });
// iputils arping -D when another host holds the address, written by hand in its format (network.test.ts
// runs the real arping in two namespaces): the reply line names the MAC, exit 1.
const answered = 'ARPING 10.10.10.3 from 0.0.0.0 xapi1\nUnicast reply from 10.10.10.3 [52:54:00:12:34:56]  0.713ms\nSent 1 probes (1 broadcast(s))\nReceived 1 response(s)\n';

let root = '';
beforeEach(async () => {
  root = await drbdHostRoot('xsctl-assert-dad-', procDrbd('Secondary'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/**
 * A slave about to be promoted: drbdadm primary makes /proc/drbd say Primary; tgtd is not running
 * (tgtadm cannot reach it) until `tgtd` starts it, which fails when `tgtdStarts` is false; arping
 * answers as given.
 */
function host(arping: { exitCode: number; stdout?: string }, tgtdStarts = true): RecordingRunner {
  const tgt = fakeHost();
  let tgtdUp = false;
  return new RecordingRunner(pino({ level: 'silent' }), (command, args) => {
    if (command === 'drbdadm' && args[0] === 'sh-minor') return { stdout: '1\n' };
    if (command === 'drbdadm' && args.includes('primary')) writeFileSync(join(root, 'proc/drbd'), procDrbd('Primary'));
    if (command === 'arping') return arping;
    if (command === 'iptables' && args[1] === '-C') return { exitCode: 1 };
    if (command === 'tgtd') {
      if (!tgtdStarts) return { exitCode: 1, stderr: 'tgtd: cannot bind' };
      tgtdUp = true;
    }
    if (command === 'tgtadm' && !tgtdUp) return { exitCode: 107, stderr: "tgtadm: can't send the request to the tgt daemon, Transport endpoint is not connected\n" };
    return tgt(command, args);
  });
}

// RecordingRunner extends the CommandRunner of @xsctl/agent's built declarations; AgentContext
// names this source tree's (the same class, two types to tsc).
const ctxOf = (runner: RecordingRunner): AgentContext => ({ root: new SandboxRoot(root), runner: runner as unknown as CommandRunner, logger: pino({ level: 'silent' }), stateDir: '/var/lib/xsctl' });
const lines = (r: RecordingRunner) => r.calls.map((c) => `${c.command} ${c.args.join(' ')}`);

describe('master assertion: the duplicate address detection started with DRBD Primary', () => {
  it('an answer stops the bring-up at floating-ip: no `ip addr add`, the answering MAC in the error', async () => {
    const rec = host({ exitCode: 1, stdout: answered });
    const r = await assertRole(ctxOf(rec), StorageRole.STORAGE_ROLE_MASTER, spec, false);
    expect(r.ok).toBe(false);
    expect(r.failedStep).toBe('floating-ip');
    const step = r.steps.find((s) => s.name === 'floating-ip');
    expect(step).toMatchObject({ outcome: StepOutcome.STEP_OUTCOME_FAILED, errorCode: 'FLOATING_IP_IN_USE' });
    expect(step?.detail).toContain('52:54:00:12:34:56'.toUpperCase());
    const all = lines(rec);
    // Started beside the promotion (before tgtd), once.
    expect(all.filter((l) => l.startsWith('arping -D'))).toHaveLength(1);
    expect(all.findIndex((l) => l.startsWith('arping -D'))).toBeLessThan(all.findIndex((l) => l.startsWith('tgtd')));
    expect(all.some((l) => l.startsWith('ip addr add'))).toBe(false);
  });

  it('a detection that fails (arping exit 2) fails the floating-ip step, and the address is not added', async () => {
    const rec = host({ exitCode: 2, stdout: '' });
    const r = await assertRole(ctxOf(rec), StorageRole.STORAGE_ROLE_MASTER, spec, false);
    expect(r.failedStep).toBe('floating-ip');
    expect(r.steps.find((s) => s.name === 'floating-ip')).toMatchObject({ outcome: StepOutcome.STEP_OUTCOME_FAILED, errorCode: 'COMMAND_FAILED' });
    expect(lines(rec).some((l) => l.startsWith('ip addr add'))).toBe(false);
  });

  it('a detection that fails after an earlier step failed is nobody\'s: no unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const record = (err: unknown) => unhandled.push(err);
    process.on('unhandledRejection', record);
    try {
      const rec = host({ exitCode: 2, stdout: '' }, false);
      const r = await assertRole(ctxOf(rec), StorageRole.STORAGE_ROLE_MASTER, spec, false);
      expect(r.failedStep).toBe('tgtd');
      expect(r.steps.find((s) => s.name === 'floating-ip')).toMatchObject({ outcome: StepOutcome.STEP_OUTCOME_SKIPPED });
      expect(lines(rec).filter((l) => l.startsWith('arping -D'))).toHaveLength(1);
      // Let the detection's rejection settle, then look.
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', record);
    }
  });
});
