import { StorageRole } from '@xsctl/proto/gen/xsctl/agent/v1/storage';
import type { ControllerContext } from '../../server/controller-context.js';
import type { WorkflowContext, WorkflowKind } from '../engine/workflow-engine.js';
import { reassertPlan } from './reassert-decision.js';
import { assertRoleOn, statusOf, storageConfigOf, type StorageHost } from './storage-pool.js';
import { verifyFromInitiator } from './verify-initiator.js';

export const STORAGE_REASSERT = 'storage-reassert';

export interface ReassertParams {
  /** The self-fenced master the role goes back to. */
  host: StorageHost;
  peer: StorageHost;
  reason: string;
}

/**
 * The witness puts the master role back on a master that fenced itself while its links were cut,
 * once the pair is healed (reassert-decision.ts; docs/storage-safety-rules.md): check both hosts
 * now (no split brain, nobody serving, Connected and UpToDate on both sides) -> a full master
 * assertion on the host (DRBD Primary through the promotion guard, which sees the Connected peer's
 * role: rule 4; target with the same identity; floating IP after its duplicate-address probe; GARP:
 * rule 5) -> verify as an initiator. No fence, no failover reason: the peer is alive and stays the
 * slave, as in a switchover's promotion; the pool master is untouched (the self-fence did not move
 * it). Journaled like the others: one workflow per pool, resumable (each step asks first).
 */
export function reassertKind(ctx: ControllerContext): WorkflowKind {
  return {
    kind: STORAGE_REASSERT,
    run: (w) => runReassert(ctx, w),
    compensate: async () => undefined,
  };
}

async function runReassert(ctx: ControllerContext, w: WorkflowContext): Promise<unknown> {
  const p = w.params as ReassertParams;
  const pool = ctx.pool(w.pool);
  const storage = storageConfigOf(pool);
  const signal = w.signal;
  await w.step('check', {
    run: async () => {
      const hosts = await Promise.all([p.host, p.peer].map(async (h) => ({ name: h.name, status: await statusOf(ctx, pool, h, signal) })));
      reassertPlan(hosts, p.host.name);
      return { drbd: hosts.map((h) => `${h.name}:${h.status.drbd.map((d) => `${d.name}:${d.role}/${d.disk}/${d.connection}`).join(',')}`) };
    },
  });
  const promoted = await w.step(`promote:${p.host.name}`, {
    host: p.host.name,
    run: async () => ({ ...(await assertRoleOn(ctx, pool, p.host, StorageRole.STORAGE_ROLE_MASTER, signal)), at: new Date().toISOString() }),
  });
  const verified = await w.step('verify', { run: async () => ({ ...(await verifyFromInitiator(storage, signal)), at: new Date().toISOString() }) });
  // from = to: the role comes back to the host that fenced itself (xsctl storage witness: 'last reassert: xs1 -> xs1').
  return { pool: w.pool, from: p.host.name, to: p.host.name, reason: p.reason, promoted, verified };
}
