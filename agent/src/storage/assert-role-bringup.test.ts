import { rm, writeFile } from 'node:fs/promises';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StepOutcome, StorageHandover, StorageRole } from '@xsctl/proto/gen/xsctl/agent/v1/storage';
import { RecordingRunner } from '@xsctl/test/fuzz/recording-runner';
import { drbdHostRoot, ipAddrShowDev, procDrbd84, storageSpec } from '@xsctl/test/storage/storage-spec';
import { CommandCancelledError, CommandFailedError } from '../exec/command-errors.js';
import type { CommandResult, CommandRunner, RunOptions } from '../exec/command-runner.js';
import { SandboxRoot } from '../fs/sandbox-root.js';
import { removeFloatingIp } from '../network/floating-ip.js';
import { garpBurstRunning } from '../network/garp-burst.js';
import type { AgentContext } from '../server/agent-context.js';
import { assertRole } from './assert-role.js';
import { runHandover } from './handover.js';
import { selfFenceTearDown } from './self-fence.js';
import { normalizeStorageSpec } from './assert-role.js';

// A promotion's bring-up (issue 11): tgtd and the target without LUNs start beside DRBD Primary,
// the LUNs only after it (rule 5), and the GARP burst runs on after the assertion returns until a
// demotion stops it. The expected orders come from the rules (docs/storage-safety-rules.md, rule 5
// and "The planned switchover's handover"), the command lines from tgtadm(8), iproute and iputils.

const spec = storageSpec({
  target: { initiatorAddresses: ['10.10.10.0/24'], incomingUser: { user: 'xsinit', password: 'Not-a-real-secret-1' } },
  floatingIp: { garpCount: 3 },
  tgtd: { controlPort: 3261 },
});

// Minor 1, connected to a Secondary.
const procDrbd = (role: string, disk = 'UpToDate') => procDrbd84({ ro: `${role}/Secondary`, ds: `${disk}/UpToDate` });

interface FakeTarget {
  iqn: string;
  state: 'ready' | 'offline';
  luns: { lun: number; path: string; scsiId: string; scsiSn: string }[];
  acls: string[];
  accounts: string[];
}

/** `tgtadm --op show --mode target` as tgt 1.0.85 prints it (../target/__fixtures__/tgtadm-show-session-1.0.85.txt), the fields parseTgtadmShow reads. */
function showTarget(targets: Map<number, FakeTarget>): string {
  return [...targets.entries()]
    .map(([tid, t]) =>
      [
        `Target ${tid}: ${t.iqn}`,
        '    System information:',
        '        Driver: iscsi',
        `        State: ${t.state}`,
        '    I_T nexus information:',
        '    LUN information:',
        '        LUN: 0',
        '            Type: controller',
        '            SCSI ID: IET     00010000',
        '            SCSI SN: beaf10',
        '            Backing store type: null',
        '            Backing store path: None',
        ...t.luns.flatMap((l) => [`        LUN: ${l.lun}`, '            Type: disk', `            SCSI ID: ${l.scsiId}`, `            SCSI SN: ${l.scsiSn}`, '            Backing store type: rdwr', `            Backing store path: ${l.path}`]),
        '    Account information:',
        ...t.accounts.map((a) => `        ${a}`),
        '    ACL information:',
        ...t.acls.map((a) => `        ${a}`),
      ].join('\n'),
    )
    .join('\n')
    .concat('\n');
}

type Answer = Partial<Pick<CommandResult, 'exitCode' | 'stdout' | 'stderr'>> | undefined;

/**
 * A dom0 as the agent's commands see it: DRBD through /proc/drbd (drbdadm primary/secondary
 * change it), the floating IP, and a tgtd with its targets. Each call is recorded when it starts
 * and when it ends; `arping -U` runs until its signal aborts it (or the test ends it), and
 * `drbdadm primary` waits for `primaryGate`.
 */
class FakeDom0 extends RecordingRunner {
  readonly events: string[] = [];
  ipPresent = false;
  tgtdUp = false;
  readonly targets = new Map<number, FakeTarget>();
  primaryGate: Promise<void> = Promise.resolve();
  readonly bursts: { args: readonly string[]; aborted: boolean; end: () => void }[] = [];

  constructor(private readonly root: string, private readonly disk = 'UpToDate') {
    super(pino({ level: 'silent' }));
  }

  override async run(command: string, args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    this.admit(command, args, options);
    const line = `${command} ${args.join(' ')}`;
    this.calls.push({ command, args: [...args] });
    this.events.push(`start ${line}`);
    const a = await this.#answer(command, args, options);
    this.events.push(`end ${line}`);
    const exitCode = a?.exitCode ?? 0;
    if (exitCode !== 0 && !(options.okExitCodes ?? []).includes(exitCode)) throw new CommandFailedError(command, args, exitCode, a?.stderr ?? '');
    return { command, args, exitCode, stdout: a?.stdout ?? '', stderr: a?.stderr ?? '', durationMs: 0 };
  }

  async #answer(command: string, args: readonly string[], options: RunOptions): Promise<Answer> {
    if (command === 'drbdadm' && args[0] === 'sh-minor') return { stdout: '1\n' };
    if (command === 'drbdadm' && args.includes('primary')) {
      await this.primaryGate;
      writeFileSync(join(this.root, 'proc/drbd'), procDrbd('Primary'));
      return undefined;
    }
    if (command === 'drbdadm' && args.includes('secondary')) {
      writeFileSync(join(this.root, 'proc/drbd'), procDrbd('Secondary', this.disk));
      return undefined;
    }
    if (command === 'arping' && args[0] === '-D') return { exitCode: 0 };
    if (command === 'arping' && args[0] === '-U') {
      const burst = { args, aborted: false, end: () => undefined as void };
      this.bursts.push(burst);
      await new Promise<void>((resolve, reject) => {
        burst.end = resolve;
        options.signal?.addEventListener('abort', () => {
          this.events.push(`abort ${command} ${args.join(' ')}`);
          burst.aborted = true;
          reject(new CommandCancelledError('arping'));
        });
      }).finally(() => this.events.push(`end ${command} ${args.join(' ')}`));
      return undefined;
    }
    // -C and -D: no such rule (exit 1); -I (a release's portal block) inserts it.
    if (command === 'iptables') return { exitCode: args[1] === '-I' ? 0 : 1 };
    if (command === 'ip' && args[1] === 'show') return { stdout: ipAddrShowDev('xapi1', this.ipPresent ? ['10.10.10.3/24'] : []) };
    if (command === 'ip' && args[1] === 'add') this.ipPresent = true;
    if (command === 'ip' && args[1] === 'del') this.ipPresent = false;
    if (command === 'tgtd') {
      if (args.includes('-h')) return { exitCode: 1, stdout: '  -p, --pid-file filename  specify the pid file\n' };
      this.tgtdUp = true;
      return undefined;
    }
    if (command === 'tgtadm') return this.#tgtadm(args);
    return undefined;
  }

  #tgtadm(args: readonly string[]): Answer {
    if (!this.tgtdUp) return { exitCode: 107, stderr: "tgtadm: can't send the request to the tgt daemon, Transport endpoint is not connected\n" };
    const opt = (name: string) => args[args.indexOf(name) + 1] ?? '';
    const [op, mode] = [opt('--op'), opt('--mode')];
    const t = this.targets.get(Number(opt('--tid')));
    if (op === 'show' && mode === 'target') return { stdout: showTarget(this.targets) };
    if (op === 'show' && mode === 'account') return { stdout: `Account list:\n${[...new Set([...this.targets.values()].flatMap((x) => x.accounts))].map((a) => `    ${a}\n`).join('')}` };
    if (op === 'delete' && mode === 'system') {
      this.tgtdUp = false;
      this.targets.clear();
    }
    if (op === 'new' && mode === 'target') this.targets.set(Number(opt('--tid')), { iqn: opt('--targetname'), state: 'ready', luns: [], acls: [], accounts: [] });
    if (op === 'delete' && mode === 'target') this.targets.delete(Number(opt('--tid')));
    if (op === 'update' && mode === 'target' && t !== undefined) t.state = opt('--value') === 'offline' ? 'offline' : 'ready';
    if (op === 'new' && mode === 'logicalunit') t?.luns.push({ lun: Number(opt('--lun')), path: opt('--backing-store'), scsiId: '', scsiSn: '' });
    if (op === 'update' && mode === 'logicalunit') {
      const l = t?.luns.find((x) => x.lun === Number(opt('--lun')));
      const params = Object.fromEntries(opt('--params').split(',').map((kv) => kv.split('=') as [string, string]));
      if (l !== undefined) Object.assign(l, { scsiId: params['scsi_id'] ?? '', scsiSn: params['scsi_sn'] ?? '' });
    }
    if (op === 'bind' && mode === 'target') t?.acls.push(opt('--initiator-address') || opt('--initiator-name'));
    if (op === 'bind' && mode === 'account') t?.accounts.push(opt('--user'));
    return undefined;
  }

  /** Index of the first recorded event starting with `prefix`; -1 when none. */
  at(prefix: string): number {
    return this.events.findIndex((e) => e.startsWith(prefix));
  }
}

let root = '';
beforeEach(async () => {
  root = await drbdHostRoot('xsctl-assert-bringup-', procDrbd('Secondary'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

// RecordingRunner extends the CommandRunner of @xsctl/agent's built declarations; AgentContext
// names this source tree's (the same class, two types to tsc).
const ctxOf = (runner: FakeDom0): AgentContext => ({ root: new SandboxRoot(root), runner: runner as unknown as CommandRunner, logger: pino({ level: 'silent' }), stateDir: '/var/lib/xsctl' });

describe('a promotion: tgtd and the target beside DRBD Primary, the LUNs after it (rule 5)', () => {
  it('defines the target offline without LUNs while drbdadm primary runs; LUN, ready, address and GARP come after it, in that order', async () => {
    const host = new FakeDom0(root);
    let open = (): void => undefined;
    host.primaryGate = new Promise<void>((resolve) => (open = resolve));
    const ctx = ctxOf(host);
    const running = assertRole(ctx, StorageRole.STORAGE_ROLE_MASTER, spec, false);
    // drbdadm primary is held until the target is defined and offline: only a bring-up that
    // runs them beside it gets there (one that waits for Primary first never would).
    await expect.poll(() => host.at('end tgtadm -C 3261 --lld iscsi --op update --mode target --tid 1 --name state --value offline'), { timeout: 2_000 }).toBeGreaterThan(-1);
    expect(host.at('start drbdadm primary')).toBeGreaterThan(-1);
    expect(host.at('end drbdadm primary')).toBe(-1);
    // Nothing of the device before Primary: no LUN yet, the target offline.
    expect(host.at('start tgtadm -C 3261 --lld iscsi --op new --mode logicalunit')).toBe(-1);
    expect(host.targets.get(1)).toMatchObject({ state: 'offline', luns: [], acls: ['10.10.10.0/24'], accounts: ['xsinit'] });
    open();
    const r = await running;
    expect(r.ok).toBe(true);
    const primary = host.at('end drbdadm primary');
    const lun = host.at('start tgtadm -C 3261 --lld iscsi --op new --mode logicalunit --tid 1 --lun 10 --backing-store /dev/drbd1');
    const identity = host.at('start tgtadm -C 3261 --lld iscsi --op update --mode logicalunit --tid 1 --lun 10 --params scsi_id=X1,scsi_sn=S1,vendor_id=XSCTL,product_id=P');
    const ready = host.at('start tgtadm -C 3261 --lld iscsi --op update --mode target --tid 1 --name state --value ready');
    const add = host.at('start ip addr add 10.10.10.3/24 dev xapi1');
    const garp = host.at('start arping -U -c 3 -I xapi1 10.10.10.3');
    expect([primary, lun, identity, ready, add, garp].every((i) => i >= 0)).toBe(true);
    expect(primary).toBeLessThan(lun);
    expect(lun).toBeLessThan(identity);
    expect(identity).toBeLessThan(ready);
    expect(ready).toBeLessThan(add);
    expect(add).toBeLessThan(garp);
    expect(host.targets.get(1)).toMatchObject({ state: 'ready', luns: [{ lun: 10, path: '/dev/drbd1', scsiId: 'X1', scsiSn: 'S1' }] });
    expect(r.steps.map((s) => [s.name, s.outcome])).toEqual([
      ['drbd-primary:iscsi1', StepOutcome.STEP_OUTCOME_DONE],
      ['tgtd', StepOutcome.STEP_OUTCOME_DONE],
      ['target', StepOutcome.STEP_OUTCOME_DONE],
      ['portal-open', StepOutcome.STEP_OUTCOME_ALREADY],
      ['floating-ip', StepOutcome.STEP_OUTCOME_DONE],
      ['garp', StepOutcome.STEP_OUTCOME_DONE],
    ]);
    // After Primary, the target step's tgtadm calls are the LUN's and the state's alone: the
    // target this call defined beside the promotion is known (offline, ACL and account bound, no
    // LUN), so no read before them, and none after (each call's exit code says it took).
    const afterPrimary = host.events.slice(primary).filter((e) => e.startsWith('start tgtadm')).map((e) => e.replace('start tgtadm -C 3261 ', ''));
    expect(afterPrimary).toEqual([
      '--lld iscsi --op new --mode logicalunit --tid 1 --lun 10 --backing-store /dev/drbd1 --bstype rdwr',
      '--lld iscsi --op update --mode logicalunit --tid 1 --lun 10 --params scsi_id=X1,scsi_sn=S1,vendor_id=XSCTL,product_id=P',
      '--lld iscsi --op update --mode target --tid 1 --name state --value ready',
    ]);
    // The target was defined once (beside the promotion), not again after it.
    expect(host.events.filter((e) => e.startsWith('start tgtadm -C 3261 --lld iscsi --op new --mode target'))).toHaveLength(1);
    // The whole promotion's tgtd calls, by hand from tgtadm(8) and the spec: is one running
    // (show sys, refused: none is), start it, wait for it to answer (show sys), then the
    // definition of a fresh daemon's target with no read in between (it has none), its ACL,
    // the account (looked up once: tgtd-wide), offline; then the LUN and ready after Primary.
    expect(host.events.filter((e) => /^start tgt(adm|d) /.test(e)).map((e) => e.replace(/^start /, '').replace(/ -p \S+$/, ' -p PIDFILE'))).toEqual([
      'tgtadm -C 3261 --op show --mode sys',
      'tgtd -h',
      'tgtd -C 3261 -p PIDFILE',
      'tgtadm -C 3261 --op show --mode sys',
      'tgtadm -C 3261 --lld iscsi --op new --mode target --tid 1 --targetname iqn.2013-05.com.example:x',
      'tgtadm -C 3261 --lld iscsi --op bind --mode target --tid 1 --initiator-address 10.10.10.0/24',
      'tgtadm -C 3261 --lld iscsi --op show --mode account',
      'tgtadm -C 3261 --lld iscsi --op new --mode account --user xsinit --password Not-a-real-secret-1',
      'tgtadm -C 3261 --lld iscsi --op bind --mode account --tid 1 --user xsinit',
      'tgtadm -C 3261 --lld iscsi --op update --mode target --tid 1 --name state --value offline',
      'tgtadm -C 3261 --lld iscsi --op new --mode logicalunit --tid 1 --lun 10 --backing-store /dev/drbd1 --bstype rdwr',
      'tgtadm -C 3261 --lld iscsi --op update --mode logicalunit --tid 1 --lun 10 --params scsi_id=X1,scsi_sn=S1,vendor_id=XSCTL,product_id=P',
      'tgtadm -C 3261 --lld iscsi --op update --mode target --tid 1 --name state --value ready',
    ]);
    // The address is read once (absent), probed (DAD, started beside Primary) and added: no
    // second read inside the add.
    expect(host.events.filter((e) => e.startsWith('start ip ')).map((e) => e.replace('start ', ''))).toEqual(['ip addr show dev xapi1', 'ip addr add 10.10.10.3/24 dev xapi1']);
    await assertRole(ctx, StorageRole.STORAGE_ROLE_SLAVE, spec, false);
  });

  it('a refused promotion (data not UpToDate, rule 1) takes back the tgtd it started beside it, and adds no LUN and no address', async () => {
    await writeFile(join(root, 'proc/drbd'), procDrbd('Secondary', 'Inconsistent'));
    const host = new FakeDom0(root, 'Inconsistent');
    const r = await assertRole(ctxOf(host), StorageRole.STORAGE_ROLE_MASTER, spec, false);
    expect(r.ok).toBe(false);
    expect(r.failedStep).toBe('drbd-primary:iscsi1');
    expect(r.steps[0]).toMatchObject({ errorCode: 'DRBD_NOT_UP_TO_DATE' });
    expect(host.at('start drbdadm primary')).toBe(-1);
    expect(host.at('start tgtadm -C 3261 --lld iscsi --op new --mode logicalunit')).toBe(-1);
    expect(host.at('start ip addr add')).toBe(-1);
    // It had started tgtd (and defined the target); both are gone again.
    expect(host.at('start tgtd -C 3261 -p')).toBeGreaterThan(-1);
    expect(host.at('start tgtadm -C 3261 --op delete --mode system')).toBeGreaterThan(host.at('start tgtd -C 3261 -p'));
    expect(host.tgtdUp).toBe(false);
  });
});

describe('the GARP burst runs on after the bring-up, and a demotion stops it before the address goes', () => {
  it('the master assertion returns while arping -U still runs', async () => {
    const host = new FakeDom0(root);
    const ctx = ctxOf(host);
    const r = await assertRole(ctx, StorageRole.STORAGE_ROLE_MASTER, spec, false);
    expect(r.ok).toBe(true);
    // The same count as before (garpCount 3), still running.
    expect(host.bursts).toHaveLength(1);
    expect(host.bursts[0]!.args).toEqual(['-U', '-c', '3', '-I', 'xapi1', '10.10.10.3']);
    expect(host.at('end arping -U')).toBe(-1);
    expect(garpBurstRunning(ctx, { iface: 'xapi1', address: '10.10.10.3' })).toBe(true);
    host.bursts[0]!.end();
  });

  // Every path that removes the address but the self-fence's (below) waits for the burst's end.
  it.each([
    ['a slave assertion', (ctx: AgentContext) => assertRole(ctx, StorageRole.STORAGE_ROLE_SLAVE, spec, false).then((r) => r.ok)],
    ["a switchover's RELEASE", (ctx: AgentContext) => runHandover(ctx, StorageRole.STORAGE_ROLE_SLAVE, StorageHandover.STORAGE_HANDOVER_RELEASE, spec, false).then((r) => r.ok)],
    ['RemoveFloatingIp', (ctx: AgentContext) => removeFloatingIp(ctx, normalizeStorageSpec(spec, ctx).ip)],
  ])('%s aborts a running burst and waits for its end before ip addr del', async (_path, demote) => {
    const host = new FakeDom0(root);
    const ctx = ctxOf(host);
    expect((await assertRole(ctx, StorageRole.STORAGE_ROLE_MASTER, spec, false)).ok).toBe(true);
    expect(garpBurstRunning(ctx, { iface: 'xapi1', address: '10.10.10.3' })).toBe(true);
    expect(await demote(ctx)).toBe(true);
    expect(host.bursts[0]!.aborted).toBe(true);
    expect(host.at('end arping -U')).toBeGreaterThan(-1);
    expect(host.at('end arping -U')).toBeLessThan(host.at('start ip addr del 10.10.10.3/24 dev xapi1'));
    expect(host.ipPresent).toBe(false);
    expect(garpBurstRunning(ctx, { iface: 'xapi1', address: '10.10.10.3' })).toBe(false);
  });

  it('the self-fence tear-down aborts a running burst before its ip addr del', async () => {
    const host = new FakeDom0(root);
    const ctx = ctxOf(host);
    expect((await assertRole(ctx, StorageRole.STORAGE_ROLE_MASTER, spec, false)).ok).toBe(true);
    const t = await selfFenceTearDown(ctx, normalizeStorageSpec(spec, ctx), 1_000, new AbortController().signal);
    expect(t.steps[0]).toMatchObject({ name: 'floating-ip', ok: true });
    // Signalled before the address goes (its exit is not waited for inside the step's deadline).
    expect(host.bursts[0]!.aborted).toBe(true);
    expect(host.at('abort arping -U')).toBeLessThan(host.at('start ip addr del 10.10.10.3/24 dev xapi1'));
  });

  it('a burst that ends on its own is forgotten; a later demotion has nothing to stop', async () => {
    const host = new FakeDom0(root);
    const ctx = ctxOf(host);
    expect((await assertRole(ctx, StorageRole.STORAGE_ROLE_MASTER, spec, false)).ok).toBe(true);
    host.bursts[0]!.end();
    await expect.poll(() => garpBurstRunning(ctx, { iface: 'xapi1', address: '10.10.10.3' })).toBe(false);
    expect((await assertRole(ctx, StorageRole.STORAGE_ROLE_SLAVE, spec, false)).ok).toBe(true);
    expect(host.bursts[0]!.aborted).toBe(false);
  });
});
