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
    const total = state.config.migrationSetupMs + (bytes / state.config.migrationBytesPerSecond) * 1000;
    const slices = 4;
    for (let i = 1; i <= slices; i++) {
      await simSleep(db, total / slices, ctx.signal);
      ctx.task?.setProgress(i / slices);
      if (i === 2 && matches(db, 'VM', vm, state.faults.failMigration)) {
        throw new XapiFailure('VM_MIGRATE_FAILED', [vm, from, host, 'simulated failure: the destination refused the memory stream']);
      }
    }
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
      await withVmOperation(ctx, vm, 'clean_shutdown', () => simSleep(ctx.db, 20_000, ctx.signal));
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
}
