import { ValidationError, XsctlError } from '@xsctl/common/errors/index';
import { SplitBrainState, type PeerSafety } from '@xsctl/proto/gen/xsctl/agent/v1/drbd';
import { StepOutcome, StorageRole, type AssertStorageRoleResponse, type RoleStep, type StorageSpec } from '@xsctl/proto/gen/xsctl/agent/v1/storage';
import { demote, promote, resourceState } from '../drbd/drbd-ops.js';
import { addFloatingIp, addressAnswers, floatingIpState, normalizeFloatingIp, removeFloatingIp, type FloatingIpConfig } from '../network/floating-ip.js';
import { startGarpBurst } from '../network/garp-burst.js';
import { FloatingIpInUseError } from '../network/network-errors.js';
import type { AgentContext } from '../server/agent-context.js';
import { resourceLocks } from '../server/resource-locks.js';
import { beginStorageRole } from '../journal/intent-journal.js';
import { earlyDadVerdict, type DadProbe } from './early-dad.js';
import { openPortal, portalBlockRule, portalBlocked } from './portal-block.js';
import { tgtdOf } from '../target/target-service.js';
import { normalizeTargetSpec, type TargetConfig, type TargetSpecOptions } from '../target/target-spec.js';
import { addLun, applyTarget, defineOfflineTarget, deleteTarget, setTargetState, showTargets, startTgtd, stopTgtd, tgtdRunning, type Tgtd } from '../target/tgt-ops.js';
import { drbdResourceName, integerInRange } from '../validate/validators.js';

export interface StorageConfig {
  resources: string[];
  target: TargetConfig;
  ip: FloatingIpConfig;
  tgtd: Tgtd;
  peerSafety: PeerSafety | undefined;
  stopGraceMs: number;
}

/** `field`: where the spec sits in the request (`spec`, or `watch.storage` in a peer watch), for refusals that name a real field. */
export function normalizeStorageSpec(spec: StorageSpec | undefined, options: TargetSpecOptions = {}, field = 'spec'): StorageConfig {
  if (spec === undefined) throw new ValidationError(field, 'required');
  if (spec.drbdResources.length === 0) throw new ValidationError(`${field}.drbdResources`, 'at least one DRBD resource');
  if (spec.target === undefined) throw new ValidationError(`${field}.target`, 'required');
  return {
    resources: spec.drbdResources.map((r, i) => drbdResourceName(`${field}.drbdResources[${i}]`, r)),
    target: normalizeTargetSpec(spec.target, `${field}.target`, options),
    ip: normalizeFloatingIp(spec.floatingIp, `${field}.floatingIp`),
    tgtd: tgtdOf(spec.tgtd),
    peerSafety: spec.peerSafety,
    stopGraceMs: spec.stopGraceMs === 0 ? 5_000 : integerInRange(`${field}.stopGraceMs`, spec.stopGraceMs, 100, 60_000),
  };
}

/** One step: its name, and what it does (or, in a dry run, whether it would). */
export interface Step {
  name: string;
  /** Returns ALREADY when nothing had to change; throws to fail. */
  run(dryRun: boolean): Promise<{ outcome: StepOutcome.STEP_OUTCOME_ALREADY | StepOutcome.STEP_OUTCOME_DONE | StepOutcome.STEP_OUTCOME_PLANNED; detail: string }>;
}

const already = (detail: string) => ({ outcome: StepOutcome.STEP_OUTCOME_ALREADY as const, detail });
const done = (detail: string) => ({ outcome: StepOutcome.STEP_OUTCOME_DONE as const, detail });
const planned = (detail: string) => ({ outcome: StepOutcome.STEP_OUTCOME_PLANNED as const, detail });

/** Removes a switchover's portal block (handover.ts) from this host's floating IP; a dry run reads whether it is there. */
function portalOpenStep(ctx: AgentContext, c: StorageConfig, signal?: AbortSignal): Step {
  return {
    name: 'portal-open',
    async run(dryRun) {
      if (dryRun) return (await portalBlocked(ctx, c.ip, signal)) ? planned(`iptables -D ${portalBlockRule(c.ip).join(' ')}`) : already('no portal block');
      const n = await openPortal(ctx, c.ip, signal);
      return n === 0 ? already('no portal block') : done(`portal block removed (${n})`);
    },
  };
}

/** What a promotion started beside DRBD Primary: tgtd, then the target defined offline without LUNs. */
interface Prepared {
  tgtd: Promise<{ changed: boolean; pid: number }>;
  /** True when this call defined the target (it was not there). */
  target: Promise<boolean>;
}

function prepareTarget(ctx: AgentContext, c: StorageConfig, signal?: AbortSignal): Prepared {
  const tgtd = startTgtd(ctx, c.tgtd, signal);
  const target = tgtd.then(async (started) => {
    // A tgtd this call has just started has no targets; one that ran already is asked, once:
    // the definition below goes on from that read instead of a second one.
    const shown = started.changed ? { running: true, targets: [] } : await showTargets(ctx, c.tgtd, signal);
    // One already there (any state) is left to the target step, as before.
    if (shown.targets.some((t) => t.tid === c.target.tid)) return false;
    await defineOfflineTarget(ctx, c.tgtd, c.target, signal, shown);
    return true;
  });
  // Read by the tgtd and target steps; a failure is theirs, not an unhandled rejection.
  tgtd.catch(() => undefined);
  target.catch(() => undefined);
  return { tgtd, target };
}

/** Takes back what prepareTarget did, best effort: tgtd if it started it (its targets go with it), else the target it defined. */
async function undoPrepared(ctx: AgentContext, c: StorageConfig, p: Prepared, signal?: AbortSignal): Promise<void> {
  const [tgtd, target] = await Promise.allSettled([p.tgtd, p.target]);
  try {
    if (tgtd.status === 'fulfilled' && tgtd.value.changed) await stopTgtd(ctx, c.tgtd, c.stopGraceMs, signal);
    else if (target.status === 'fulfilled' && target.value) await deleteTarget(ctx, c.tgtd, c.target.tid, true, signal, c.stopGraceMs);
  } catch (err) {
    ctx.logger.warn({ err: err instanceof Error ? err.message : String(err), controlPort: c.tgtd.controlPort }, 'storage role: the promotion failed; tgtd or the offline target started beside it could not be taken back');
  }
}

/** The peer watch's duplicate address probes of a floating IP (PeerWatch.dadProbes). */
export type DadProbesOf = (ip: FloatingIpConfig) => readonly DadProbe[];

function masterSteps(ctx: AgentContext, c: StorageConfig, signal?: AbortSignal, dadProbes?: DadProbesOf): Step[] {
  let ipAdded = false;
  // The floating IP's duplicate address detection (arping -D, two probes: 2 s) runs beside DRBD
  // Primary, tgtd and the target instead of after them: it only reads the network, and the
  // caller has fenced or demoted the old master before asking for this role. It starts only when
  // this node is about to be promoted (a re-assertion on a master costs no probe). Issue 11:
  // 2.2 s of the 4.6 s a failover's promotion took was this step.
  let dad: Promise<{ answers: boolean; by: string }> | undefined;
  // Stops that detection when the peer watch's probes stand for it (earlyDadVerdict below).
  const dadStop = new AbortController();
  const startDad = () => {
    dad ??= addressAnswers(ctx, c.ip, signal === undefined ? dadStop.signal : AbortSignal.any([signal, dadStop.signal]));
    // Read by the floating-ip step; a failure there is that step's failure, not an unhandled one.
    dad.catch(() => undefined);
  };
  // tgtd and the target without its LUNs, offline (what a switchover's prepare does), also start
  // beside DRBD Primary when this node is about to be promoted: rule 5 is about the device, and
  // nothing of it is exported before the target step adds the LUNs after Primary and sets the
  // target ready. Issue 11: tgtd's start and the target's definition (8 tgtadm calls) ran after
  // the promotion, in line, 1.2-4.4 s of a failover's promotion in the lab.
  let prepared: Prepared | undefined;
  const startPrepare = () => {
    prepared ??= prepareTarget(ctx, c, signal);
  };
  return [
    ...c.resources.map(
      (r): Step => ({
        name: `drbd-primary:${r}`,
        async run(dryRun) {
          const { state } = await resourceState(ctx, r, signal);
          // The how-to ("Dealing with DRBD Split Brain"): a split brain "will likely not impact the
          // operation of the pool since the Master node will still manage DRBD locally and ensure
          // it is in the Primary state". So the master keeps (or takes) Primary on its own data,
          // through promote()'s usual checks (UpToDate, peer not Primary, rule 2 for the
          // disconnected peer), and the split brain stays reported until an admin names the victim
          // (rule 10). Only the resync is refused, by connect().
          const split = state.splitBrain === SplitBrainState.SPLIT_BRAIN_STATE_DETECTED;
          const note = split ? `; SPLIT BRAIN unresolved (${state.splitBrainEvidence}): resolve it naming the victim` : '';
          if (split) ctx.logger.error({ resource: r, evidence: state.splitBrainEvidence }, 'storage role: DRBD SPLIT BRAIN; the pool master keeps serving its own data until an admin resolves it');
          if (state.role === 'Primary') return already(`Primary${note}`);
          if (!dryRun) {
            startDad();
            startPrepare();
          }
          try {
            const res = await promote(ctx, r, c.peerSafety, signal, dryRun);
            return dryRun ? planned(`${res.commands.join('; ')}${note}`) : done(`Primary (${res.state?.disk}/${res.state?.peerDisk}, ${res.state?.connection})${note}`);
          } catch (err) {
            // A refused or failed promotion leaves no tgtd or target it started beside it.
            if (prepared !== undefined) await undoPrepared(ctx, c, prepared, signal);
            throw err;
          }
        },
      }),
    ),
    {
      name: 'tgtd',
      async run(dryRun) {
        if (prepared !== undefined) {
          const s = await prepared.tgtd;
          return s.changed ? done(`started beside DRBD Primary, pid ${s.pid}`) : already(`running on control port ${c.tgtd.controlPort}`);
        }
        if (await tgtdRunning(ctx, c.tgtd, signal)) return already(`running on control port ${c.tgtd.controlPort}`);
        if (dryRun) return planned(`start tgtd -C ${c.tgtd.controlPort}`);
        const s = await startTgtd(ctx, c.tgtd, signal);
        return done(`started, pid ${s.pid}`);
      },
    },
    {
      name: 'target',
      async run(dryRun) {
        if (dryRun) {
          const shown = await showTargets(ctx, c.tgtd, signal);
          const t = shown.targets.find((x) => x.tid === c.target.tid && x.iqn === c.target.iqn);
          const complete = t !== undefined && t.state === 'ready' && c.target.luns.every((l) => t.luns.some((x) => x.lun === l.lun && x.scsiSn === l.scsiSn));
          return complete ? already(`tid ${c.target.tid} ready`) : planned(`export ${c.target.iqn} (tid ${c.target.tid})`);
        }
        // A target this call defined beside the promotion, under the lock it still holds, is
        // known: offline, its ACLs and account bound, no LUN. Its LUNs and the ready state
        // follow without a read first (two spawns less, in line between Primary and the address).
        if ((await prepared?.target.catch(() => undefined)) === true) {
          for (const l of c.target.luns) await addLun(ctx, c.tgtd, c.target.tid, l, signal);
          await setTargetState(ctx, c.tgtd, c.target.tid, 'ready', signal);
          return done(`${c.target.iqn} tid ${c.target.tid}: ${2 * c.target.luns.length + 1} tgtadm calls after the offline definition`);
        }
        // A definition that failed beside the promotion fails here again, with its own error.
        const r = await applyTarget(ctx, c.tgtd, c.target, signal, { readBack: false });
        return r.changed ? done(`${c.target.iqn} tid ${c.target.tid}: ${r.commands.length} tgtadm calls`) : already(`tid ${c.target.tid} ready`);
      },
    },
    // A switchover's portal block (handover.ts) left by an interrupted release: new logins to
    // the address this host is about to serve would be dropped.
    portalOpenStep(ctx, c, signal),
    {
      name: 'floating-ip',
      async run(dryRun) {
        if ((await floatingIpState(ctx, c.ip, signal)).present) return already(`${c.ip.address} on ${c.ip.iface}`);
        if (dryRun) {
          const dad = await addressAnswers(ctx, c.ip, signal);
          if (dad.answers) throw new FloatingIpInUseError(c.ip.address, c.ip.iface, dad.by);
          ipAdded = true;
          return planned(`add ${c.ip.address}/${c.ip.prefixLength} on ${c.ip.iface}`);
        }
        // Rule 4 with the peer powered off (docs/storage-safety-rules.md, "Rule 4 and the power
        // fence"): the peer watch probed the address while the controller detected the loss and
        // fenced; if its last two probes, recent and a full second each, found nobody, the old
        // master cannot answer any more (it is off) and any other host would have answered them.
        // The detection started beside DRBD Primary (two probes, 2 s, 1.5 s of it in line here
        // in issue 11's bench) is then stopped, not waited for. Otherwise it decides, as before.
        const early = dadProbes === undefined ? null : earlyDadVerdict({ peerFenced: c.peerSafety?.peerFenced === true, peerFencedByPower: c.peerSafety?.peerFencedByPower === true, probes: dadProbes(c.ip), now: performance.now() });
        if (early?.use === true) {
          dadStop.abort();
          // Absent a moment ago (the read above, under the lock): no second `ip addr show`.
          await addFloatingIp(ctx, c.ip, signal, Promise.resolve({ answers: false, by: '' }), false);
          ipAdded = true;
          ctx.logger.info({ address: c.ip.address, iface: c.ip.iface, evidence: early.detail }, 'floating IP: added on the peer watch\'s duplicate address probes (peer powered off)');
          return done(`${c.ip.address}/${c.ip.prefixLength} on ${c.ip.iface}; ${early.detail}`);
        }
        // Absent a moment ago (the read above, under the lock): no second `ip addr show`.
        await addFloatingIp(ctx, c.ip, signal, dad, false);
        ipAdded = true;
        return done(`${c.ip.address}/${c.ip.prefixLength} on ${c.ip.iface}${early === null ? '' : ` (duplicate address detection in line: ${early.reason})`}`);
      },
    },
    {
      // The address may have been added by an earlier call whose GARP failed: announce it every
      // time. A GARP changes nothing here (so it counts as ALREADY when the address was here).
      // The burst runs on after the step (garp-burst.ts: its first announcement goes at once, the
      // rest a second apart; the step watches it for 250 ms, so an arping that cannot run still
      // fails it), and a demotion stops it before the address goes.
      name: 'garp',
      async run(dryRun) {
        const arping = `arping -U -c ${c.ip.garpCount} -I ${c.ip.iface} ${c.ip.address}`;
        if (dryRun) return ipAdded ? planned(arping) : already(`address already here; would re-announce (${arping})`);
        const sent = await startGarpBurst(ctx, c.ip);
        return ipAdded ? done(`${sent} gratuitous ARPs under way`) : already(`address already here; re-announcing with ${sent} gratuitous ARPs`);
      },
    },
  ];
}

function slaveSteps(ctx: AgentContext, c: StorageConfig, signal?: AbortSignal): Step[] {
  return [
    {
      name: 'floating-ip',
      async run(dryRun) {
        if (!(await floatingIpState(ctx, c.ip, signal)).present) return already(`${c.ip.address} not here`);
        if (dryRun) return planned(`remove ${c.ip.address}/${c.ip.prefixLength} from ${c.ip.iface}`);
        await removeFloatingIp(ctx, c.ip, signal);
        return done(`${c.ip.address} removed`);
      },
    },
    {
      name: 'target',
      async run(dryRun) {
        const shown = await showTargets(ctx, c.tgtd, signal);
        const t = shown.targets.find((x) => x.tid === c.target.tid);
        if (t === undefined) return already(shown.running ? `no tid ${c.target.tid}` : 'tgtd not running');
        if (dryRun) return planned(`offline and delete tid ${c.target.tid} (${t.nexuses.length} sessions)`);
        const d = await deleteTarget(ctx, c.tgtd, c.target.tid, true, signal, c.stopGraceMs);
        return done(`tid ${c.target.tid} deleted (${d.sessions} sessions dropped)`);
      },
    },
    {
      name: 'tgtd',
      async run(dryRun) {
        if (dryRun) return (await tgtdRunning(ctx, c.tgtd, signal)) ? planned(`stop tgtd -C ${c.tgtd.controlPort} (${c.stopGraceMs} ms per step)`) : already('not running');
        const s = await stopTgtd(ctx, c.tgtd, c.stopGraceMs, signal);
        return s.changed ? done(`stopped (${s.how})`) : already('not running');
      },
    },
    ...[...c.resources].reverse().map(
      (r): Step => ({
        name: `drbd-secondary:${r}`,
        async run(dryRun) {
          const { state } = await resourceState(ctx, r, signal);
          if (state.role !== 'Primary') return already(state.role || 'not Primary');
          const res = await demote(ctx, r, signal, dryRun);
          return dryRun ? planned(res.commands.join('; ')) : done('Secondary');
        },
      }),
    ),
    // A switchover's portal block (handover.ts): with the address gone it has nothing left to block.
    portalOpenStep(ctx, c, signal),
  ];
}

/**
 * What a role assertion locks (the same keys as the single-resource RPCs): one role change at a
 * time per agent, and no DRBD, tgtd or floating-IP call on its resources in between its steps.
 */
export function storageLockKeys(c: StorageConfig): string[] {
  return ['storage-role', ...c.resources.map((r) => `drbd:${r}`), `tgtd:${c.tgtd.controlPort}`, `ip:${c.ip.address}`];
}

/**
 * Runs the steps of a role change in order; stops at the first failure and names it, steps after
 * it are reported as skipped. Unless it is a dry run, an intent record (role, spec without the
 * secret, the step under way, the steps that changed something) is kept under the agent's state
 * dir while the steps run, so a crash in between is torn down when the agent starts again.
 */
export async function runRoleSteps(ctx: AgentContext, role: StorageRole, spec: StorageSpec | undefined, steps: readonly Step[], dryRun: boolean, signal?: AbortSignal, handover = ''): Promise<AssertStorageRoleResponse> {
  // Every record is written without fsync (intent-journal.ts, `durable`): it describes runtime
  // state (DRBD role, tgtd, floating IP) that a host crash loses anyway (rule 9: the agent
  // re-asserts the role after a boot), so it only has to outlive the agent's process, which the
  // temp file and rename give. Issue 11: with an fsync per write (13 for a promotion) a failover's
  // promotion took 18.4 s at load 12 in the lab, 8.4 s of it outside the steps, in the journal.
  // A handover phase (handover.ts) keeps one record, written before its first step and never
  // updated: not even a rename between its steps, which run inside the I/O gap.
  const journal = dryRun || spec === undefined || steps.length === 0 ? null : await beginStorageRole(ctx, role, spec, steps[0]!.name, handover === '' ? { durable: false } : { durable: false, changed: [`(handover ${handover})`] });
  const out: RoleStep[] = [];
  let failed = '';
  try {
    for (const step of steps) {
      if (failed !== '') {
        out.push({ name: step.name, outcome: StepOutcome.STEP_OUTCOME_SKIPPED, detail: `not reached: ${failed} failed`, errorCode: '', durationMs: 0 });
        continue;
      }
      // Written only until a step has changed something: until then the record names the step
      // under way (a master re-assertion interrupted there changed nothing and is left alone);
      // from the first change on, its non-empty `changed` alone decides the recovery (a tear-down),
      // and a rename per step (about ten file-system calls each) took 0.5-1.9 s per write in the
      // lab's loaded bench process, in line between a failover's steps (issue 11).
      if (handover === '' && journal?.intent.changed.length === 0) await journal.update({ step: step.name });
      const start = performance.now();
      try {
        const r = await step.run(dryRun);
        out.push({ name: step.name, outcome: r.outcome, detail: r.detail, errorCode: '', durationMs: Math.round(performance.now() - start) });
        if (journal !== null && handover === '' && r.outcome === StepOutcome.STEP_OUTCOME_DONE && journal.intent.changed.length === 0) await journal.update({ changed: [step.name] });
      } catch (err) {
        signal?.throwIfAborted();
        failed = step.name;
        out.push({
          name: step.name,
          outcome: StepOutcome.STEP_OUTCOME_FAILED,
          detail: err instanceof Error ? err.message : String(err),
          errorCode: err instanceof XsctlError ? err.code : 'INTERNAL',
          durationMs: Math.round(performance.now() - start),
        });
      }
    }
  } finally {
    // Finished (even with a failed step, which the caller sees and decides on): nothing to recover.
    await journal?.done();
  }
  const result: AssertStorageRoleResponse = {
    role,
    steps: out,
    ok: failed === '',
    failedStep: failed,
    unchanged: out.every((s) => s.outcome === StepOutcome.STEP_OUTCOME_ALREADY),
    floatingIpAnsweredBy: [],
  };
  ctx.logger.info({ role: StorageRole[role], ok: result.ok, failedStep: failed || undefined, dryRun, steps: out.map((s) => `${s.name}=${StepOutcome[s.outcome].replace('STEP_OUTCOME_', '')}`) }, 'storage role asserted');
  return result;
}

/** Rule 5: bring-up DRBD Primary -> target/LUN -> floating IP -> GARP; tear-down the reverse. */
export async function assertRole(ctx: AgentContext, role: StorageRole, spec: StorageSpec | undefined, dryRun: boolean, signal?: AbortSignal, dadProbes?: DadProbesOf): Promise<AssertStorageRoleResponse> {
  if (role !== StorageRole.STORAGE_ROLE_MASTER && role !== StorageRole.STORAGE_ROLE_SLAVE) throw new ValidationError('role', 'expected master or slave');
  const c = normalizeStorageSpec(spec, ctx);
  const run = () => runRoleSteps(ctx, role, spec, role === StorageRole.STORAGE_ROLE_MASTER ? masterSteps(ctx, c, signal, dadProbes) : slaveSteps(ctx, c, signal), dryRun, signal);
  return resourceLocks(ctx.root.root).with(storageLockKeys(c), `storage role ${StorageRole[role]}`, signal, run);
}
