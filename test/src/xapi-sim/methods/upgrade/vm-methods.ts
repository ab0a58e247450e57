import type { MethodContext, MethodRegistry } from '../../method-registry.js';
import { XapiFailure } from '../../xapi-failure.js';
import { NULL_REF } from '../../xapi-value.js';
import { stringArg, stringMapArg } from '../args.js';
import {
  bootHereError,
  currentOperations,
  hostFreeMemory,
  matches,
  refreshMemoryFree,
  rollingUpgradeInProgress,
  simLog,
  simSleep,
  upgradeSimState,
  versionsNotDecreasing,
  vmCopiedBytes,
  vmRequiredBytes,
} from './upgrade-sim-state.js';

/**
 * VM.pool_migrate with XAPI's checks in XAPI's order (power state, other operations, blocked
 * operations, destination up and enabled, NOT_SUPPORTED_DURING_UPGRADE towards an older host,
 * storage visibility, memory), the destination's memory reserved while the VM moves
 * (scheduled_to_be_resident_on), and time: setup + dynamic_max / bandwidth. Plus the two power
 * operations a rolling upgrade needs for VMs that cannot move (clean_shutdown, start_on).
 */
export async function migrateVm(ctx: MethodContext, vm: string, host: string): Promise<void> {
  const { db } = ctx;
  const record = db.getRecord('VM', vm);
  db.getRecord('host', host);
  if (record['power_state'] !== 'Running') throw new XapiFailure('VM_BAD_POWER_STATE', [vm, 'running', String(record['power_state']).toLowerCase()]);
  const ops = currentOperations(record);
  if (Object.keys(ops).length > 0) throw new XapiFailure('OTHER_OPERATION_IN_PROGRESS', ['VM', vm, Object.values(ops)[0] ?? '']);
  const blocked = (record['blocked_operations'] ?? {}) as Record<string, string>;
  if ('pool_migrate' in blocked) throw new XapiFailure('OPERATION_BLOCKED', [vm, blocked['pool_migrate'] ?? '']);
  const from = String(record['resident_on']);
  if (from === host) return;
  const cannotBoot = bootHereError(db, vm, host);
  if (cannotBoot?.code === 'HOST_OFFLINE' || cannotBoot?.code === 'HOST_DISABLED') throw cannotBoot;
  if (!versionsNotDecreasing(db, from, host)) throw new XapiFailure('NOT_SUPPORTED_DURING_UPGRADE', []);
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

export function registerVmUpgradeMethods(registry: MethodRegistry): void {
  registry.register('VM.pool_migrate', {
    arity: 3,
    async: true,
    handler: async (ctx, args) => {
      stringMapArg(args, 2);
      await migrateVm(ctx, stringArg(args, 0), stringArg(args, 1));
    },
  });

  registry.register('VM.clean_shutdown', {
    arity: 1,
    async: true,
    handler: async (ctx, args) => {
      const vm = stringArg(args, 0);
      const record = ctx.db.getRecord('VM', vm);
      if (record['power_state'] === 'Halted') throw new XapiFailure('VM_BAD_POWER_STATE', [vm, 'running', 'halted']);
      if (Object.keys(currentOperations(record)).length > 0) throw new XapiFailure('OTHER_OPERATION_IN_PROGRESS', ['VM', vm]);
      await simSleep(ctx.db, 20_000, ctx.signal);
      const host = String(record['resident_on']);
      ctx.db.update('VM', vm, { power_state: 'Halted', resident_on: NULL_REF });
      if (host !== NULL_REF) refreshMemoryFree(ctx.db, host);
    },
  });

  registry.register('VM.start_on', {
    arity: 4,
    async: true,
    handler: async (ctx, args) => {
      const vm = stringArg(args, 0);
      const host = stringArg(args, 1);
      const record = ctx.db.getRecord('VM', vm);
      if (record['power_state'] !== 'Halted') throw new XapiFailure('VM_BAD_POWER_STATE', [vm, 'halted', String(record['power_state']).toLowerCase()]);
      const cannot = bootHereError(ctx.db, vm, host);
      if (cannot !== undefined) throw cannot;
      if (rollingUpgradeInProgress(ctx.db) && !versionsNotDecreasing(ctx.db, ctx.db.masterRef(), host)) throw new XapiFailure('NOT_SUPPORTED_DURING_UPGRADE', []);
      const need = vmRequiredBytes(record);
      const free = hostFreeMemory(ctx.db, host, vm);
      if (free < need) throw new XapiFailure('HOST_NOT_ENOUGH_FREE_MEMORY', [String(need), String(free)]);
      await simSleep(ctx.db, 30_000, ctx.signal);
      ctx.db.update('VM', vm, { power_state: 'Running', resident_on: host });
      refreshMemoryFree(ctx.db, host);
    },
  });
}
