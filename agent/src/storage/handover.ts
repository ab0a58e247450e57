import { ValidationError } from '@xsctl/common/errors/index';
import { signalWithin } from '@xsctl/common/signals/index';
import { StepOutcome, StorageHandover, StorageRole, type AssertStorageRoleResponse, type StorageSpec } from '@xsctl/proto/gen/xsctl/agent/v1/storage';
import { drbdadm, promote } from '../drbd/drbd-ops.js';
import { drbdadmArgs } from '../drbd/drbdadm-args.js';
import { announceFloatingIp } from '../network/floating-ip.js';
import { stopGarpBurst } from '../network/garp-burst.js';
import type { AgentContext } from '../server/agent-context.js';
import { resourceLocks } from '../server/resource-locks.js';
import { addLun, defineOfflineTarget, setTargetState, showTargets, startTgtd, tgtdRunning, withdrawTarget } from '../target/tgt-ops.js';
import { normalizeStorageSpec, runRoleSteps, storageLockKeys, type Step, type StorageConfig } from './assert-role.js';
import { ISCSI_PORT, blockPortal, openPortal, portalBlocked } from './portal-block.js';

const already = (detail: string) => ({ outcome: StepOutcome.STEP_OUTCOME_ALREADY as const, detail });
const done = (detail: string) => ({ outcome: StepOutcome.STEP_OUTCOME_DONE as const, detail });

export const portalOpenStep = (ctx: AgentContext, c: StorageConfig, signal?: AbortSignal): Step => ({
  name: 'portal-open',
  async run() {
    const n = await openPortal(ctx, c.ip, signal);
    return n === 0 ? already('no portal block') : done(`portal block removed (${n})`);
  },
});

/** The MACs in arping's reply lines ("Unicast reply from 10.0.0.1 [52:54:00:12:34:56]  0.6ms"). */
export function parseArpingReplies(text: string): string[] {
  const macs = new Set<string>();
  for (const m of text.matchAll(/reply from \S+ \[([0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5})\]/g)) macs.add(m[1]!.toLowerCase());
  return [...macs].sort();
}

function prepareSteps(ctx: AgentContext, c: StorageConfig, answeredBy: string[], signal?: AbortSignal): Step[] {
  return [
    portalOpenStep(ctx, c, signal),
    {
      name: 'tgtd',
      async run() {
        if (await tgtdRunning(ctx, c.tgtd, signal)) return already(`running on control port ${c.tgtd.controlPort}`);
        return done(`started, pid ${(await startTgtd(ctx, c.tgtd, signal)).pid}`);
      },
    },
    {
      // The target without its LUNs (the backing store is the Secondary DRBD device, which the
      // kernel will not open), offline: nothing is served from here before DRBD Primary (rule 5).
      name: 'target-offline',
      async run() {
        const shown = await showTargets(ctx, c.tgtd, signal);
        const t = shown.targets.find((x) => x.tid === c.target.tid);
        if (t === undefined) {
          await defineOfflineTarget(ctx, c.tgtd, c.target, signal);
          return done(`tid ${c.target.tid} defined, offline`);
        }
        if (t.state === 'offline') return already(`tid ${c.target.tid} defined, offline`);
        await setTargetState(ctx, c.tgtd, c.target.tid, 'offline', signal);
        return done(`tid ${c.target.tid} was defined, offline`);
      },
    },
    {
      // Not a duplicate address probe (arping -D stops at the first reply): every host that
      // answers for the address within 2 probes, so the controller can check it is the peer alone.
      name: 'who-answers',
      async run() {
        const r = await ctx.runner.run('arping', ['-c', '2', '-w', '3', '-I', c.ip.iface, c.ip.address], { signal, timeoutMs: 10_000, okExitCodes: [1] });
        answeredBy.push(...parseArpingReplies(r.stdout));
        return already(answeredBy.length === 0 ? `nobody answers for ${c.ip.address}` : `${c.ip.address} answered by ${answeredBy.join(', ')}`);
      },
    },
  ];
}

/**
 * The old master lets go. Rule 5's tear-down, with the portal's block as the floating IP's first
 * half: from it on no new login reaches this host, the target goes (its sessions are reset while
 * this host still holds the address, so the reset reaches the initiators at once instead of their
 * next NOP-out), then the address, then DRBD Secondary. One spawn per change, no `show` first
 * (each is idempotent by exit code), each bounded (rule 6: the target's withdrawal by stopGraceMs).
 */
function releaseSteps(ctx: AgentContext, c: StorageConfig, signal?: AbortSignal): Step[] {
  return [
    {
      name: 'portal-block',
      async run() {
        if (await portalBlocked(ctx, c.ip, signal)) return already('new logins to the portal already dropped');
        await blockPortal(ctx, c.ip, signal);
        return done(`new logins to ${c.ip.address}:${ISCSI_PORT} dropped`);
      },
    },
    {
      name: 'target',
      async run() {
        // Rule 6's bound as a held timer: an AbortSignal.timeout() inside AbortSignal.any() is lost
        // to a gc() on Node 20 (signalWithin).
        const { signal: s, release } = signalWithin(signal, c.stopGraceMs, `target withdrawal past ${c.stopGraceMs} ms`);
        const r = await withdrawTarget(ctx, c.tgtd, c.target.tid, s).finally(release);
        return r === 'absent' ? already(`no tid ${c.target.tid}`) : done(`tid ${c.target.tid} withdrawn (sessions reset)`);
      },
    },
    {
      name: 'floating-ip',
      async run() {
        // A bring-up's GARP burst still under way (garp-burst.ts) stops before the address goes.
        await stopGarpBurst(ctx, c.ip);
        // iproute exits 2 when the address is not here.
        const r = await ctx.runner.run('ip', ['addr', 'del', `${c.ip.address}/${c.ip.prefixLength}`, 'dev', c.ip.iface], { signal, timeoutMs: 10_000, okExitCodes: [2] });
        return r.exitCode === 2 ? already(`${c.ip.address} not here`) : done(`${c.ip.address} removed`);
      },
    },
    ...[...c.resources].reverse().map(
      (r): Step => ({
        name: `drbd-secondary:${r}`,
        // `drbdadm secondary` on a Secondary succeeds and changes nothing: one spawn, no read before.
        run: async () => (await drbdadm(ctx, r, drbdadmArgs.secondary(r), signal), done('Secondary')),
      }),
    ),
  ];
}

/** The prepared peer takes over: rule 5's bring-up with what PREPARE left (tgtd, offline target). */
function takeSteps(ctx: AgentContext, c: StorageConfig, signal?: AbortSignal): Step[] {
  const tid = String(c.target.tid);
  return [
    ...c.resources.map(
      (r): Step => ({
        name: `drbd-primary:${r}`,
        async run() {
          // promote(): rule 1 (UpToDate) and rule 4 (peer not Primary) checked on a fresh read.
          const res = await promote(ctx, r, c.peerSafety, signal, false, false);
          return res.changed ? done(`Primary (${res.state?.disk}/${res.state?.peerDisk}, ${res.state?.connection})`) : already('Primary');
        },
      }),
    ),
    ...c.target.luns.map(
      (l): Step => ({
        name: `lun:${l.lun}`,
        async run() {
          // Rule 7: the same identity as the peer exported, before the target is ready.
          await addLun(ctx, c.tgtd, c.target.tid, l, signal, 10_000);
          return done(`LUN ${l.lun} ${l.scsiSn}`);
        },
      }),
    ),
    {
      name: 'target-ready',
      run: async () => (await setTargetState(ctx, c.tgtd, c.target.tid, 'ready', signal), done(`tid ${tid} ready`)),
    },
    // No portal-open here: PREPARE removed any block moments before, and only a RELEASE on this
    // host inserts one, which the one workflow per pool does not run in between.
    {
      name: 'floating-ip',
      async run() {
        // iproute exits 2 ("File exists") when the address is here already.
        const r = await ctx.runner.run('ip', ['addr', 'add', `${c.ip.address}/${c.ip.prefixLength}`, 'dev', c.ip.iface], { signal, timeoutMs: 10_000, okExitCodes: [2] });
        return r.exitCode === 2 ? already(`${c.ip.address} here`) : done(`${c.ip.address}/${c.ip.prefixLength} on ${c.ip.iface}`);
      },
    },
    {
      name: 'garp',
      run: async () => done(`${await announceFloatingIp(ctx, c.ip, signal)} gratuitous ARPs`),
    },
  ];
}

/**
 * One phase of a planned switchover (StorageHandover), under the same lock and intent journal as
 * a role assertion: an agent that dies half-way tears down to slave at its next start.
 */
export async function runHandover(ctx: AgentContext, role: StorageRole, handover: StorageHandover, spec: StorageSpec | undefined, dryRun: boolean, signal?: AbortSignal): Promise<AssertStorageRoleResponse> {
  const phases = [StorageHandover.STORAGE_HANDOVER_PREPARE, StorageHandover.STORAGE_HANDOVER_RELEASE, StorageHandover.STORAGE_HANDOVER_TAKE];
  if (!phases.includes(handover)) throw new ValidationError('handover', 'expected prepare, release or take');
  const wantRole = handover === StorageHandover.STORAGE_HANDOVER_RELEASE ? StorageRole.STORAGE_ROLE_SLAVE : StorageRole.STORAGE_ROLE_MASTER;
  if (role !== wantRole) throw new ValidationError('role', `${StorageHandover[handover]} goes with ${StorageRole[wantRole]}`);
  if (dryRun) throw new ValidationError('dryRun', 'a handover phase has no dry run; dry-run the role assertion instead');
  const c = normalizeStorageSpec(spec, ctx);
  const answeredBy: string[] = [];
  const steps = handover === StorageHandover.STORAGE_HANDOVER_PREPARE ? prepareSteps(ctx, c, answeredBy, signal) : handover === StorageHandover.STORAGE_HANDOVER_RELEASE ? releaseSteps(ctx, c, signal) : takeSteps(ctx, c, signal);
  const r = await resourceLocks(ctx.root.root).with(storageLockKeys(c), `storage handover ${StorageHandover[handover]}`, signal, () => runRoleSteps(ctx, role, spec, steps, false, signal, StorageHandover[handover]));
  return { ...r, floatingIpAnsweredBy: answeredBy };
}
