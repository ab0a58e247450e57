import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { stringify } from 'yaml';
import { assertStorageRoleOnBoot } from '@xsctl/agent/storage/boot-role';
import { SplitBrainState } from '@xsctl/proto/gen/xsctl/agent/v1/drbd';
import { drbdSimPath } from '../drbd-sim/drbd-sim-runner.js';
import { identityInvariant } from './identity-invariant.js';
import { LabMonitor, type MonitorReport } from './lab-monitor.js';
import { longestPauseMs, startPerfSession } from './perf-session.js';
import { LAB_IDENTITY, LAB_RESOURCE, StorageLab, type LabHost, type StorageLabOptions } from './storage-lab.js';

/**
 * The fault matrix of issue 11: each scenario runs on a fresh two-node lab (storage-lab.ts) with
 * the invariant monitor (lab-monitor.ts) watching from before the fault to the end. Every row
 * asserts the four invariants (no two Primaries, no floating IP on two hosts, no promotion
 * without UpToDate data, the initiator seeing the lab's one SCSI identity before the fault and,
 * where the row serves the LUN after it, after the fault: identity-invariant.ts) plus its own outcome.
 * The e2e test runs every k-th row (XSCTL_FAULT_STRIDE), `npm run test:fault-matrix` and the
 * benchmark run all of them.
 */
export interface ScenarioResult {
  scenario: string;
  passed: boolean;
  dualPrimary: number;
  dualFloatingIp: number;
  promotionsWithoutUpToDate: number;
  identities: string[];
  /** Probes the initiator saw answered before / after the fault's mark (the identity invariant's evidence). */
  identitiesBefore: number;
  identitiesAfter: number;
  /** Whether the row says the LUN is served after the fault. */
  servedAfter: boolean;
  detail: string;
  ms: number;
}

export interface Scenario {
  name: string;
  options?: StorageLabOptions;
  /**
   * Whether the LUN is served on the floating IP after the fault in this scenario (a fact of the
   * scenario: false where fencing fails, the survivor is refused or the master self-fences with
   * nobody promoted). When true the initiator must see it after the fault's mark.
   */
  servedAfter: boolean;
  /**
   * The fault and the scenario's own checks; throws on a failed check. It calls `mon.mark()` once
   * the fault is injected: answers to probes started before it count as before the fault.
   */
  run(lab: StorageLab, mon: LabMonitor): Promise<string>;
}

/** Row 13's bound on the logged-in session's longest pause (its reasoning is beside the check). */
export const PAUSE_BOUND_MS = 6_000;

export const IDENTITY = `${LAB_IDENTITY.vendorId}/${LAB_IDENTITY.productId}/${LAB_IDENTITY.scsiSn}`;

interface Witness {
  storageMaster: string;
  hosts: { host: string; reachable: boolean }[];
  last?: { kind: string; state: string; from: string; to: string; reason: string; timelineJson: string; error: string; errorCode: string };
  alerts: string[];
}

export async function witness(lab: StorageLab): Promise<Witness> {
  const r = await lab.xsctl(['storage', 'witness', '--pool', 'lab', '--json'], 30_000);
  if (r.exitCode !== 0) throw new Error(`storage witness: ${r.stderr}`);
  return JSON.parse(r.stdout) as Witness;
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`check failed: ${what}`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function role(lab: StorageLab, n: LabHost): Promise<string> {
  return (await lab.kernelState(n))?.role ?? 'none';
}

async function failoverDone(lab: StorageLab, timeoutMs = 120_000): Promise<Witness> {
  return lab.until('the failover workflow to finish', async () => {
    const w = await witness(lab);
    return w.last?.kind === 'storage-failover' && (w.last.state === 'done' || w.last.state === 'failed') ? w : undefined;
  }, timeoutMs);
}

/** The failover the fault started ends done with xs2 Primary (`what` names the workflow in the check). */
async function failedOverToXs2(lab: StorageLab, what = 'failover done'): Promise<Witness> {
  const w = await failoverDone(lab);
  check(w.last?.state === 'done', `${what} (was ${w.last?.state}${w.last?.state === 'failed' ? `: ${w.last.errorCode} ${w.last.error}` : ''})`);
  check((await role(lab, 'xs2')) === 'Primary', 'xs2 Primary');
  return w;
}

/** xs1's BMC reports the chassis off: the failover fenced it by power. */
async function xs1PoweredOff(lab: StorageLab): Promise<void> {
  check((await readFile(lab.bmcs.get('xs1')!.stateFile, 'utf8')).trim() === '0', 'xs1 powered off by its BMC');
}

/** The lab's IPMI failover of xs1: the witness ready, xs1 lost (the monitor's mark), xs2 promoted, xs1 read back off by its BMC. */
async function xs1LostFencedByPower(lab: StorageLab, mon: LabMonitor): Promise<void> {
  await witnessReady(lab);
  await lab.loseHost('xs1');
  mon.mark();
  await failedOverToXs2(lab);
  await xs1PoweredOff(lab);
}

/** The witness's heartbeats name xs2 the storage master. */
async function witnessSeesXs2Serving(lab: StorageLab): Promise<void> {
  await lab.until('the witness to see xs2 serving', async () => ((await witness(lab)).storageMaster === 'xs2' ? true : undefined), 60_000);
}

/** The initiator's INQUIRY on the floating IP answers with the lab's identity. */
async function checkIdentity(lab: StorageLab, what: string, timeoutMs?: number): Promise<void> {
  const id = await lab.inquiry(timeoutMs);
  check(id !== null && `${id.vendor}/${id.product}/${id.serial}` === IDENTITY, `${what} as ${IDENTITY}`);
}

/** `xsctl storage status --pool lab` until its text satisfies `shows`. */
async function untilStatus(lab: StorageLab, what: string, shows: (st: { exitCode: number; stdout: string }) => boolean): Promise<void> {
  await lab.until(what, async () => {
    const st = await lab.xsctl(['storage', 'status', '--pool', 'lab'], 60_000);
    return shows(st) ? true : undefined;
  }, 30_000);
}

/** The controller has seen the master long enough: the witness knows who serves. */
async function witnessReady(lab: StorageLab): Promise<void> {
  await lab.until('the witness to see xs1 serving', async () => ((await witness(lab)).storageMaster === 'xs1' ? true : undefined), 60_000);
}

/** Nothing changes for `ms`: no workflow, roles as they were, the LUN still answering. */
async function holdsFor(lab: StorageLab, ms: number): Promise<void> {
  await sleep(ms);
  const w = await witness(lab);
  check(w.last === undefined, `no workflow ran (saw ${w.last?.kind} ${w.last?.state})`);
  check((await role(lab, 'xs1')) === 'Primary' && (await role(lab, 'xs2')) === 'Secondary', 'xs1 Primary, xs2 Secondary as before');
}

/** What a resync in progress looks like to the simulated kernel: this node's data is Inconsistent. */
async function makeInconsistent(lab: StorageLab, n: LabHost): Promise<void> {
  const file = join(lab.base, 'drbd-sim', n, 'md-1.json');
  const md = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  await writeFile(file, JSON.stringify({ ...md, disk: 'Inconsistent' }));
  // The simulator renders /proc/drbd when it runs: without a run the agent's status would still
  // read UpToDate from the old rendering while drbdadm primary reads Inconsistent (a kernel shows
  // the state change at once). A read-only query of the simulator re-renders it.
  await execa(process.execPath, [drbdSimPath(), 'status', LAB_RESOURCE], { env: { ...process.env, ...lab.node(n).drbdSimEnv } });
}

/**
 * Row 8's return, after a failover that left xs2 serving: the crashed xs1 boots with a stale
 * pool.conf (master) and its storage role config (rules 9 and 11), comes back Secondary, resyncs
 * as SyncTarget of xs2 and its boot role is refused (DRBD_PEER_PRIMARY); xs2 keeps the role.
 */
/**
 * xs1's boot-time role files as a crashed master has them: a stale pool.conf (master) and its
 * storage role config (rules 9 and 11), with `extra` keys (a quorum witness).
 */
async function writeOldMasterBootFiles(lab: StorageLab, extra: Record<string, unknown> = {}): Promise<void> {
  const root = join(lab.base, 'xs1');
  await mkdir(join(root, 'etc/xensource'), { recursive: true });
  await mkdir(join(root, 'etc/xsctl'), { recursive: true });
  await writeFile(join(root, 'etc/xensource/pool.conf'), 'master');
  const spec = JSON.parse(JSON.stringify(lab.spec('xs1'))) as Record<string, unknown>;
  // The CHAP secret in a file beside it, as the boot role requires (a plain password is refused).
  const target = spec['target'] as { incomingUser: { user: string; password?: string; passwordFile?: string } };
  await writeFile(join(root, 'etc/xsctl/chap-secret'), `${target.incomingUser.password ?? ''}\n`, { mode: 0o600 });
  target.incomingUser = { user: target.incomingUser.user, passwordFile: 'chap-secret' };
  await writeFile(join(root, 'etc/xsctl/storage.yaml'), stringify({ ...spec, ...extra, hysteresisMs: 1_000, connectWaitMs: 5_000, retryInitialMs: 2_000, retryMaxMs: 5_000 }));
}

async function oldMasterReturnsSecondary(lab: StorageLab): Promise<string> {
  // It boots with a stale pool.conf (master) and its storage role config: rules 9 and 11.
  const root = join(lab.base, 'xs1');
  await writeOldMasterBootFiles(lab);
  const kernLog = join(root, 'var/log/kern.log');
  const kernBefore = (await readFile(kernLog, 'utf8').catch(() => '')).length;
  const node = await lab.bootHost('xs1');
  const agentLogBefore = (await readFile(node.logFile, 'utf8')).length;
  const stop = new AbortController();
  const boot = assertStorageRoleOnBoot(node.ctx, { signal: stop.signal });
  try {
    // DRBD up as Secondary, the handshake makes it SyncTarget of xs2, the resync ends UpToDate.
    const s = await lab.until('xs1 Connected, Secondary and UpToDate under a Primary xs2', async () => {
      const d = await lab.drbdState('xs1');
      return d?.connection === 'Connected' && d.role === 'Secondary' && d.disk === 'UpToDate' && d.peerRole === 'Primary' ? d : undefined;
    }, 90_000);
    // Its boot role tried the master role pool.conf names and was refused (rule 4), then retried.
    await lab.until('the boot role refusing to promote over the Primary xs2', async () => {
      const log = (await readFile(node.logFile, 'utf8')).slice(agentLogBefore);
      return /STORAGE ROLE NOT ASSERTED/.test(log) && /DRBD_PEER_PRIMARY/.test(log) ? true : undefined;
    }, 60_000);
    // A later retry does not change it either.
    await sleep(6_000);
    const kern = (await readFile(kernLog, 'utf8')).slice(kernBefore);
    check(/uuid_compare\(\)=-1 by rule 50/.test(kern), 'xs1 kernel: its generation is the one xs2 started from (rule 50)');
    check(/conn\( WFSyncUUID -> SyncTarget \)/.test(kern), 'xs1 kernel: became SyncTarget');
    check(/conn\( SyncTarget -> Connected \) disk\( Inconsistent -> UpToDate \)/.test(kern), 'xs1 kernel: resync done, UpToDate');
    check(!/Split-Brain/.test(kern), 'no split brain');
    const after = await lab.drbdState('xs1');
    check(after?.role === 'Secondary' && after.connection === 'Connected' && after.disk === 'UpToDate', `xs1 still Secondary/Connected/UpToDate (${after?.role}/${after?.connection}/${after?.disk})`);
    check((await role(lab, 'xs1')) === 'Secondary', 'the simulated kernel holds xs1 Secondary');
    check((await role(lab, 'xs2')) === 'Primary', 'xs2 still Primary');
    const peer = await lab.drbdState('xs2');
    check(peer?.connection === 'Connected' && peer.peerDisk === 'UpToDate', `xs2 sees xs1 UpToDate (${peer?.connection}/${peer?.peerDisk})`);
    check(JSON.stringify(await lab.ipHolders()) === '["xs2"]', 'the floating IP stays on xs2');
    await checkIdentity(lab, 'the LUN answers on the floating IP');
    return `xs1 back Secondary, resynced as SyncTarget of xs2 (${s.connection}/${s.disk}); its boot role was refused (DRBD_PEER_PRIMARY)`;
  } finally {
    stop.abort();
    await boot;
  }
}

export const scenarios: Scenario[] = [
  {
    name: 'storage master agent killed',
    servedAfter: true,
    async run(lab, mon) {
      await witnessReady(lab);
      await lab.killAgent('xs1');
      mon.mark();
      // The replication link stays Connected (rule 3): the peer is alive, no failover.
      await holdsFor(lab, 2 * 6_000);
      check((await lab.inquiry()) !== null, 'the LUN still answers');
      await lab.restartAgent('xs1');
      await lab.until('the witness sees xs1 again', async () => ((await witness(lab)).hosts.find((h) => h.host === 'xs1')?.reachable === true ? true : undefined), 30_000);
      return 'no failover; xs1 kept serving; the witness sees its agent again';
    },
  },
  {
    name: 'storage master host lost (all links and tgtd)',
    servedAfter: true,
    async run(lab, mon) {
      await witnessReady(lab);
      await lab.loseHost('xs1');
      mon.mark();
      const w = await failedOverToXs2(lab);
      check(JSON.stringify(await lab.ipHolders()) === '["xs2"]', 'floating IP on xs2 only');
      return `failed over to xs2; timeline ${w.last?.timelineJson}`;
    },
  },
  {
    name: 'replication link cut only',
    servedAfter: true,
    async run(lab, mon) {
      await witnessReady(lab);
      // The slave's storage cable: DRBD drops on both sides, the initiator keeps its path to xs1.
      await lab.fleet.cutLink('xs2', 'eth1');
      mon.mark();
      await lab.until('xs1 sees the link down', async () => ((await lab.drbdState('xs1'))?.connection !== 'Connected' ? true : undefined), 15_000);
      await holdsFor(lab, 2 * 6_000);
      check((await lab.inquiry()) !== null, 'the LUN still answers from xs1');
      await lab.fleet.restoreLink('xs2', 'eth1');
      return 'both agents reachable: no failover, xs1 keeps serving';
    },
  },
  {
    name: 'management link cut only',
    servedAfter: true,
    async run(lab, mon) {
      await witnessReady(lab);
      await lab.fleet.cutLink('xs1', 'eth0');
      lab.relays.get('xs1')!.cut();
      mon.mark();
      // The witness loses xs1, but xs2 still sees the replication link Connected (rule 3).
      await holdsFor(lab, 2 * 6_000);
      check((await lab.inquiry()) !== null, 'the LUN still answers');
      await lab.fleet.restoreLink('xs1', 'eth0');
      lab.relays.get('xs1')!.restore();
      return 'replication Connected: no failover on management loss alone';
    },
  },
  {
    name: 'both links of the master cut while the witness sees the slave',
    servedAfter: true,
    async run(lab, mon) {
      await witnessReady(lab);
      await lab.fleet.cutLink('xs1', 'eth0');
      await lab.fleet.cutLink('xs1', 'eth1');
      lab.relays.get('xs1')!.cut();
      mon.mark();
      const w = await failedOverToXs2(lab);
      await xs1PoweredOff(lab);
      // The recovery told XAPI (host.declare_dead disables the host) while xs1 was still marked
      // live: the simulator keeps host_metrics.live for xapi's 600 s heartbeat timeout.
      check(lab.sim.db.getRecord('host', lab.hostRef('xs1'))['enabled'] === false, 'xs1 declared dead in XAPI (disabled)');
      return `xs1 fenced by IPMI, xs2 serves; ${w.last?.timelineJson}`;
    },
  },
  {
    name: 'witness lost together with the replication link',
    options: { automatic: true },
    // xs1 self-fences and nobody is promoted: the storage stays down.
    servedAfter: false,
    async run(lab, mon) {
      await witnessReady(lab);
      await lab.stopController();
      await lab.fleet.cutLink('xs2', 'eth1');
      mon.mark();
      // xs1 serves with neither peer nor witness: it stops within its self-fence bound; nothing is promoted.
      await lab.until('xs1 stops serving (self-fence)', async () => ((await role(lab, 'xs1')) === 'Secondary' && (await lab.ipHolders()).length === 0 ? true : undefined), 60_000);
      check((await role(lab, 'xs2')) === 'Secondary', 'xs2 not promoted without the witness');
      const log = await readFile(lab.node('xs1').logFile, 'utf8');
      check(/SELF-FENCE: replication link and witness lost while serving/.test(log), 'xs1 logged its self-fence');
      return 'xs1 self-fenced, nobody promoted (no witness, no quorum)';
    },
  },
  {
    name: 'flapping link (at most one role change per hold-down)',
    options: { fencing: 'self', holdDownMs: 60_000 },
    // After the flaps the links are back: whichever host holds the role (xs1, or xs2 after the one
    // failover the hold-down allows) serves the LUN.
    servedAfter: true,
    async run(lab, mon) {
      await witnessReady(lab);
      let changes = 0;
      for (let i = 0; i < 3; i++) {
        await lab.fleet.cutLink('xs1', 'eth1');
        await lab.fleet.cutLink('xs1', 'eth0');
        lab.relays.get('xs1')!.cut();
        await sleep(5_000);
        await lab.fleet.restoreLink('xs1', 'eth1');
        await lab.fleet.restoreLink('xs1', 'eth0');
        lab.relays.get('xs1')!.restore();
        await sleep(3_000);
      }
      // The fault is over (the last flap restored): from here on the LUN must answer.
      mon.mark();
      await sleep(5_000);
      const log = await readFile(lab.controllerLog, 'utf8');
      const count = (re: RegExp) => (log.match(re) ?? []).length;
      changes = count(/STORAGE FAILOVER started by the witness/g);
      check(changes <= 1, 'at most one failover');
      // xs1 fences itself in the first cut; a failover started as its links come back is refused
      // (rule 3: DRBD Connected again), and the witness puts the role back on xs1 once the pair
      // has stayed healed for detectAfterMs (docs/storage-safety-rules.md): at most once.
      const reasserts = count(/STORAGE MASTER RE-ASSERTED by the witness/g);
      check(reasserts <= 1, `at most one re-assertion (${reasserts})`);
      const refused = log.match(/FAILOVER REFUSED \(([A-Z_]+)\)/)?.[1];
      const serving = (await lab.ipHolders()).join(',');
      return `${changes} failover(s) started${refused === undefined ? '' : ` (refused: ${refused})`}, ${reasserts} re-assertion(s) in three flaps within the hold-down; serving: ${serving || 'nobody yet'}`;
    },
  },
  {
    name: 'the old master returns: it comes back Secondary',
    servedAfter: true,
    async run(lab, mon) {
      await witnessReady(lab);
      // A crash, not a shutdown: the DRBD simulator keeps xs1's metadata as the kernel left it
      // (the generation xs2 started its new one from, UpToDate, the primary indicator set).
      await lab.loseHost('xs1');
      mon.mark();
      const w = await failoverDone(lab);
      check(w.last?.state === 'done', `failover done (was ${w.last?.state})`);
      check((await role(lab, 'xs1')) === 'Unconfigured', `the crashed xs1 has no DRBD state (is ${await role(lab, 'xs1')})`);
      return oldMasterReturnsSecondary(lab);
    },
  },
  {
    name: 'fencing failing',
    options: { stuckBmc: ['xs1'] },
    // xs1 is lost and cannot be fenced: nothing is promoted, nobody serves.
    servedAfter: false,
    async run(lab, mon) {
      await witnessReady(lab);
      await lab.loseHost('xs1');
      mon.mark();
      const w = await failoverDone(lab);
      check(w.last?.state === 'failed', `failover failed (was ${w.last?.state})`);
      check((await role(lab, 'xs2')) === 'Secondary', 'nothing promoted');
      const log = await readFile(lab.controllerLog, 'utf8');
      check(/FENCING FAILED: nothing is promoted/.test(log), 'the controller logged it loudly');
      return 'fence failed: nothing promoted, the workflow failed with FENCING_FAILED';
    },
  },
  {
    name: 'the survivor not UpToDate',
    // xs1 is lost and xs2 may not be promoted: nobody serves.
    servedAfter: false,
    async run(lab, mon) {
      await witnessReady(lab);
      await makeInconsistent(lab, 'xs2');
      await lab.loseHost('xs1');
      mon.mark();
      const w = await failoverDone(lab);
      check(w.last?.state === 'failed', `failover refused (was ${w.last?.state})`);
      check((await role(lab, 'xs2')) === 'Secondary', 'xs2 not promoted');
      // (xs1's namespace, cables cut, still lists the address: a lost host, not a wiped one.)
      check(!(await lab.ipHolders()).includes('xs2'), 'xs2 did not take the floating IP');
      // The typed refusal as the admin reads it (xsctl storage witness): its code and the rule.
      check(w.last?.errorCode === 'STORAGE_SURVIVOR_NOT_UP_TO_DATE', `typed refusal (code was '${w.last?.errorCode}')`);
      check(/xs2's copy of iscsi1 is Inconsistent, not UpToDate: promoting it would serve stale data \(rule 1\)/.test(w.last?.error ?? ''), `the refusal names rule 1 (was '${w.last?.error}')`);
      const log = await readFile(lab.controllerLog, 'utf8');
      check(/FAILOVER REFUSED \(STORAGE_SURVIVOR_NOT_UP_TO_DATE\): xs2's copy of iscsi1 is Inconsistent/.test(log), 'the controller logged the refusal loudly');
      return `refused with ${w.last?.errorCode}: ${w.last?.error}`;
    },
  },
  {
    name: 'split brain after both return: detected, reported, not resolved',
    // Self-fencing with the lab's normal delay (6 s): xs1's tear-down (IP, target, DRBD Secondary)
    // has its own deadline (selfFenceTeardownMs), and the failover also waits for the floating IP
    // to stop answering from xs2's side. Before, the tear-down took 7.7-37 s under load and the
    // monitor saw both kernels Primary; the row ran with 20 s to hide it.
    options: { fencing: 'self' },
    // xs2 takes over by quorum and keeps serving through the split brain.
    servedAfter: true,
    async run(lab, mon) {
      await witnessReady(lab);
      await lab.fleet.cutLink('xs1', 'eth0');
      await lab.fleet.cutLink('xs1', 'eth1');
      lab.relays.get('xs1')!.cut();
      mon.mark();
      const w = await failoverDone(lab);
      check(w.last?.state === 'done', `failover by quorum done (was ${w.last?.state})`);
      await lab.fleet.restoreLink('xs1', 'eth0');
      await lab.fleet.restoreLink('xs1', 'eth1');
      lab.relays.get('xs1')!.restore();
      const sb = await lab.until('both report the split brain', async () => {
        const a = await lab.drbdState('xs1');
        const b = await lab.drbdState('xs2');
        return a?.splitBrain === SplitBrainState.SPLIT_BRAIN_STATE_DETECTED && b?.splitBrain === SplitBrainState.SPLIT_BRAIN_STATE_DETECTED ? [a, b] : undefined;
      }, 30_000);
      const status = await lab.xsctl(['storage', 'status', '--pool', 'lab'], 60_000);
      check(/SPLIT BRAIN/.test(status.stdout + status.stderr), 'storage status reports it');
      await sleep(3_000);
      const [r1, r2] = [await role(lab, 'xs1'), await role(lab, 'xs2')];
      check(r2 === 'Primary' && r1 === 'Secondary', `roles untouched: xs2 serves, xs1 waits for the admin (xs1 ${r1}, xs2 ${r2})`);
      check((await lab.drbdState('xs1'))?.connection === 'StandAlone', 'not resolved automatically');
      // The split brain itself is no reason to self-fence (rule 10: nothing can be promoted until
      // the admin resolves it): xs2 keeps serving with its replication link StandAlone even when
      // the witness goes too, for twice the self-fence bound (4 s in this lab).
      await lab.stopController();
      await sleep(2 * 4_000 + 2_000);
      check((await role(lab, 'xs2')) === 'Primary' && JSON.stringify(await lab.ipHolders()) === '["xs2"]', 'xs2 still serves without the witness');
      check((await lab.inquiry(10_000)) !== null, 'the LUN still answers from xs2');
      const log = await readFile(lab.node('xs2').logFile, 'utf8');
      check(!/SELF-FENCE: replication link and witness lost/.test(log) && /SPLIT BRAIN: witness lost while serving; not self-fencing/.test(log), 'xs2 logged the split brain, not a self-fence');
      return `split brain reported on both (${sb.map((s) => s.connection).join('/')}), left for the admin; xs2 kept serving without the witness`;
    },
  },
  {
    name: 'controller SIGKILLed in the middle of a failover, then resumed',
    servedAfter: true,
    async run(lab, mon) {
      await witnessReady(lab);
      await lab.stopController();
      // After the failover's start, assess and fence intents: the kill lands mid-workflow.
      await lab.startController({ XSCTL_TEST_KILL_AFTER_JOURNAL_WRITE: '5' });
      await witnessReady(lab);
      await lab.loseHost('xs1');
      mon.mark();
      await lab.controller?.child.catch(() => undefined);
      lab.controller = null;
      await lab.startController();
      await failedOverToXs2(lab, 'the resumed failover finished');
      check(/resumed workflows after a restart/.test(await readFile(lab.controllerLog, 'utf8')), 'resumed from the journal');
      return 'killed mid-failover; the restarted controller resumed and finished it';
    },
  },
  {
    name: 'switchover under continuous initiator I/O',
    servedAfter: true,
    async run(lab, mon) {
      await witnessReady(lab);
      const url = `iscsi://xsinit%Lab-CHAP-secret-77@${lab.floatingIp}/iqn.2013-05.com.example:xsctl.lab/10`;
      const session = startPerfSession(lab, url);
      await session.reading();
      await sleep(2_000);
      const started = performance.now();
      const r = await lab.xsctl(['storage', 'switchover', '--pool', 'lab', '--yes']);
      const switched = performance.now();
      // After the switchover's return: an answer counted after it comes from xs2, not from xs1 before the move.
      mon.mark();
      // Reads go on from xs2 afterwards: a few progress lines with I/O after the switchover.
      await lab.until('iscsi-perf reading from xs2', async () => (session.progress.filter((p) => p.at > switched && p.iops > 0).length >= 3 ? true : undefined), 60_000).catch(() => undefined);
      const out = await session.stop();
      const tail = (t: string) => t.trim().split(/[\r\n]+/).slice(-3).join(' | ');
      check(r.exitCode === 0, `switchover done: ${r.stderr.trim().split('\n').at(-1)}`);
      check((await role(lab, 'xs2')) === 'Primary' && (await role(lab, 'xs1')) === 'Secondary', 'xs2 Primary, xs1 Secondary');
      check(out.failure === null, `no failed read, no ABORTED (${out.failure})`);
      check(out.progress.filter((p) => p.at > switched && p.iops > 0).length >= 3, `reads went on after the switchover (${tail(out.stdout)})`);
      // Killed after SIGINT only for iscsi-perf's own count after a reconnect (perf-session.ts).
      if (out.killed) check(out.reconnects.length > 0, `iscsi-perf stuck after SIGINT without a reconnect (${tail(out.stdout)} / ${tail(out.stderr)})`);
      else check(out.exitCode === 0 && /finished\./.test(out.stdout), `iscsi-perf finished after SIGINT (exit ${out.exitCode}; ${tail(out.stdout)})`);
      // The longest pause the logged-in session saw (no read completing) from just before the
      // switchover, and the longest gap of the monitor's INQUIRY probes (a fresh login each).
      const pause = longestPauseMs(out.progress, started - 1_000);
      const probeGap = mon.peek().longestGapMs;
      const rc = out.reconnects.map((t) => `+${Math.round(t - started)} ms`).join(', ');
      // The bound. Before the handover phases (full role assertions, the session reset only by
      // the initiator's 5 s NOP-out) the session paused 6858 and 7986 ms at load 1-3 and 11.7-30 s
      // at load 9-14; with them 4432 ms at load 12-14 (the phases' dozen commands at ~0.3-1 s per
      // spawn there, then the initiator's next SYN). 6 s fails every run before, and leaves 1.5 s
      // over the loaded figure; the issue's goal (2 s) is the benchmark's, on a quiet machine.
      check(pause <= PAUSE_BOUND_MS, `the session's longest pause ${pause} ms is within ${PAUSE_BOUND_MS} ms (reconnects at ${rc || 'none'})`);
      return `switched over in ${Math.round(switched - started)} ms under iscsi-perf, no failed read; session reconnects at ${rc || 'none'}; longest I/O pause of the session ${pause} ms, longest INQUIRY gap ${probeGap} ms; iscsi-perf ${out.killed ? 'killed after SIGINT (its in_flight count after a UNIT ATTENTION retry)' : 'finished'}`;
    },
  },
  {
    name: 'switchover refused while the peer is Inconsistent',
    // Refused: xs1 keeps serving.
    servedAfter: true,
    async run(lab, mon) {
      await witnessReady(lab);
      await makeInconsistent(lab, 'xs2');
      const r = await lab.xsctl(['storage', 'switchover', '--pool', 'lab', '--yes']);
      mon.mark();
      check(r.exitCode !== 0, 'refused');
      check(/STORAGE_PEER_NOT_UP_TO_DATE/.test(r.stderr) && /xs2's copy of iscsi1 is Inconsistent/.test(r.stderr), `typed refusal naming xs2 (${r.stderr.trim().split('\n').at(-1)})`);
      check((await role(lab, 'xs1')) === 'Primary', 'nothing moved');
      return 'refused with STORAGE_PEER_NOT_UP_TO_DATE naming xs2';
    },
  },
  {
    name: 'the old master keeps serving past its self-fence bound (self fencing): refused, nothing promoted',
    // A master that cannot fence itself: its agent is dead (no self-fence runs), while DRBD stays
    // Primary, tgtd keeps the LUN and the floating IP stays on eth1; only the replication traffic
    // (DRBD's port) is dropped, so the survivor sees the link down and can still ARP the address.
    // The controller waits out the bound, sees the IP still answering from xs1's side, and after
    // one more detectAfterMs refuses (docs/storage-safety-rules.md, rule 4): STORAGE_OLD_MASTER_SERVING.
    options: { fencing: 'self' },
    // Refused, nothing promoted: xs1 goes on serving the LUN.
    servedAfter: true,
    async run(lab, mon) {
      await witnessReady(lab);
      await lab.killAgent('xs1');
      for (const dir of ['--dport', '--sport']) await lab.fleet.host('xs1').exec('iptables', ['-A', 'INPUT', '-p', 'tcp', dir, '7789', '-j', 'DROP']);
      mon.mark();
      const w = await failoverDone(lab);
      check(w.last?.state === 'failed', `failover refused (was ${w.last?.state})`);
      check((await role(lab, 'xs2')) === 'Secondary', `xs2 not promoted (is ${await role(lab, 'xs2')})`);
      check((await role(lab, 'xs1')) === 'Primary' && JSON.stringify(await lab.ipHolders()) === '["xs1"]', 'xs1 still Primary with the floating IP, alone');
      check((await lab.inquiry(10_000)) !== null, 'the LUN still answers, from xs1');
      // Loud: the typed code in `xsctl storage status --json` (the witness's last failover) and the log.
      const st = await lab.xsctl(['storage', 'status', '--pool', 'lab', '--json'], 60_000);
      const status = JSON.parse(st.stdout) as { witness?: { last?: { state: string; errorCode: string; error: string } } };
      check(status.witness?.last?.errorCode === 'STORAGE_OLD_MASTER_SERVING', `storage status names STORAGE_OLD_MASTER_SERVING (was '${status.witness?.last?.errorCode}', exit ${st.exitCode})`);
      check(/the floating IP still answers ARP from xs1's side \d+ ms past its self-fence bound/.test(status.witness?.last?.error ?? ''), `the refusal says why (was '${status.witness?.last?.error}')`);
      check(/FAILOVER REFUSED \(STORAGE_OLD_MASTER_SERVING\)/.test(await readFile(lab.controllerLog, 'utf8')), 'the controller logged the refusal loudly');
      return `refused with ${status.witness?.last?.errorCode}: ${status.witness?.last?.error}`;
    },
  },
  {
    name: 'XAPI master (the storage slave) lost, then the controller restarts: the storage master keeps its witness',
    // A pool whose XAPI master is not coupled to the storage: xs2 is the pool master, xs1 serves.
    // The self-fence bound is long enough for a controller restart on a loaded machine.
    options: { xapiMaster: 'xs2', couplePoolMaster: false, selfFenceAfterMs: 20_000, detectAfterMs: 25_000 },
    // The lost host is the storage slave: xs1 serves throughout.
    servedAfter: true,
    async run(lab, mon) {
      // The witness read the pool from XAPI (xs1 answered HOST_IS_SLAVE naming xs2): the journal has its members.
      await witnessReady(lab);
      await lab.loseHost('xs2');
      mon.mark();
      await lab.killController();
      await lab.startController();
      // xs1 has lost its peer (replication link down); the restarted controller cannot read the
      // pool from XAPI (its master is dead, xs1 answers HOST_IS_SLAVE). Only the members kept in
      // the journal let the witness heartbeat xs1; without them xs1 self-fences after 20 s.
      await lab.until('the witness to see xs1 serving again', async () => ((await witness(lab)).hosts.find((h) => h.host === 'xs1')?.reachable === true ? true : undefined), 30_000);
      await sleep(2 * 20_000 + 5_000);
      check((await role(lab, 'xs1')) === 'Primary' && (await lab.ipHolders()).includes('xs1'), `xs1 still serves (is ${await role(lab, 'xs1')})`);
      check((await lab.inquiry(10_000)) !== null, 'the LUN still answers from xs1');
      const w = await witness(lab);
      check(w.storageMaster === 'xs1', `the witness sees xs1 as the storage master (saw '${w.storageMaster}')`);
      check(w.hosts.find((h) => h.host === 'xs2')?.reachable === false, 'the witness sees xs2 lost');
      // Per the rules: the lost host is the storage slave, so there is nothing to fail over.
      check(w.last === undefined, `no failover started (saw ${w.last?.kind} ${w.last?.state})`);
      check(!/SELF-FENCE: replication link and witness lost/.test(await readFile(lab.node('xs1').logFile, 'utf8')), 'xs1 never self-fenced');
      check(/heartbeating the storage hosts from the journal \(pool members\)/.test(await readFile(lab.controllerLog, 'utf8')), 'the controller took the hosts from its journal');
      return 'pool master xs2 (storage slave) lost, controller restarted: hosts from the journal, xs1 heartbeaten and serving, no failover';
    },
  },
  {
    name: 'the lone survivor after an IPMI failover keeps serving while the witness is silent past its bound; the old master returns Secondary',
    // Issue 11 (the failover bench at load 10): the survivor's peer is powered off, so its
    // replication link is down for good, and a controller heartbeat later than selfFenceAfterMs
    // self-fenced the pool's only serving copy. With the peer fenced by power and silent on both
    // links the self-fence is held (docs/storage-safety-rules.md, "Self-fencing").
    // xs2 serves throughout, the witness's silence included.
    servedAfter: true,
    async run(lab, mon) {
      await xs1LostFencedByPower(lab, mon);
      // The admin sees the hold: `xsctl storage status` (the witness's latest view of xs2).
      await untilStatus(lab, 'storage status showing xs2 holding its self-fence', (st) => /xs2 .*held: peer powered off \(since \d\d:\d\d:\d\d\)/.test(st.stdout));
      // The witness goes silent: the controller stops, for the self-fence bound (4 s in this lab)
      // twice over and 2 s more. xs2's replication link is down (WFConnection: xs1 is off).
      await lab.stopController();
      const silentFrom = performance.now();
      await sleep(2 * 4_000 + 2_000);
      check((await lab.drbdState('xs2'))?.connection !== 'Connected', 'xs2 has no replication link while the witness is away');
      check((await role(lab, 'xs2')) === 'Primary' && JSON.stringify(await lab.ipHolders()) === '["xs2"]', `xs2 still Primary with the floating IP after ${Math.round(performance.now() - silentFrom)} ms without the witness`);
      await checkIdentity(lab, 'the LUN still answers from xs2', 10_000);
      const log2 = await readFile(lab.node('xs2').logFile, 'utf8');
      check(!/SELF-FENCE: replication link and witness lost/.test(log2), 'xs2 never self-fenced');
      const holds = (log2.match(/SELF-FENCE HELD: witness lost while serving, but the peer was fenced by power/g) ?? []).length;
      check(holds === 1, `xs2 logged the hold once, not per check (${holds} lines)`);
      // The witness back, then the old master: it answers on its links (the hold ends) and comes back Secondary.
      await lab.startController();
      await witnessSeesXs2Serving(lab);
      const back = await oldMasterReturnsSecondary(lab);
      const ended = /PEER-FENCED HOLD ENDED: the peer answers on the replication link/.test(await readFile(lab.node('xs2').logFile, 'utf8'));
      check(ended, 'xs2 ended its hold when xs1 answered on the replication link');
      await untilStatus(lab, 'storage status without the hold', (st) => st.exitCode === 0 && /^xs2 /m.test(st.stdout) && !/held: peer powered off/.test(st.stdout));
      return `xs2 kept serving ${2 * 4_000 + 2_000} ms without the witness (hold logged once), then: ${back}`;
    },
  },
  {
    name: 'the old master returns with its replication link still cut: it does not promote by quorum, it comes back a slave',
    // Rule 1 (issue 11): xs1, fenced by power and replaced by xs2, boots with "master" in its
    // pool.conf and a quorum witness in its storage role config (the initiator's address, which
    // answers ARP on eth0), its replication cable still out. The promotion guard alone would
    // accept the witness's ARP answer as quorum and make xs1 Primary beside the Primary xs2 (the
    // floating IP would be refused by rule 4's probe, DRBD would not). The boot role asks the
    // witness first (the controller's heartbeat names xs2): xs1 comes back a slave.
    // xs2 serves throughout.
    servedAfter: true,
    async run(lab, mon) {
      await xs1LostFencedByPower(lab, mon);
      await witnessSeesXs2Serving(lab);
      await writeOldMasterBootFiles(lab, { peerSafety: { witnessAddress: lab.fleet.host('ini').address, witnessInterface: 'eth0' } });
      const node = await lab.bootHost('xs1');
      // Before its boot role brings DRBD up: the replication cable stays out.
      await lab.fleet.cutLink('xs1', 'eth1');
      const agentLogBefore = (await readFile(node.logFile, 'utf8')).length;
      const stop = new AbortController();
      const boot = assertStorageRoleOnBoot(node.ctx, { signal: stop.signal });
      try {
        const out = await Promise.race([boot, sleep(60_000).then(() => null)]);
        check(out?.status === 'asserted' && out.role === 'slave', `xs1's boot role ended as a slave (${JSON.stringify(out === null ? 'still running after 60 s' : { status: out.status, role: 'role' in out ? out.role : '' })})`);
        const log = (await readFile(node.logFile, 'utf8')).slice(agentLogBefore);
        check(/the witness names the peer the storage master; asserting the slave storage role/.test(log), 'xs1 logged that the witness names xs2');
        check(!/"command":"drbdadm","args":\[[^\]]*"primary"/.test(log), 'xs1 never ran drbdadm primary');
        // A while later nothing has changed: xs1 Secondary and apart, xs2 Primary with the address.
        await sleep(3_000);
        const d = await lab.drbdState('xs1');
        check(d?.role === 'Secondary' && d.connection !== 'Connected', `xs1 Secondary with its replication link down (${d?.role}/${d?.connection})`);
        check((await role(lab, 'xs1')) === 'Secondary' && (await role(lab, 'xs2')) === 'Primary', 'the kernels: xs1 Secondary, xs2 Primary');
        check(JSON.stringify(await lab.ipHolders()) === '["xs2"]', 'the floating IP stays on xs2 alone');
        await checkIdentity(lab, 'the LUN answers on the floating IP', 10_000);
        return `xs1 booted with pool.conf master and its replication link cut; the witness named xs2: it came back a slave (${d?.role}/${d?.connection}), never Primary`;
      } finally {
        stop.abort();
        await boot;
      }
    },
  },
];

/** One row: a fresh lab, the monitor around the fault, the invariants and the row's checks. */
export async function runScenario(s: Scenario): Promise<ScenarioResult> {
  const started = performance.now();
  const lab = await StorageLab.start(s.options ?? {});
  let detail = '';
  let passed = false;
  let report: MonitorReport | undefined;
  try {
    await lab.startController();
    const mon = new LabMonitor(lab);
    try {
      // The invariant needs the initiator to have seen the LUN before the fault: the lab serves
      // from its start, so this waits for the monitor's first answer, not for a fix (a lab that
      // never answers fails the invariant below, whatever the row does).
      await mon.seen('before', 60_000);
      detail = await s.run(lab, mon);
      passed = true;
      // Likewise a row that ends soon after its fault leaves the monitor little time for a probe
      // started after the mark: where the LUN is served after, give it that time.
      if (s.servedAfter) await mon.seen('after', 30_000);
    } catch (err) {
      detail = err instanceof Error ? err.message : String(err);
    } finally {
      report = await mon.stop();
    }
  } finally {
    await lab.close();
  }
  const r = report;
  const identity = identityInvariant(r, IDENTITY, s.servedAfter);
  const invariants = r.dualPrimary === 0 && r.dualFloatingIp === 0 && r.promotionsWithoutUpToDate === 0 && identity.ok;
  if (passed && !invariants) detail = `invariants broken: ${JSON.stringify({ dualPrimary: r.dualPrimary, dualFloatingIp: r.dualFloatingIp, promotionsWithoutUpToDate: r.promotionsWithoutUpToDate, identity: identity.reason, before: r.before, after: r.after, servedAfter: s.servedAfter })}`;
  return {
    scenario: s.name,
    passed: passed && invariants,
    dualPrimary: r.dualPrimary,
    dualFloatingIp: r.dualFloatingIp,
    promotionsWithoutUpToDate: r.promotionsWithoutUpToDate,
    identities: r.identities,
    identitiesBefore: r.before.answered,
    identitiesAfter: r.after.answered,
    servedAfter: s.servedAfter,
    detail,
    ms: Math.round(performance.now() - started),
  };
}

/** Every k-th scenario, starting at `offset` (CI runs a stride, the full matrix runs k = 1). */
export function strideOf<T>(items: readonly T[], k: number, offset = 0): T[] {
  return items.filter((_, i) => i % Math.max(1, k) === offset % Math.max(1, k));
}
