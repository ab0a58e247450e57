import type { MethodRegistry } from '../../method-registry.js';
import type { XapiDb } from '../../xapi-db.js';
import { XapiFailure } from '../../xapi-failure.js';
import { stringArg, stringListArg, stringMapArg } from '../args.js';
import { assertHostLive, hostIsLive, invalidateSessions, simLog, upgradeSimState, type UpgradeSimConfig } from './upgrade-sim-state.js';

/**
 * pool.* operations a rolling upgrade touches: HA off and on again (HA_NOT_ENABLED,
 * HA_IS_ENABLED, HOST_OFFLINE, CANNOT_CREATE_STATE_FILE, one statefile VDI on a shared SR), the
 * WLB setter, designate_new_master
 * (HA_IS_ENABLED, HOST_OFFLINE; every session ends, so clients of the old master see
 * SESSION_INVALID and, on its address, HOST_IS_SLAVE). While the master reboots its socket
 * refuses connections (host-methods.ts). `simulator.configure_upgrade` is not XAPI: it lets a test in
 * another process set durations and inject faults.
 */

function poolRecord(db: XapiDb): Record<string, unknown> {
  return db.getRecord('pool', db.poolRef());
}

export function registerPoolUpgradeMethods(registry: MethodRegistry): void {
  registry.register('pool.disable_ha', {
    arity: 0,
    async: true,
    handler: (ctx) => {
      const pool = poolRecord(ctx.db);
      if (pool['ha_enabled'] !== true) throw new XapiFailure('HA_NOT_ENABLED', []);
      ctx.db.update('pool', ctx.db.poolRef(), { ha_enabled: false, ha_statefiles: [], ha_plan_exists_for: 0 });
      simLog(ctx.db, 'HA disabled');
    },
  });

  registry.register('pool.enable_ha', {
    arity: 2,
    async: true,
    handler: (ctx, args) => {
      const srs = stringListArg(args, 0);
      const configuration = stringMapArg(args, 1);
      if (poolRecord(ctx.db)['ha_enabled'] === true) throw new XapiFailure('HA_IS_ENABLED', []);
      for (const host of ctx.db.refs('host')) if (!hostIsLive(ctx.db, host)) throw new XapiFailure('HOST_OFFLINE', [host]);
      // xapi_ha.ml enable: no SR given -> a shared SR that can hold the statefile; none -> CANNOT_CREATE_STATE_FILE.
      // One statefile only: the xHA component handles one.
      const candidates = srs.length > 0 ? srs : ctx.db.find('SR', (r) => r['shared'] === true && r['content_type'] !== 'iso').map(([ref]) => ref);
      if (candidates.length === 0) throw new XapiFailure('CANNOT_CREATE_STATE_FILE', []);
      const statefiles: string[] = [];
      for (const sr of candidates.slice(0, 1)) {
        const record = ctx.db.getRecord('SR', sr);
        if (record['shared'] !== true) throw new XapiFailure('HA_CONSTRAINT_VIOLATION_SR_NOT_SHARED', [sr]);
        statefiles.push(
          ctx.db.create('VDI', { uuid: `ha-statefile-${sr.slice(-12)}`, name_label: 'Statefile for HA', SR: sr, type: 'ha_statefile', virtual_size: 4 * 2 ** 20, sharable: true, read_only: false, other_config: {}, sm_config: {} }),
        );
      }
      ctx.db.update('pool', ctx.db.poolRef(), { ha_enabled: true, ha_statefiles: statefiles, ha_configuration: configuration });
      simLog(ctx.db, 'HA enabled');
    },
  });

  registry.register('pool.set_wlb_enabled', {
    arity: 2,
    async: true,
    handler: (ctx, args) => {
      const pool = stringArg(args, 0);
      const value = args[1] === true || args[1] === 'true';
      // A generated setter of an RW field: XAPI checks nothing here (WLB_NOT_INITIALIZED comes from the WLB calls themselves).
      ctx.db.getRecord('pool', pool);
      ctx.db.update('pool', pool, { wlb_enabled: value });
    },
  });

  registry.register('pool.designate_new_master', {
    arity: 1,
    async: true,
    handler: (ctx, args) => {
      const host = stringArg(args, 0);
      ctx.db.getRecord('host', host);
      if (poolRecord(ctx.db)['ha_enabled'] === true) throw new XapiFailure('HA_IS_ENABLED', []);
      assertHostLive(ctx.db, host);
      if (ctx.db.masterRef() === host) return;
      ctx.db.update('pool', ctx.db.poolRef(), { master: host });
      // Both xapis restart: every session ends; the old master now answers HOST_IS_SLAVE.
      invalidateSessions(ctx.db);
      simLog(ctx.db, `new master ${host}`);
    },
  });

  registry.register('simulator.configure_upgrade', {
    arity: 1,
    handler: (ctx, args) => {
      const spec = (args[0] ?? {}) as Record<string, unknown>;
      const state = upgradeSimState(ctx.db);
      const numbers: Array<keyof UpgradeSimConfig> = ['migrationBytesPerSecond', 'migrationSetupMs', 'shutdownDelayMs', 'rebootMs', 'agentStartMs', 'storageMs', 'actionMs', 'evacuateBatchSize', 'timeFactor'];
      for (const key of numbers) if (typeof spec[key] === 'number') (state.config as unknown as Record<string, number>)[key] = spec[key];
      for (const key of ['neverBack', 'failMigration', 'fullHost', 'missingPaths', 'pci', 'vgpu', 'vusb', 'sriov', 'noPvDrivers', 'ignoreCleanShutdown'] as const) {
        if (Array.isArray(spec[key])) state.faults[key] = new Set((spec[key] as unknown[]).map(String));
      }
      for (const key of ['networkMissing', 'cpuIncompatible'] as const) {
        const map = spec[key];
        if (typeof map === 'object' && map !== null) state.faults[key] = new Map(Object.entries(map as Record<string, unknown>).map(([vm, hosts]) => [vm, new Set(Array.isArray(hosts) ? hosts.map(String) : [])]));
      }
      return { migrations: state.stats.migrations, migratedBytes: state.stats.migratedBytes, reboots: state.stats.reboots };
    },
  });

}
