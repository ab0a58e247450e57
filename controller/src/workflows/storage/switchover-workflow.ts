import { StorageRole } from '@xsctl/proto/gen/xsctl/agent/v1/storage';
import type { ControllerContext } from '../../server/controller-context.js';
import type { CompensationContext, WorkflowContext, WorkflowKind } from '../engine/workflow-engine.js';
import { assertRoleOn, checkSwitchover, statusOf, storageConfigOf, type StorageHost } from './storage-pool.js';
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
 * check (peer UpToDate and Connected, no split brain) -> demote the master (rule 6: floating IP,
 * target, tgtd, DRBD Secondary, bounded) -> promote the peer (rule 5: DRBD Primary, target with
 * the same SCSI identity, IP, GARP) -> verify as an initiator -> hand the pool master role over
 * when the pool couples it with the storage (pool.designate_new_master, as iSCSI-HA's design wants).
 * If the promotion fails, the compensation puts the old master back.
 */
export function switchoverKind(ctx: ControllerContext): WorkflowKind {
  return {
    kind: STORAGE_SWITCHOVER,
    run: (w) => runSwitchover(ctx, w),
    compensate: (name, args, c) => compensate(ctx, name, args, c),
  };
}

async function runSwitchover(ctx: ControllerContext, w: WorkflowContext): Promise<unknown> {
  const params = w.params as SwitchoverParams;
  const pool = ctx.pool(w.pool);
  const storage = storageConfigOf(pool);
  const signal = w.signal;
  const plan = await w.step('check', {
    run: async () => {
      const p = await checkSwitchover(ctx, pool, params.to, signal);
      return { from: p.from, to: p.to };
    },
  });
  const roleOf = async (h: StorageHost) => (await statusOf(ctx, pool, h, signal)).apparentRole;
  const started = performance.now();
  await w.step(`demote:${plan.from.name}`, {
    host: plan.from.name,
    check: async () => ((await roleOf(plan.from)) === 'slave' ? { steps: ['(found slave)'] } : undefined),
    run: (io) => {
      io.progress({ phase: 'demote', message: `${plan.from.name}: floating IP, target, tgtd, DRBD Secondary` });
      return assertRoleOn(ctx, pool, plan.from, StorageRole.STORAGE_ROLE_SLAVE, signal);
    },
    compensation: () => ({ name: `restore-master:${plan.from.name}`, args: { from: plan.from, to: plan.to } }),
  });
  await w.step(`promote:${plan.to.name}`, {
    host: plan.to.name,
    check: async () => ((await roleOf(plan.to)) === 'master' ? { steps: ['(found master)'] } : undefined),
    run: (io) => {
      io.progress({ phase: 'promote', message: `${plan.to.name}: DRBD Primary, target, floating IP, GARP` });
      return assertRoleOn(ctx, pool, plan.to, StorageRole.STORAGE_ROLE_MASTER, signal);
    },
    releases: [`restore-master:${plan.from.name}`],
  });
  const servedMs = Math.round(performance.now() - started);
  const verified = await w.step('verify', { run: () => verifyFromInitiator(storage, signal) });
  if (storage.couplePoolMaster) {
    await w.step('designate-master', {
      host: plan.to.name,
      check: async () => {
        const xapi = await ctx.openXapi(pool, { readOnly: true, signal });
        try {
          const pools = await xapi.getAllRecords('pool', { signal });
          return [...pools.values()][0]?.master === plan.to.ref ? { designated: true } : undefined;
        } finally {
          await xapi.close();
        }
      },
      run: async () => {
        const xapi = await ctx.openXapi(pool, { readOnly: false, signal });
        try {
          const pools = await xapi.getAllRecords('pool', { signal });
          if ([...pools.values()][0]?.master === plan.to.ref) return { designated: false, note: 'already the pool master' };
          await xapi.callAsync('pool.designate_new_master', [plan.to.ref as never], { signal });
          return { designated: true };
        } finally {
          await xapi.close().catch(() => undefined);
        }
      },
    });
  }
  return { pool: w.pool, from: plan.from.name, to: plan.to.name, reason: params.reason, servedMs, verified };
}

async function compensate(ctx: ControllerContext, name: string, args: Record<string, unknown>, c: CompensationContext): Promise<void> {
  if (!name.startsWith('restore-master:')) throw new Error(`unknown compensation ${name}`);
  const pool = ctx.pool(c.pool);
  const from = args['from'] as StorageHost;
  const to = args['to'] as StorageHost;
  // The peer may hold part of the master role: take it down first (rule 4), then bring the old master back.
  await assertRoleOn(ctx, pool, to, StorageRole.STORAGE_ROLE_SLAVE, c.signal);
  await assertRoleOn(ctx, pool, from, StorageRole.STORAGE_ROLE_MASTER, c.signal);
  c.emit('storage-restored', { host: from.name });
}
