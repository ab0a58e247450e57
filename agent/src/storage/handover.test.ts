import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ValidationError } from '@xsctl/common/errors/index';
import { StorageHandover, StorageRole, type StorageSpec } from '@xsctl/proto/gen/xsctl/agent/v1/storage';
import { RecordingRunner } from '@xsctl/test/fuzz/recording-runner';
import type { CommandRunner } from '../exec/command-runner.js';
import { SandboxRoot } from '../fs/sandbox-root.js';
import { recoverIntents } from '../journal/intent-journal.js';
import type { AgentContext } from '../server/agent-context.js';
import { parseArpingReplies, runHandover } from './handover.js';

const spec: StorageSpec = {
  drbdResources: ['iscsi1'],
  target: { tid: 1, iqn: 'iqn.2013-05.com.example:x', luns: [{ lun: 10, backingStore: '/dev/drbd1', scsiId: 'X1', scsiSn: 'S1', vendorId: 'XSCTL', productId: 'P', bsType: '' }], initiatorAddresses: ['ALL'], initiatorNames: [], incomingUser: undefined },
  floatingIp: { address: '10.10.10.3', prefixLength: 24, interface: 'xapi1', garpCount: 0 },
  tgtd: undefined,
  peerSafety: undefined,
  stopGraceMs: 0,
};

/**
 * The fuzzers' recording runner: the real runner's checks before exec (allow-listed program,
 * every option in the dom0 tool table), then the call is recorded, not run. `exit` picks an exit
 * code per command line (0 by default).
 */
class Recorder extends RecordingRunner {
  constructor(exit: (line: string) => number = () => 0) {
    super(pino({ level: 'silent' }), (command, args) => ({ exitCode: exit(`${command} ${args.join(' ')}`) }));
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
