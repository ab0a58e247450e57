import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ValidationError } from '@xsctl/common/errors/index';
import { StepOutcome, StorageHandover, StorageRole } from '@xsctl/proto/gen/xsctl/agent/v1/storage';
import { RecordingRunner } from '@xsctl/test/fuzz/recording-runner';
import { procDrbd84, storageSpec } from '@xsctl/test/storage/storage-spec';
import { StuckRunner } from '@xsctl/test/storage/stuck-runner';
import type { CommandRunner } from '../exec/command-runner.js';
import { SandboxRoot } from '../fs/sandbox-root.js';
import { recoverIntents } from '../journal/intent-journal.js';
import type { AgentContext } from '../server/agent-context.js';
import { parseArpingReplies, runHandover } from './handover.js';

const spec = storageSpec();

/**
 * The fuzzers' recording runner: the real runner's checks before exec (allow-listed program,
 * every option in the dom0 tool table), then the call is recorded, not run. `exit` picks an exit
 * code per command line (0 by default).
 */
class Recorder extends RecordingRunner {
  constructor(exit: (line: string) => number = () => 0, stdout: (line: string) => string = () => '') {
    super(pino({ level: 'silent' }), (command, args) => {
      const line = `${command} ${args.join(' ')}`;
      return { exitCode: exit(line), stdout: stdout(line) };
    });
  }
  get lines(): string[] {
    return this.calls.map((c) => `${c.command} ${c.args.join(' ')}`);
  }
}

let root = '';
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'xsctl-handover-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});
// RecordingRunner extends the CommandRunner of @xsctl/agent's built declarations; AgentContext
// names this source tree's. The class is the same, but tsc keeps two types (private # fields).
const ctxOf = (runner: RecordingRunner): AgentContext => ({ root: new SandboxRoot(root), runner: runner as unknown as CommandRunner, logger: pino({ level: 'silent' }), stateDir: '/var/lib/xsctl' });

// The rule, written out by hand: INPUT, the floating IP alone, iSCSI's port, first segments only.
const RULE = 'INPUT -d 10.10.10.3/32 -p tcp -m tcp --dport 3260 --syn -j DROP';

describe('handover RELEASE (the old master lets go)', () => {
  it('closes the portal to new logins, then withdraws the target while the address is still here, then the address, then DRBD', async () => {
    const rec = new Recorder((l) => (l.startsWith('iptables -w -C') ? 1 : 0));
    const r = await runHandover(ctxOf(rec), StorageRole.STORAGE_ROLE_SLAVE, StorageHandover.STORAGE_HANDOVER_RELEASE, spec, false);
    expect(r.ok).toBe(true);
    expect(rec.lines).toEqual([
      `iptables -w -C ${RULE}`,
      `iptables -w -I ${RULE}`,
      'tgtadm --lld iscsi --op update --mode target --tid 1 --name state --value offline',
      'tgtadm --lld iscsi --op delete --mode target --tid 1 --force',
      'ip addr del 10.10.10.3/24 dev xapi1',
      'drbdadm secondary iscsi1',
    ]);
    expect(r.steps.map((s) => s.name)).toEqual(['portal-block', 'target', 'floating-ip', 'drbd-secondary:iscsi1']);
  });

  it('again on a released host changes nothing and still succeeds (a resumed switchover)', async () => {
    // The rule is there (-C 0), the target is gone (tgtadm 22), the address too (ip 2).
    const rec = new Recorder((l) => (l.startsWith('tgtadm') ? 22 : l.startsWith('ip addr del') ? 2 : 0));
    const r = await runHandover(ctxOf(rec), StorageRole.STORAGE_ROLE_SLAVE, StorageHandover.STORAGE_HANDOVER_RELEASE, spec, false);
    expect(r.ok).toBe(true);
    expect(rec.lines.filter((c) => c.startsWith('iptables -w -I'))).toEqual([]);
    expect(r.steps.map((s) => s.detail)).toEqual(['new logins to the portal already dropped', 'no tid 1', '10.10.10.3 not here', 'Secondary']);
  });

  it('stops at the first failure: the address stays while the target could not be withdrawn (rule 5)', async () => {
    const rec = new Recorder((l) => (l.startsWith('iptables -w -C') ? 1 : l.includes('--value offline') ? 1 : 0));
    const r = await runHandover(ctxOf(rec), StorageRole.STORAGE_ROLE_SLAVE, StorageHandover.STORAGE_HANDOVER_RELEASE, spec, false);
    expect(r.ok).toBe(false);
    expect(r.failedStep).toBe('target');
    expect(rec.lines.some((c) => c.startsWith('ip addr del') || c.startsWith('drbdadm'))).toBe(false);
  });

  it("rule 6: a target whose withdrawal never returns is given up at stopGraceMs, also after garbage collections, and the address stays (the call's signal is the gRPC call's)", async () => {
    // tgtadm stuck on a wedged tgtd: the step's bound is all that ends it.
    const stuck = new StuckRunner((command, args) => command === 'tgtadm' && args.includes('offline'));
    const started = performance.now();
    const done = runHandover(ctxOf(stuck), StorageRole.STORAGE_ROLE_SLAVE, StorageHandover.STORAGE_HANDOVER_RELEASE, storageSpec({ stopGraceMs: 300 }), false, new AbortController().signal);
    // With AbortSignal.timeout() inside AbortSignal.any(), Node 20 collects the timeout and the
    // release never ends: the race answers 'stuck'.
    const r = await Promise.race([done, new Promise<'stuck'>((resolve) => setTimeout(() => resolve('stuck'), 3_000))]);
    expect(r).not.toBe('stuck');
    if (r === 'stuck') return;
    expect(r.ok).toBe(false);
    expect(r.failedStep).toBe('target');
    expect(performance.now() - started).toBeGreaterThanOrEqual(300);
    expect(stuck.calls.some((c) => c.command === 'ip' || c.command === 'drbdadm')).toBe(false);
  });

  it('leaves no record when done; an agent killed half-way finds one that is always torn down', async () => {
    const ctx = ctxOf(new Recorder((l) => (l.startsWith('iptables -w -C') ? 1 : 0)));
    await runHandover(ctx, StorageRole.STORAGE_ROLE_SLAVE, StorageHandover.STORAGE_HANDOVER_RELEASE, spec, false);
    expect(await recoverIntents(ctx, { tearDown: async () => 'torn' })).toEqual([]);
    // Killed inside a step: the command never returns, the record stays.
    const hang = new Recorder();
    hang.run = (command, args) => (hang.calls.push({ command, args }), new Promise<never>(() => undefined));
    void runHandover(ctxOf(hang), StorageRole.STORAGE_ROLE_MASTER, StorageHandover.STORAGE_HANDOVER_TAKE, spec, false);
    await expect.poll(() => hang.calls.length).toBe(1);
    const found = await recoverIntents(ctx, { tearDown: async () => 'torn' });
    // A TAKE records no step, yet its record says something may have changed: torn down, not cleared.
    expect(found.map((f) => f.action)).toEqual(['torn-down']);
  });
});

const procDrbd = (ro: string, ds: string, cs = 'Connected') => procDrbd84({ ro, ds, cs });

describe('handover TAKE (the prepared peer takes over)', () => {
  // What PREPARE left: tgtd running, the target defined offline without LUNs; the peer has let go.
  const take = async (proc: string, exit: (line: string) => number = () => 0) => {
    await mkdir(join(root, 'proc'), { recursive: true });
    await writeFile(join(root, 'proc/drbd'), proc);
    const rec = new Recorder((l) => {
      // The kernel's side of `drbdadm primary`: /proc/drbd says Primary afterwards.
      if (l === 'drbdadm primary iscsi1' && exit(l) === 0) writeFileSync(join(root, 'proc/drbd'), procDrbd('Primary/Secondary', 'UpToDate/UpToDate'));
      return exit(l);
    }, (l) => (l === 'drbdadm sh-minor iscsi1' ? '1\n' : ''));
    const r = await runHandover(ctxOf(rec), StorageRole.STORAGE_ROLE_MASTER, StorageHandover.STORAGE_HANDOVER_TAKE, spec, false);
    return { r, rec };
  };

  it('brings up in rule 5\'s order: DRBD Primary, the LUN with its fixed identity (rule 7), target ready, floating IP, GARP', async () => {
    const { r, rec } = await take(procDrbd('Secondary/Secondary', 'UpToDate/UpToDate'));
    expect(r.ok).toBe(true);
    // Written from the rules, not read from the code: the only writes and in this order. Reads
    // (drbdadm sh-*, which promote() asks for the fresh state) may come between, never a write.
    const writes = rec.lines.filter((l) => !/^drbdadm sh-/.test(l));
    expect(writes).toEqual([
      'drbdadm primary iscsi1',
      'tgtadm --lld iscsi --op new --mode logicalunit --tid 1 --lun 10 --backing-store /dev/drbd1 --bstype rdwr',
      'tgtadm --lld iscsi --op update --mode logicalunit --tid 1 --lun 10 --params scsi_id=X1,scsi_sn=S1,vendor_id=XSCTL,product_id=P',
      'tgtadm --lld iscsi --op update --mode target --tid 1 --name state --value ready',
      'ip addr add 10.10.10.3/24 dev xapi1',
      'arping -U -c 3 -I xapi1 10.10.10.3',
    ]);
    expect(r.steps.map((s) => s.name)).toEqual(['drbd-primary:iscsi1', 'lun:10', 'target-ready', 'floating-ip', 'garp']);
    // No duplicate-address probe and no portal change in TAKE: PREPARE did both (handover.ts).
    expect(rec.lines.some((l) => l.startsWith('arping -D') || l.startsWith('iptables'))).toBe(false);
  });

  it('refuses the promotion without UpToDate data (rule 1) and serves nothing: no LUN, no address, no GARP', async () => {
    const { r, rec } = await take(procDrbd('Secondary/Secondary', 'Inconsistent/UpToDate'));
    expect(r.ok).toBe(false);
    expect(r.failedStep).toBe('drbd-primary:iscsi1');
    expect(r.steps[0]).toMatchObject({ outcome: StepOutcome.STEP_OUTCOME_FAILED, errorCode: 'DRBD_NOT_UP_TO_DATE' });
    expect(r.steps.slice(1).map((s) => s.outcome)).toEqual([StepOutcome.STEP_OUTCOME_SKIPPED, StepOutcome.STEP_OUTCOME_SKIPPED, StepOutcome.STEP_OUTCOME_SKIPPED, StepOutcome.STEP_OUTCOME_SKIPPED]);
    expect(rec.lines.filter((l) => !/^drbdadm sh-/.test(l))).toEqual([]);
  });

  it('refuses while the peer is still Primary (rule 4): it has not let go', async () => {
    const { r, rec } = await take(procDrbd('Secondary/Primary', 'UpToDate/UpToDate'));
    expect(r.failedStep).toBe('drbd-primary:iscsi1');
    expect(r.steps[0]?.errorCode).toBe('DRBD_PEER_PRIMARY');
    expect(rec.lines.filter((l) => !/^drbdadm sh-/.test(l))).toEqual([]);
  });

  it('stops at the first failure (rule 5): a LUN that cannot be added leaves the target offline and the address away', async () => {
    const { r, rec } = await take(procDrbd('Secondary/Secondary', 'UpToDate/UpToDate'), (l) => (l.includes('--op new --mode logicalunit') ? 22 : 0));
    expect(r.failedStep).toBe('lun:10');
    // (The code is the runner's COMMAND_FAILED here: @xsctl/test's RecordingRunner throws the built
    // CommandFailedError, which tgt-ops' instanceof of this tree's class does not recognise.)
    expect(r.steps.find((s) => s.name === 'lun:10')?.outcome).toBe(StepOutcome.STEP_OUTCOME_FAILED);
    expect(rec.lines.some((l) => l.includes('--value ready') || l.startsWith('ip addr add') || l.startsWith('arping'))).toBe(false);
  });
});

describe('handover requests', () => {
  it('refuses a phase with the wrong role, an unknown phase and a dry run, before any command', async () => {
    const rec = new Recorder();
    const ctx = ctxOf(rec);
    await expect(runHandover(ctx, StorageRole.STORAGE_ROLE_MASTER, StorageHandover.STORAGE_HANDOVER_RELEASE, spec, false)).rejects.toThrow(ValidationError);
    await expect(runHandover(ctx, StorageRole.STORAGE_ROLE_SLAVE, StorageHandover.STORAGE_HANDOVER_TAKE, spec, false)).rejects.toThrow(ValidationError);
    await expect(runHandover(ctx, StorageRole.STORAGE_ROLE_SLAVE, StorageHandover.STORAGE_HANDOVER_PREPARE, spec, false)).rejects.toThrow(ValidationError);
    await expect(runHandover(ctx, StorageRole.STORAGE_ROLE_MASTER, 7 as StorageHandover, spec, false)).rejects.toThrow(ValidationError);
    await expect(runHandover(ctx, StorageRole.STORAGE_ROLE_SLAVE, StorageHandover.STORAGE_HANDOVER_RELEASE, spec, true)).rejects.toThrow(ValidationError);
    expect(rec.lines).toEqual([]);
  });
});

describe('who answers for the floating IP (arping without -D)', () => {
  it('reads every replying MAC, lower case, once', () => {
    // iputils 20221126 here, in two network namespaces; a dom0's iputils 20160308 prints the same lines.
    const two = 'ARPING 10.77.0.1 from 10.77.0.2 vbfo31300\nUnicast reply from 10.77.0.1 [B2:62:45:A0:1F:A6]  0.535ms\nUnicast reply from 10.77.0.1 [B2:62:45:A0:1F:A6]  0.545ms\nSent 2 probes (1 broadcast(s))\nReceived 2 response(s)\n';
    expect(parseArpingReplies(two)).toEqual(['b2:62:45:a0:1f:a6']);
    const none = 'ARPING 10.77.0.9 from 10.77.0.2 vbfo31300\nSent 1 probes (1 broadcast(s))\nReceived 0 response(s)\n';
    expect(parseArpingReplies(none)).toEqual([]);
    const both = `${two}Unicast reply from 10.77.0.1 [02:00:00:00:00:09]  0.7ms\n`;
    expect(parseArpingReplies(both)).toEqual(['02:00:00:00:00:09', 'b2:62:45:a0:1f:a6']);
  });
});
