import type { MethodContext, MethodRegistry } from '../../method-registry.js';
import { XapiFailure } from '../../xapi-failure.js';
import { NULL_REF } from '../../xapi-value.js';
import { stringArg } from '../args.js';
import {
  bootHereError,
  currentOperations,
  hostHasHighestVersion,
  hostFreeMemory,
  matches,
  refreshMemoryFree,
  rollingUpgradeInProgress,
  simLog,
  simSleep,
  upgradeSimState,
  versionsNotDecreasing,
  vmCopiedBytes,
  vmOperationError,
  vmRequiredBytes,
} from './upgrade-sim-state.js';

/**
 * VM.pool_migrate with xapi's checks in xapi's order (message_forwarding.ml VM.pool_migrate):
 * with_vm_operation's check_operation_error (OPERATION_BLOCKED first, then VM_BAD_POWER_STATE,
 * then OTHER_OPERATION_IN_PROGRESS with its four parameters), then NOT_SUPPORTED_DURING_UPGRADE
 * only while pool.other_config:rolling_upgrade_in_progress is set and the destination's
 * platform_version, xapi_build or xen is older (Checks.Migration), then reserve_memory_for_vm's
 * assert_can_boot_here (HOST_NOT_LIVE, HOST_DISABLED, VM_REQUIRES_SR, memory). The destination's
 * memory is reserved while the VM moves (scheduled_to_be_resident_on), current_operations is
 * keyed by the call's task, and it takes setup + dynamic_max / bandwidth of simulated time. Plus
 * the power operations a rolling upgrade needs for VMs that cannot move (clean_shutdown,
 * start_on, start).
 */
export async function migrateVm(ctx: MethodContext, vm: string, host: string): Promise<void> {
  const { db } = ctx;
  const record = db.getRecord('VM', vm);
  db.getRecord('host', host);
  const opError = vmOperationError(db, vm, 'pool_migrate');
  if (opError !== undefined) throw opError;
  const from = String(record['resident_on']);
  if (rollingUpgradeInProgress(db) && !versionsNotDecreasing(db, from, host)) throw new XapiFailure('NOT_SUPPORTED_DURING_UPGRADE', []);
  if (from === host) return;
  const cannotBoot = bootHereError(db, vm, host);
  if (cannotBoot !== undefined) throw cannotBoot;
  const need = vmRequiredBytes(record);
  const free = hostFreeMemory(db, host, vm);
  if (free < need) throw new XapiFailure('HOST_NOT_ENOUGH_FREE_MEMORY', [String(need), String(free)]);

  const state = upgradeSimState(db);
  const key = ctx.task?.ref ?? `OpaqueRef:migrate-${vm}`;
  db.update('VM', vm, { scheduled_to_be_resident_on: host, current_operations: { [key]: 'pool_migrate' } });
  const release = (): void => {
    if (db.has('VM', vm)) db.update('VM', vm, { scheduled_to_be_resident_on: NULL_REF, current_operations: {} });
  };
  try {
    const bytes = vmCopiedBytes(record);
    await copyMemory(ctx, from, host, bytes, () => {
      if (matches(db, 'VM', vm, state.faults.failMigration)) throw new XapiFailure('VM_MIGRATE_FAILED', [vm, from, host, 'simulated failure: the destination refused the memory stream']);
    });
    const now = db.getRecord('VM', vm);
    if (now['power_state'] !== 'Running' || now['resident_on'] !== from) throw new XapiFailure('VM_BAD_POWER_STATE', [vm, 'running', String(now['power_state']).toLowerCase()]);
    db.update('VM', vm, { resident_on: host, scheduled_to_be_resident_on: NULL_REF, current_operations: {} });
    state.stats.migrations++;
    state.stats.migratedBytes += bytes;
    state.stats.movesByVm.set(vm, (state.stats.movesByVm.get(vm) ?? 0) + 1);
    refreshMemoryFree(db, from);
    refreshMemoryFree(db, host);
    simLog(db, `VM ${String(record['name_label'])} ${from} -> ${host}`);
  } finally {
    release();
  }
}

/**
 * The memory copy of a live migration, after a fixed setup time. With shared links (the default)
 * each host has one migration link of migrationBytesPerSecond: a copy runs at its fair share of
 * the busier of its two hosts' links, and that share changes as other copies start and end
 * (processor sharing), so parallel migrations through one host do not add bandwidth. With
 * per-migration bandwidth every copy gets the full rate.
 */
async function copyMemory(ctx: MethodContext, from: string, to: string, bytes: number, halfway: () => void): Promise<void> {
  const { db } = ctx;
  const state = upgradeSimState(db);
  const cfg = state.config;
  await simSleep(db, cfg.migrationSetupMs, ctx.signal);
  const flow = { from, to };
  state.flows.add(flow);
  try {
    let left = bytes;
    let checked = false;
    while (left > 0) {
      const rate = cfg.bandwidth === 'per-migration' ? cfg.migrationBytesPerSecond : cfg.migrationBytesPerSecond / Math.max(linkLoad(state.flows, from), linkLoad(state.flows, to));
      // Copy for a while at this rate (at most a simulated second: others may start or end meanwhile).
      const chunk = Math.min(left, rate);
      await simSleep(db, (chunk / rate) * 1000, ctx.signal);
      left -= chunk;
      ctx.task?.setProgress(Math.min(0.99, 1 - left / Math.max(1, bytes)));
      if (!checked && left <= bytes / 2) {
        checked = true;
        halfway();
      }
    }
    if (!checked) halfway();
  } finally {
    state.flows.delete(flow);
  }
}

function linkLoad(flows: ReadonlySet<{ from: string; to: string }>, host: string): number {
  let n = 0;
  for (const f of flows) if (f.from === host || f.to === host) n++;
  return n;
}

/** Marks the VM busy with `op` under the call's task while `run` runs (with_vm_operation). */
async function withVmOperation<T>(ctx: MethodContext, vm: string, op: string, run: () => Promise<T>): Promise<T> {
  const key = ctx.task?.ref ?? `OpaqueRef:${op}-${vm}`;
  ctx.db.update('VM', vm, { current_operations: { ...currentOperations(ctx.db.getRecord('VM', vm)), [key]: op } });
  try {
    return await run();
  } finally {
    if (ctx.db.has('VM', vm)) {
      const ops = { ...currentOperations(ctx.db.getRecord('VM', vm)) };
      delete ops[key];
      ctx.db.update('VM', vm, { current_operations: ops });
    }
  }
}

/** Why `vm` cannot start on `host` now: assert_can_boot_here and the memory reservation. */
function startError(ctx: MethodContext, vm: string, host: string): XapiFailure | undefined {
  const cannot = bootHereError(ctx.db, vm, host);
  if (cannot !== undefined) return cannot;
  const need = vmRequiredBytes(ctx.db.getRecord('VM', vm));
  const free = hostFreeMemory(ctx.db, host, vm);
  return free < need ? new XapiFailure('HOST_NOT_ENOUGH_FREE_MEMORY', [String(need), String(free)]) : undefined;
}

async function boot(ctx: MethodContext, vm: string, host: string, paused: boolean): Promise<void> {
  await withVmOperation(ctx, vm, 'start', async () => {
    ctx.db.update('VM', vm, { scheduled_to_be_resident_on: host });
    try {
      await simSleep(ctx.db, 30_000, ctx.signal);
    } finally {
      ctx.db.update('VM', vm, { scheduled_to_be_resident_on: NULL_REF });
    }
  });
  ctx.db.update('VM', vm, { power_state: paused ? 'Paused' : 'Running', resident_on: host });
  refreshMemoryFree(ctx.db, host);
}

export function registerVmUpgradeMethods(registry: MethodRegistry): void {
  registry.register('VM.pool_migrate', {
    handler: async (ctx, args) => {
      await migrateVm(ctx, stringArg(args, 0), stringArg(args, 1));
    },
  });

  registry.register('VM.clean_shutdown', {
    handler: async (ctx, args) => {
      const vm = stringArg(args, 0);
      const opError = vmOperationError(ctx.db, vm, 'clean_shutdown');
      if (opError !== undefined) throw opError;
      await withVmOperation(ctx, vm, 'clean_shutdown', async () => {
        // A guest that ignores the request: the task runs until it is cancelled.
        if (matches(ctx.db, 'VM', vm, upgradeSimState(ctx.db).faults.ignoreCleanShutdown)) await simSleep(ctx.db, 24 * 3_600_000, ctx.signal);
        await simSleep(ctx.db, 20_000, ctx.signal);
      });
      const host = String(ctx.db.getRecord('VM', vm)['resident_on']);
      ctx.db.update('VM', vm, { power_state: 'Halted', resident_on: NULL_REF });
      if (host !== NULL_REF) refreshMemoryFree(ctx.db, host);
    },
  });

  // message_forwarding.ml VM.start_on: during a rolling upgrade only on a host of the highest
  // version (Checks.RPU), never on a host being evacuated, then with_vm_operation, then
  // reserve_memory_for_vm.
  registry.register('VM.start_on', {
    handler: async (ctx, args) => {
      const vm = stringArg(args, 0);
      const host = stringArg(args, 1);
      ctx.db.getRecord('VM', vm);
      ctx.db.getRecord('host', host);
      if (rollingUpgradeInProgress(ctx.db) && !hostHasHighestVersion(ctx.db, host)) throw new XapiFailure('NOT_SUPPORTED_DURING_UPGRADE', []);
      if (Object.values(currentOperations(ctx.db.getRecord('host', host))).includes('evacuate')) throw new XapiFailure('HOST_EVACUATE_IN_PROGRESS', [host]);
      const opError = vmOperationError(ctx.db, vm, 'start_on');
      if (opError !== undefined) throw opError;
      const cannot = startError(ctx, vm, host);
      if (cannot !== undefined) throw cannot;
      await boot(ctx, vm, host, args[2] === true);
    },
  });

  // message_forwarding.ml VM.start: with_vm_operation, then forward_to_suitable_host, which
  // prefers the VM's affinity host (xapi_vm_helpers.ml choose_host_for_vm) and answers
  // NO_HOSTS_AVAILABLE when no host can take it.
  registry.register('VM.start', {
    handler: async (ctx, args) => {
      const vm = stringArg(args, 0);
      const opError = vmOperationError(ctx.db, vm, 'start');
      if (opError !== undefined) throw opError;
      const affinity = String(ctx.db.getRecord('VM', vm)['affinity'] ?? NULL_REF);
      const candidates = [affinity, ...ctx.db.refs('host').filter((h) => h !== affinity)].filter((h) => ctx.db.has('host', h));
      const host = candidates.find((h) => startError(ctx, vm, h) === undefined);
      if (host === undefined) throw new XapiFailure('NO_HOSTS_AVAILABLE', []);
      await boot(ctx, vm, host, args[1] === true);
    },
  });
  registry.register('VM.hard_shutdown', {
    handler: async (ctx, args) => {
      const vm = stringArg(args, 0);
      const opError = vmOperationError(ctx.db, vm, 'hard_shutdown');
      if (opError !== undefined) throw opError;
      await withVmOperation(ctx, vm, 'hard_shutdown', () => simSleep(ctx.db, 2_000, ctx.signal));
      const host = String(ctx.db.getRecord('VM', vm)['resident_on']);
      ctx.db.update('VM', vm, { power_state: 'Halted', resident_on: NULL_REF });
      if (host !== NULL_REF) refreshMemoryFree(ctx.db, host);
    },
  });

  // VM.assert_can_boot_here (xapi_vm_helpers.ml assert_can_boot_here, the memory check included).
  registry.register('VM.assert_can_boot_here', {
    handler: (ctx, args) => {
      const vm = stringArg(args, 0);
      const host = stringArg(args, 1);
      ctx.db.getRecord('host', host);
      if (ctx.db.getRecord('VM', vm)['resident_on'] === host) {
        const cannot = bootHereError(ctx.db, vm, host);
        if (cannot !== undefined) throw cannot;
        return;
      }
      const cannot = startError(ctx, vm, host);
      if (cannot !== undefined) throw cannot;
    },
  });

  // While hosts run different releases xapi refuses every VM operation outside
  // Xapi_globs.rpu_allowed_vm_operations, snapshots included: a backup job that snapshots fails.
  registry.register('VM.snapshot', {
    handler: (ctx, args) => {
      const vm = stringArg(args, 0);
      const name = stringArg(args, 1);
      const record = ctx.db.getRecord('VM', vm);
      if (rollingUpgradeInProgress(ctx.db)) throw new XapiFailure('NOT_SUPPORTED_DURING_UPGRADE', []);
      return ctx.db.create('VM', { ...record, uuid: `snap-${vm.slice(-12)}-${ctx.db.generation}`, name_label: name, is_a_snapshot: true, snapshot_of: vm, power_state: 'Halted', resident_on: NULL_REF, current_operations: {} });
    },
  });
}
