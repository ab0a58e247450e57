import { setTimeout as sleep } from 'node:timers/promises';
import type { StorageStatus } from '@xsctl/proto/gen/xsctl/agent/v1/storage';
import type { PoolConfig } from '../../config/inventory.js';
import type { ControllerContext } from '../../server/controller-context.js';
import type { CompensationContext, WorkflowContext } from '../engine/workflow-engine.js';
import { checkSwitchover, statusOf, storageHosts } from './storage-pool.js';
import { StorageRoleChangeRefusedError } from './storage-workflow-errors.js';
import { compensateStorage, switchStorage } from './switchover-workflow.js';

/**
 * The rolling upgrade's one seam into two-node storage (issue 11): a pool whose storage is
 * served by its own hosts (a `storage:` section) must never lose it to an upgrade reboot.
 *
 * - precheck: HA-Lizard would promote, demote and fence on its own while hosts reboot; the
 *   upgrade refuses while it manages the pool, and says how to stop it (`ha-cfg ha-disable`).
 * - beforeHostDown: before a host is disabled, evacuated or rebooted, if it serves the storage,
 *   the storage moves to its peer (the switchover's steps, journaled in the upgrade workflow).
 * - afterHostUp: once the host is back, the storage moves back to it when the plan says
 *   `switch-back` (the default), once its copy is UpToDate and Connected again; `stay` leaves it.
 * - compensate: the switchover's compensation (put the old master back if a promotion failed).
 *
 * Nothing here knows how the rolling upgrade is built: it is given the workflow context and the
 * host; the upgrade decides where the calls go (around its disable/evacuate/reboot/enable steps).
 */
export interface UpgradeHost {
  uuid: string;
  name: string;
}

export interface StorageUpgradeFinding {
  check: 'ha-lizard';
  host: string;
  severity: 'blocker' | 'warning';
  message: string;
}

export interface StorageUpgradeHook {
  precheck(pool: PoolConfig, signal: AbortSignal): Promise<StorageUpgradeFinding[]>;
  beforeHostDown(w: WorkflowContext, pool: PoolConfig, host: UpgradeHost): Promise<void>;
  afterHostUp(w: WorkflowContext, pool: PoolConfig, host: UpgradeHost): Promise<void>;
  compensate(name: string, args: Record<string, unknown>, c: CompensationContext): Promise<boolean>;
}

export interface StorageUpgradeOptions {
  /** After the old storage master is back: move the storage back to it, or leave it on the peer. */
  afterHost: 'switch-back' | 'stay';
  /** How long to wait for the rebooted host's DRBD copy to be UpToDate and Connected. */
  resyncTimeoutMs: number;
}

/** HA-Lizard's pool-wide switch, as its installer and `ha-cfg` keep it (a XenCenter custom field). */
export const HA_LIZARD_POOL_KEY = 'XenCenter.CustomFields.ha-lizard-enabled';
const WAY_OUT = 'disable it first: `ha-cfg ha-disable` on any pool member (and `service iscsi-ha stop` on both hosts), then run the upgrade; enable it again afterwards with `ha-cfg ha-enable`';

/** Pure: the findings from XAPI's pool other_config and each host's storage status. */
export function haLizardFindings(poolName: string, otherConfig: Readonly<Record<string, string>>, statuses: ReadonlyArray<{ host: string; status: StorageStatus | null }>): StorageUpgradeFinding[] {
  const out: StorageUpgradeFinding[] = [];
  const flag = otherConfig[HA_LIZARD_POOL_KEY];
  if (flag !== undefined && /^(true|1|yes)$/i.test(flag.trim())) {
    out.push({ check: 'ha-lizard', host: '', severity: 'blocker', message: `HA-Lizard manages pool ${poolName} (pool other-config ${HA_LIZARD_POOL_KEY}=${flag}): it would fail over and fence on its own while hosts reboot; ${WAY_OUT}` });
  }
  for (const { host, status } of statuses) {
    if (status === null) continue;
    if (status.haProcessesRunning.length > 0) {
      out.push({ check: 'ha-lizard', host, severity: 'blocker', message: `${status.haProcessesRunning.join(' and ')} running on ${host}: it would promote or demote DRBD during the upgrade; ${WAY_OUT}` });
    } else if (status.haLizardInstalled) {
      out.push({ check: 'ha-lizard', host, severity: 'warning', message: `HA-Lizard is installed on ${host} (/etc/ha-lizard) but neither enabled for the pool nor running: keep it so until the upgrade ends` });
    }
  }
  return out;
}

export function storageUpgradeHook(ctx: ControllerContext, options: StorageUpgradeOptions = { afterHost: 'switch-back', resyncTimeoutMs: 30 * 60_000 }): StorageUpgradeHook {
  const key = (h: UpgradeHost) => `storage:${h.uuid}`;
  return {
    async precheck(pool, signal) {
      const xapi = await ctx.openXapi(pool, { readOnly: true, signal });
      let otherConfig: Record<string, string>;
      try {
        otherConfig = [...(await xapi.getAllRecords('pool', { signal })).values()][0]?.other_config ?? {};
      } finally {
        await xapi.close().catch(() => undefined);
      }
      const statuses = pool.storage === undefined ? [] : await Promise.all((await storageHosts(ctx, pool, signal)).map(async (h) => ({ host: h.name, status: await statusOf(ctx, pool, h, signal).catch(() => null) })));
      return haLizardFindings(pool.name, otherConfig, statuses);
    },

    async beforeHostDown(w, pool, host) {
      if (pool.storage === undefined) return;
      const served = await w.step(`${key(host)}:serves`, {
        host: host.name,
        run: async () => {
          const hosts = await storageHosts(ctx, pool, w.signal);
          const me = hosts.find((h) => h.uuid === host.uuid);
          if (me === undefined) return { serves: false, peer: '' };
          const peer = hosts.find((h) => h.uuid !== host.uuid);
          return { serves: (await statusOf(ctx, pool, me, w.signal)).apparentRole !== 'slave', peer: peer?.name ?? '' };
        },
      });
      if (!served.serves) return;
      w.emit('progress', { phase: 'storage', message: `${host.name} serves the pool's storage: switching it over to ${served.peer} before the reboot` });
      await switchStorage(ctx, w, pool, served.peer, `${key(host)}:away:`);
    },

    async afterHostUp(w, pool, host) {
      if (pool.storage === undefined || options.afterHost === 'stay') return;
      if (w.outcome<{ serves: boolean }>(`${key(host)}:serves`)?.serves !== true) return;
      const name = w.outcome<{ from: { name: string } }>(`${key(host)}:away:check`)?.from.name ?? host.name;
      // The rebooted host's agent brought DRBD up as Secondary; it resyncs from the peer first.
      await w.step(`${key(host)}:resynced`, {
        host: name,
        run: async () => {
          const end = Date.now() + options.resyncTimeoutMs;
          for (;;) {
            try {
              await checkSwitchover(ctx, pool, name, w.signal);
              return { ready: true };
            } catch (err) {
              const waiting = err instanceof StorageRoleChangeRefusedError && (err.reason === 'peer-not-up-to-date' || err.reason === 'peer-not-connected');
              if (!waiting || Date.now() > end) throw err;
              await sleep(5_000, undefined, { signal: w.signal });
            }
          }
        },
      });
      await switchStorage(ctx, w, pool, name, `${key(host)}:back:`);
    },

    compensate: (name, args, c) => compensateStorage(ctx, name, args, c),
  };
}

/**
 * The hook as two stages of a host's turn in the rolling upgrade, typed by shape only (the
 * upgrade's HostStage: `{ name, run(h) }` with `h.run.ctx` the workflow and `h.host` the host):
 * `before` goes ahead of the host's disable, `after` behind its enable.
 */
export interface StorageHostStage {
  readonly name: string;
  run(h: { run: { ctx: WorkflowContext }; host: UpgradeHost }): Promise<void>;
}

export function storageHostStages(ctx: ControllerContext, hook: StorageUpgradeHook): { before: StorageHostStage; after: StorageHostStage } {
  const host = (h: { host: UpgradeHost }) => ({ uuid: h.host.uuid, name: h.host.name });
  return {
    before: { name: 'storage-away', run: (h) => hook.beforeHostDown(h.run.ctx, ctx.pool(h.run.ctx.pool), host(h)) },
    after: { name: 'storage-back', run: (h) => hook.afterHostUp(h.run.ctx, ctx.pool(h.run.ctx.pool), host(h)) },
  };
}
