import { StorageHandover, StorageRole } from '@xsctl/proto/gen/xsctl/agent/v1/storage';
import type { PoolConfig } from '../../config/inventory.js';
import type { ControllerContext } from '../../server/controller-context.js';
import type { CompensationContext, WorkflowContext, WorkflowKind } from '../engine/workflow-engine.js';
import { assertRoleOn, checkFloatingIpAnswers, checkSwitchover, statusOf, storageConfigOf, type StorageHost } from './storage-pool.js';
import { StorageRoleFailedError } from './storage-workflow-errors.js';
import { verifyFromInitiator } from './verify-initiator.js';

export const STORAGE_SWITCHOVER = 'storage-switchover';

export interface SwitchoverParams {
  /** The host to serve from now on; empty: the other one. */
  to: string;
  reason: string;
}

/**
 * A planned switchover, journaled like the rolling upgrade (resumes after a controller crash,
 * never repeats a role change blindly: each step first asks the host what it holds):
 * check (peer UpToDate and Connected, no split brain) -> prepare the peer (tgtd, target offline
 * without LUNs, who answers for the floating IP) -> demote the master (handover RELEASE: portal
 * closed to new logins, target withdrawn with its sessions reset, floating IP, DRBD Secondary)
 * -> promote the peer (TAKE: DRBD Primary, LUNs with the same SCSI identity, ready, IP, GARP) ->
 * settle the old master (full slave assertion: tgtd stopped, rule 6) -> verify as an initiator
 * -> hand the pool master role over when the pool couples it with the storage
 * (pool.designate_new_master, as iSCSI-HA's design wants). docs/storage-safety-rules.md says how
 * each host keeps rule 5. If a step after prepare fails, the compensation puts the old master back.
 */
export function switchoverKind(ctx: ControllerContext): WorkflowKind {
  return {
    kind: STORAGE_SWITCHOVER,
    run: (w) => runSwitchover(ctx, w),
    compensate: async (name, args, c) => {
      if (!(await compensateStorage(ctx, name, args, c))) throw new Error(`unknown compensation ${name}`);
    },
  };
}

async function runSwitchover(ctx: ControllerContext, w: WorkflowContext): Promise<unknown> {
  const params = w.params as SwitchoverParams;
  const r = await switchStorage(ctx, w, ctx.pool(w.pool), params.to);
  return { pool: w.pool, from: r.from, to: r.to, reason: params.reason, servedMs: r.servedMs, verified: r.verified };
}

export interface SwitchResult {
  from: string;
  to: string;
  /** From the demotion's start to the peer serving (the I/O gap the controller caused). */
  servedMs: number;
  verified: unknown;
}

/**
 * The switchover's steps, journaled in `w` under `prefix` (empty for the switchover workflow; the
 * rolling upgrade runs them under its host's key). Compensation `restore-master:HOST` puts the old
 * master back if the promotion fails (compensateStorage handles it for any workflow kind).
 */
export async function switchStorage(ctx: ControllerContext, w: WorkflowContext, pool: PoolConfig, to: string, prefix = ''): Promise<SwitchResult> {
  const storage = storageConfigOf(pool);
  const signal = w.signal;
  const plan = await w.step(`${prefix}check`, {
    run: async () => {
      const p = await checkSwitchover(ctx, pool, to, signal);
      return { from: p.from, to: p.to, holderMac: p.holderMac };
    },
  });
  const roleOf = async (h: StorageHost) => (await statusOf(ctx, pool, h, signal)).apparentRole;
  // Before anything is taken away: the peer gets ready to serve (tgtd up, the target defined
  // offline without LUNs) and says who answers for the floating IP. Only the master may (rule 4:
  // TAKE adds the address with no duplicate-address probe, which would cost a second of the gap).
  await w.step(`${prefix}prepare:${plan.to.name}`, {
    host: plan.to.name,
    run: async (io) => {
      io.progress({ phase: 'prepare', message: `${plan.to.name}: tgtd, target offline without LUNs, who answers ${storage.spec.floatingIp?.address}` });
      const r = await assertRoleOn(ctx, pool, plan.to, StorageRole.STORAGE_ROLE_MASTER, signal, undefined, StorageHandover.STORAGE_HANDOVER_PREPARE);
      try {
        checkFloatingIpAnswers(storage.spec.floatingIp?.address ?? '', plan.from, plan.to, plan.holderMac ?? '', r.answeredBy);
      } catch (err) {
        // Nothing was served from the peer; its tgtd and offline target go again (best effort: the refusal is what matters).
        await assertRoleOn(ctx, pool, plan.to, StorageRole.STORAGE_ROLE_SLAVE, signal).catch(() => undefined);
        throw err;
      }
      return { steps: r.steps, answeredBy: r.answeredBy };
    },
    // From here on a failed step puts the old master back: slave on the peer first (its tgtd and
    // offline target go), then master on the old one (which also removes a portal block).
    compensation: () => ({ name: `restore-master:${plan.from.name}`, args: { from: plan.from, to: plan.to } }),
  });
  const started = performance.now();
  await w.step(`${prefix}demote:${plan.from.name}`, {
    host: plan.from.name,
    check: async () => ((await roleOf(plan.from)) === 'slave' ? { steps: ['(found slave)'] } : undefined),
    run: async (io) => {
      io.progress({ phase: 'demote', message: `${plan.from.name}: portal closed to new logins, target, floating IP, DRBD Secondary` });
      return handoverOrFull(StorageRole.STORAGE_ROLE_SLAVE, plan.from, StorageHandover.STORAGE_HANDOVER_RELEASE);
    },
  });
  await w.step(`${prefix}promote:${plan.to.name}`, {
    host: plan.to.name,
    check: async () => ((await roleOf(plan.to)) === 'master' ? { steps: ['(found master)'] } : undefined),
    run: (io) => {
      io.progress({ phase: 'promote', message: `${plan.to.name}: DRBD Primary, LUN, target ready, floating IP, GARP` });
      return handoverOrFull(StorageRole.STORAGE_ROLE_MASTER, plan.to, StorageHandover.STORAGE_HANDOVER_TAKE);
    },
    releases: [`restore-master:${plan.from.name}`],
  });
  const servedMs = Math.round(performance.now() - started);
  // The old master's full slave assertion: tgtd stopped (rule 6's escalation), the portal block
  // gone with the address; outside the gap, every part read again.
  await w.step(`${prefix}settle:${plan.from.name}`, {
    host: plan.from.name,
    run: () => assertRoleOn(ctx, pool, plan.from, StorageRole.STORAGE_ROLE_SLAVE, signal),
  });
  const verified = await w.step(`${prefix}verify`, { run: () => verifyFromInitiator(storage, signal) });
  if (storage.couplePoolMaster) {
    await w.step(`${prefix}designate-master`, {
      host: plan.to.name,
      check: async () => ((await masterIs(plan.to.ref)) ? { designated: true } : undefined),
      run: async () => {
        const xapi = await ctx.openXapi(pool, { readOnly: false, signal });
        try {
          const pools = await xapi.getAllRecords('pool', { signal });
          if ([...pools.values()][0]?.master === plan.to.ref) return { designated: false, note: 'already the pool master' };
          await xapi.callAsync('pool.designate_new_master', [plan.to.ref as never], { signal });
          return { designated: true };
        } catch (err) {
          // The transition restarts both xapis: watching the task on the old master can end in
          // HOST_IS_SLAVE or a dropped session although the new master took over. Ask the pool.
          if (signal.aborted || !(await masterIs(plan.to.ref))) throw err;
          return { designated: true, note: `confirmed after ${err instanceof Error ? err.message : String(err)}` };
        } finally {
          await xapi.close().catch(() => undefined);
        }
      },
    });
  }
  return { from: plan.from.name, to: plan.to.name, servedMs, verified };

  /**
   * A handover phase, and when it stops at a step the full role assertion, which reads every part
   * and changes what is left (a resumed workflow, a LUN already bound, tgtd gone). A guard's refusal
   * (DRBD not UpToDate, the peer Primary) refuses there as well and fails the step.
   */
  async function handoverOrFull(role: StorageRole, h: StorageHost, handover: StorageHandover): Promise<{ steps: string[]; fallback?: string }> {
    try {
      return { steps: (await assertRoleOn(ctx, pool, h, role, signal, undefined, handover)).steps };
    } catch (err) {
      if (signal.aborted || !(err instanceof StorageRoleFailedError)) throw err;
      const full = await assertRoleOn(ctx, pool, h, role, signal);
      return { steps: full.steps, fallback: err.message };
    }
  }

  async function masterIs(ref: string): Promise<boolean> {
    const x = await ctx.openXapi(pool, { readOnly: true, signal }).catch(() => null);
    if (x === null) return false;
    try {
      return [...(await x.getAllRecords('pool', { signal })).values()][0]?.master === ref;
    } catch {
      return false;
    } finally {
      await x.close().catch(() => undefined);
    }
  }
}

/** The switchover steps' compensations, for whichever workflow ran them; false for any other name. */
export async function compensateStorage(ctx: ControllerContext, name: string, args: Record<string, unknown>, c: CompensationContext): Promise<boolean> {
  if (!name.startsWith('restore-master:')) return false;
  const pool = ctx.pool(c.pool);
  const from = args['from'] as StorageHost;
  const to = args['to'] as StorageHost;
  // The peer may hold part of the master role: take it down first (rule 4), then bring the old master back.
  await assertRoleOn(ctx, pool, to, StorageRole.STORAGE_ROLE_SLAVE, c.signal);
  await assertRoleOn(ctx, pool, from, StorageRole.STORAGE_ROLE_MASTER, c.signal);
  c.emit('storage-restored', { host: from.name });
  return true;
}
