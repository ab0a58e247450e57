#!/usr/bin/env node
// Rolling pool upgrade benchmark: prints JSON. Four strategies on the same pool, on the XAPI
// simulator with a discrete-event clock (exact simulated time, whatever the machine's load) and the
// same modelled migration bandwidth and parallelism:
//   ours       - the xsctl workflow (planner placement, durable engine), in-process
//   xo         - evacuate with XAPI's own placement (host.evacuate), upgrade, reboot, then migrate
//                every VM back to its original host (Xen Orchestra's rolling pool update)
//   xencenter  - evacuate with XAPI's placement, no migrate-back (XenCenter's wizard)
//   lowerBound - every running agile VM moved exactly once (a bound, not a run)
// VMs on local SRs cannot move in any strategy: all of them shut such VMs down while their host
// reboots and start them again after.
/* global structuredClone, setImmediate */
// Usage: npm run build && npm run bench:rpu [-- --hosts 8 --vms 120 --seed 7 --parallel 2 --host-gib 256 --tight-host-gib 160]
import { parseArgs } from 'node:util';
import { Journal } from '@xsctl/controller/journal/journal';
import { WorkflowEngine } from '@xsctl/controller/workflows/engine/workflow-engine';
import { generatePoolRecords } from '@xsctl/test/pools/generate-pool';
import { planRollingUpgrade } from '@xsctl/controller/workflows/rolling-upgrade/planner';
import { snapshotFromRecords, isRunningGuest } from '@xsctl/controller/workflows/rolling-upgrade/pool-records';
import { recordsFrom } from '@xsctl/controller/workflows/rolling-upgrade/rehearse';
import { rollingUpgradeKind, ROLLING_UPGRADE } from '@xsctl/controller/workflows/rolling-upgrade/rolling-upgrade-workflow';
import { realSleep } from '@xsctl/controller/workflows/rolling-upgrade/upgrade-ports';
import { createLogger } from '@xsctl/common/log/create-logger';
import { loadPoolDumpFile, sharedDumpFile, XapiDb } from '@xsctl/test/xapi-sim/index';
import { configureUpgradeSim, stopUpgradeSim, upgradeSimState } from '@xsctl/test/xapi-sim/methods/upgrade/index';
import { inProcessSim } from '@xsctl/test/sim-harness/in-process-xapi';
import { createVirtualClock } from '@xsctl/test/sim-harness/virtual-clock';

const { values } = parseArgs({
  options: {
    hosts: { type: 'string', default: '8' },
    vms: { type: 'string', default: '120' },
    seed: { type: 'string', default: '7' },
    parallel: { type: 'string', default: '2' },
    'local-fraction': { type: 'string', default: '0.05' },
    fill: { type: 'string', default: '0.9' },
    'host-gib': { type: 'string', default: '256' },
    'tight-host-gib': { type: 'string', default: '160' },
  },
});
const parallel = Number(values.parallel);
const GiB = 2 ** 30;
const simConfig = {
  migrationBytesPerSecond: GiB,
  migrationSetupMs: 2_000,
  shutdownDelayMs: 10_000,
  rebootMs: 180_000,
  agentStartMs: 40_000,
  storageMs: 5_000,
  actionMs: 60_000,
  evacuateBatchSize: parallel,
  timeFactor: 1,
};
const logger = createLogger('bench', { level: 'silent' });
const CLASSES = ['pool', 'host', 'host_metrics', 'VM', 'VM_metrics', 'VBD', 'VDI', 'SR', 'PBD', 'pool_update', 'host_patch', 'pool_patch', 'task', 'session'];

/** A fresh simulated pool (its own virtual clock) for each strategy. */
function dbFromRecords(records) {
  const db = new XapiDb({ clock: createVirtualClock() });
  for (const cls of CLASSES) db.addClass(cls);
  for (const [cls, rows] of Object.entries(records)) for (const [ref, row] of Object.entries(rows)) db.create(cls, structuredClone(row), ref);
  return db;
}

const generated = (hostGiB) => () =>
  dbFromRecords(generatePoolRecords({ hosts: Number(values.hosts), vms: Number(values.vms), seed: Number(values.seed), localFraction: Number(values['local-fraction']), fill: Number(values.fill), hostMemoryGiB: hostGiB }));
const sources = [
  // Room to spare: evacuated VMs fit on the upgraded hosts whatever the placement.
  { name: `generated-${values.hosts}x${values.vms}-${values['host-gib']}GiB`, load: async () => generated(Number(values['host-gib']))() },
  // Tight (about 80% used): N-1 capacity over the whole sequence decides where VMs can go.
  { name: `generated-${values.hosts}x${values.vms}-${values['tight-host-gib']}GiB-tight`, load: async () => generated(Number(values['tight-host-gib']))() },
  { name: 'boston-db.xml', load: async () => loadPoolDumpFile(sharedDumpFile('boston-db.xml'), { clock: createVirtualClock() }) },
  { name: 'state1.xml', load: async () => loadPoolDumpFile(sharedDumpFile('state1.xml'), { clock: createVirtualClock() }) },
];

function result(db, t0, extra = {}) {
  const s = upgradeSimState(db).stats;
  return {
    migratedBytes: s.migratedBytes,
    migratedGiB: Number((s.migratedBytes / GiB).toFixed(1)),
    migrations: s.migrations,
    vmsMovedMoreThanOnce: [...s.movesByVm.values()].filter((n) => n > 1).length,
    simulatedSeconds: Math.round((db.clock.now() - t0) / 1000),
    ...extra,
  };
}

async function ours(db) {
  configureUpgradeSim(db, simConfig);
  const sim = inProcessSim(db);
  const engine = new WorkflowEngine({
    journal: new Journal(':memory:'),
    logger,
    kinds: [rollingUpgradeKind({ openXapi: () => sim.connect(), sleep: (ms, signal) => realSleep(Math.min(ms, 1), signal) })],
  });
  const t0 = db.clock.now();
  const wf = engine.start(ROLLING_UPGRADE, 'bench', { action: 'simulated', overrides: ['VM_REQUIRES_SR'], maxParallel: parallel, pollIntervalMs: 1, agentCheck: false, hostBootTimeoutSeconds: 600, storageTimeoutSeconds: 600 }, 'bench');
  const end = await engine.wait(wf.id);
  const out = result(db, t0, { completed: end.state === 'done', ...(end.error ? { error: end.error } : {}) });
  stopUpgradeSim(db);
  sim.close();
  return out;
}

const idle = () => new Promise((r) => setImmediate(r));
async function until(check) {
  for (let i = 0; i < 1e7; i++) {
    if (await check()) return;
    await idle();
  }
  throw new Error('gave up waiting');
}

/** Xen Orchestra / XenCenter: XAPI places the VMs (host.evacuate); XO then migrates each back. */
async function xapiPlacement(db, { migrateBack }) {
  configureUpgradeSim(db, simConfig);
  const sim = inProcessSim(db);
  const x = await sim.connect();
  const t0 = db.clock.now();
  try {
    const pool = Object.values(await x.call('pool.get_all_records', []))[0];
    if (pool.ha_enabled) await x.callAsync('pool.disable_ha', []);
    const hosts = await x.call('host.get_all_records', []);
    const master = pool.master;
    const order = [master, ...Object.keys(hosts).filter((h) => h !== master).sort((a, b) => hosts[a].name_label.localeCompare(hosts[b].name_label))];
    const vms = await x.call('VM.get_all_records', []);
    const original = new Map(Object.entries(vms).filter(([, v]) => !v.is_control_domain && v.power_state === 'Running').map(([ref, v]) => [ref, v.resident_on]));
    for (const host of order) {
      await x.call('host.disable', [host]);
      const prevent = await x.call('host.get_vms_which_prevent_evacuation', [host]);
      const pinned = Object.entries(prevent).filter(([, r]) => r[0] === 'VM_REQUIRES_SR').map(([vm]) => vm);
      for (const vm of pinned) await x.callAsync('VM.clean_shutdown', [vm]);
      await x.callAsync('host.evacuate', [host]);
      await x.callAsync('host.call_plugin', [host, 'xsctl_simulated_upgrade.py', 'upgrade', {}]);
      const boot = (await x.call('host.get_other_config', [host])).boot_time;
      await x.call('host.reboot', [host]);
      await until(async () => {
        try {
          const h = await x.call('host.get_record', [host]);
          return h.other_config.boot_time !== boot && h.enabled === true;
        } catch {
          return false;
        }
      });
      await x.call('host.enable', [host]);
      for (const vm of pinned) await x.callAsync('VM.start_on', [vm, host, false, false]);
    }
    if (migrateBack) {
      // XO starts with the last host (the emptiest) and moves VMs back one at a time.
      for (const host of [...order].reverse()) {
        for (const [vm, home] of original) {
          if (home !== host) continue;
          const now = await x.call('VM.get_record', [vm]);
          if (now.power_state === 'Running' && now.resident_on !== home) await x.callAsync('VM.pool_migrate', [vm, home, { live: 'true' }]);
        }
      }
    }
    return result(db, t0, { completed: true });
  } catch (err) {
    return result(db, t0, { completed: false, error: `${err.code ?? ''} ${err.message ?? String(err)}`.trim() });
  } finally {
    await x.close();
    stopUpgradeSim(db);
    sim.close();
  }
}

function lowerBound(db) {
  const snap = snapshotFromRecords(recordsFrom(db));
  const plan = planRollingUpgrade(snap, { overrides: ['VM_REQUIRES_SR'] });
  const agile = snap.vms.filter((v) => isRunningGuest(v) && !plan.blockers.some((b) => b.vmRef === v.ref));
  const bytes = agile.reduce((s, v) => s + v.migrateBytes, 0);
  const cycle = simConfig.actionMs + simConfig.shutdownDelayMs + simConfig.rebootMs + simConfig.agentStartMs + simConfig.storageMs;
  const migrationMs = agile.reduce((s, v) => s + simConfig.migrationSetupMs + (v.migrateBytes / simConfig.migrationBytesPerSecond) * 1000, 0);
  return {
    migratedBytes: bytes,
    migratedGiB: Number((bytes / GiB).toFixed(1)),
    migrations: agile.length,
    vmsMovedMoreThanOnce: 0,
    simulatedSeconds: Math.round((plan.hosts.filter((h) => h.action === 'upgrade').length * cycle + migrationMs / parallel) / 1000),
    masterVmsTwiceBytes: plan.totals.achievableLowerBoundBytes,
    masterVmsTwiceGiB: Number((plan.totals.achievableLowerBoundBytes / GiB).toFixed(1)),
    model: 'every running agile VM moved once (masterVmsTwice: the master, upgraded first, has nowhere final for its VMs); time = host cycles + migrations at the same parallelism',
  };
}

const pools = [];
for (const source of sources) {
  const probe = await source.load();
  const snap = snapshotFromRecords(recordsFrom(probe));
  const running = snap.vms.filter(isRunningGuest);
  const entry = {
    pool: source.name,
    hosts: snap.hosts.length,
    runningVms: running.length,
    runningGiB: Number((running.reduce((s, v) => s + v.migrateBytes, 0) / GiB).toFixed(1)),
    strategies: {
      ours: await ours(await source.load()),
      xo: await xapiPlacement(await source.load(), { migrateBack: true }),
      xencenter: await xapiPlacement(await source.load(), { migrateBack: false }),
      lowerBound: lowerBound(probe),
    },
  };
  pools.push(entry);
}

process.stdout.write(
  `${JSON.stringify(
    {
      benchmark: 'rolling-pool-upgrade',
      config: { ...simConfig, parallelMigrations: parallel, xoMigrateBack: 'sequential, as Xen Orchestra does', bandwidth: 'per migration' },
      pools,
    },
    null,
    2,
  )}\n`,
);
