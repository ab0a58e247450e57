import pMap from 'p-map';
import { xapiTransportOf, type PoolConfig } from '../../config/inventory.js';
import { buildPoolModel, noAnswers, readPoolRecords } from '../../pool-model/index.js';
import { emergencyTransitionToMaster, XapiClient } from '../../xapi/index.js';
import type { WorkflowContext } from '../engine/workflow-engine.js';
import { declareFencedHostDead } from './declare-fenced-host-dead.js';
import { placeRestarts } from './restart-placement.js';
import { retry } from './retry.js';
import type { StorageHost } from './storage-pool.js';

/** The survivor's own XAPI URL: the pool's URL with the host's address. */
function hostUrl(pool: PoolConfig, h: StorageHost): string {
  const u = new URL(pool.xapi.url);
  u.hostname = h.address.includes(':') ? `[${h.address}]` : h.address;
  return u.origin;
}

/**
 * A failover's XAPI recovery, once the storage is served again, in xapi's order (issue 11):
 * pool.emergency_transition_to_master on the survivor when the dead host was the pool master,
 * pool.recover_slaves, then only when `fencedByPower` (a live domain would otherwise run twice):
 * host.declare_dead for the dead host, VM.power_state_reset for its Running/Paused VMs (already
 * Halted by declare_dead: a no-op then, the only reset on a pre-2.0 xapi), then VM.start_on for
 * those VMs. Without a power fence the VMs are left as XAPI sees them, with a warning.
 *
 * Neither call waits for host_metrics.live to fall (xapi sets it false 600 s after the last
 * heartbeat, db_gc.ml): both ask the host while it is marked live (xapi_host.ml is_host_alive)
 * and go on when it does not answer, as a powered-off host does not.
 */
export async function recoverXapi(w: WorkflowContext, pool: PoolConfig, p: { failed: StorageHost; survivor: StorageHost }, fencedByPower: boolean): Promise<void> {
  const signal = w.signal;
  const open = () => XapiClient.connect({ url: hostUrl(pool, p.survivor), user: pool.xapi.user, password: pool.xapi.password, ...xapiTransportOf(pool), signal });
  if (p.failed.isMaster) {
    await w.step('xapi:emergency-transition', {
      host: p.survivor.name,
      check: async () => {
        const x = await open().catch(() => null);
        if (x === null) return undefined;
        try {
          return [...(await x.getAllRecords('pool', { signal })).values()][0]?.master === p.survivor.ref ? { master: p.survivor.name } : undefined;
        } finally {
          await x.close();
        }
      },
      run: async () => {
        await emergencyTransitionToMaster({ hostUrl: hostUrl(pool, p.survivor), user: pool.xapi.user, password: pool.xapi.password, ...xapiTransportOf(pool), signal });
        return { master: p.survivor.name };
      },
    });
  }
  const xapi = await retry(open, signal);
  try {
    await w.step('xapi:recover-slaves', { run: async () => ({ recovered: await xapi.callAsync('pool.recover_slaves', [], { signal }) }) });
    const vms = await w.step('xapi:vms', {
      run: async () =>
        [...(await xapi.getAllRecords('VM', { signal })).entries()]
          .filter(([, v]) => v.resident_on === p.failed.ref && !v.is_control_domain && (v.power_state === 'Running' || v.power_state === 'Paused'))
          .map(([ref, v]) => ({ ref: ref as string, uuid: v.uuid, name: v.name_label })),
    });
    // Only a proven-fenced host's VMs may be declared halted: a live domain would run twice.
    if (fencedByPower) {
      // After the VM list (declare_dead halts them and clears resident_on), before any reset.
      const declared = await w.step('xapi:declare-dead', { host: p.failed.name, run: () => declareFencedHostDead(xapi, p.survivor, p.failed, signal) });
      if (declared.declaredDead === false) w.logger.warn({ pool: w.pool, host: p.failed.name, apiVersion: declared.apiVersion }, 'xapi predates host.declare_dead (API 2.0): resetting the VMs only');
      // Every reset before any start (xapi's order), then the starts side by side, at most
      // vmStartConcurrency at once: each VM.start_on runs as its own task on the master, and one
      // after another a host's VMs came back one boot time apart (30 s each in the simulator).
      await settleAll(vms, (vm) => w.step(`xapi:reset:${vm.uuid}`, { host: p.failed.name, intent: { vm: vm.name }, run: async () => (await xapi.callAsync('VM.power_state_reset', [vm.ref as never], { signal }), { reset: vm.name }) }));
      const placement = await w.step('xapi:place', {
        run: async () => placeRestarts(buildPoolModel({ records: await readPoolRecords(xapi, signal), answers: noAnswers }), vms.map((v) => v.ref), p.failed.ref),
      });
      for (const u of placement.unplaced) {
        w.emit('warning', { message: `${u.vmName} of ${p.failed.name} not started: ${u.reason}` });
        w.logger.error({ pool: w.pool, vm: u.vmName, reason: u.reason }, 'FAILOVER: VM left Halted');
      }
      const uuidOf = new Map(vms.map((v) => [v.ref, v.uuid]));
      await settleAll(placement.placed, (pl) =>
        w.step(`xapi:start:${uuidOf.get(pl.vm) ?? pl.vm}`, {
          host: pl.hostName,
          intent: { vm: pl.vmName, on: pl.hostName },
          check: async () => ((await xapi.getRecord('VM', pl.vm as never, { signal })).power_state === 'Running' ? { started: pl.vmName, on: pl.hostName } : undefined),
          run: async () => (await xapi.callAsync('VM.start_on', [pl.vm as never, pl.host as never, false, false], { signal }), { started: pl.vmName, on: pl.hostName }),
        }),
      );
    } else if (vms.length > 0) {
      w.emit('warning', { message: `${vms.length} VMs of ${p.failed.name} left as XAPI sees them: ${p.failed.name} was not fenced by power, so VM.power_state_reset is not safe; check the host, then reset them` });
    }
  } finally {
    await xapi.close().catch(() => undefined);
  }
}

/** How many VM.power_state_reset / VM.start_on calls a failover has in flight at once. */
const vmStartConcurrency = 4;

/**
 * Runs `fn` over every item, at most vmStartConcurrency at once; one failure does not stop the
 * others (each VM is its own step), and the first failure is thrown once all have ended.
 */
async function settleAll<T>(items: readonly T[], fn: (item: T) => Promise<unknown>): Promise<void> {
  const results = await pMap(items, (item) => fn(item).then(() => null, (err: unknown) => ({ err })), { concurrency: vmStartConcurrency });
  const failed = results.find((r) => r !== null);
  if (failed !== undefined && failed !== null) throw failed.err;
}
