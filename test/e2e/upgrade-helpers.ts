import { createLogger } from '@xsctl/common/log/create-logger';
import { Journal } from '@xsctl/controller/journal/journal';
import { WorkflowEngine } from '@xsctl/controller/workflows/engine/workflow-engine';
import type { JournalWriteHook, WorkflowRow } from '@xsctl/controller/workflows/engine/workflow-store';
import { realSleep, rollingUpgradeKind, ROLLING_UPGRADE, type RollingUpgradeParams } from '@xsctl/controller/workflows/rolling-upgrade/index';
import { buildPoolModel, inputFromRaw, poolModelClasses, type PoolModel } from '@xsctl/controller/pool-model/index';
import type { RawPool, RecordsByRef } from '../src/pools/generate-pool.js';
import { buildPoolFromDescription } from '../src/xapi-sim/build-pool-from-description.js';
import { demoPoolFile } from '../src/xapi-sim/fixture-paths.js';
import { readPoolDescriptionFile, type PoolDescription } from '../src/xapi-sim/pool-description.js';
import { XapiDb } from '../src/xapi-sim/xapi-db.js';
import { inProcessSim, type InProcessSim } from '../src/sim-harness/in-process-xapi.js';
import { configureUpgradeSim, stopUpgradeSim } from '../src/xapi-sim/methods/upgrade/index.js';
import type { Clock } from '../src/xapi-sim/clock.js';

export const silent = createLogger('test', { level: 'silent' });

/** Simulated durations shrink this much: a 180 s reboot takes 90 ms. */
export const FAST = 2000;

export async function demoDescription(edit?: (d: PoolDescription) => void): Promise<PoolDescription> {
  const d = structuredClone(await readPoolDescriptionFile(demoPoolFile));
  edit?.(d);
  return d;
}

export function dbFromRecords(records: RawPool, clock?: Clock): XapiDb {
  const db = new XapiDb(clock === undefined ? {} : { clock });
  for (const cls of ['pool', 'host', 'host_metrics', 'VM', 'VM_metrics', 'VBD', 'VDI', 'SR', 'PBD', 'pool_update', 'host_patch', 'pool_patch', 'VM_group', 'task', 'session']) db.addClass(cls);
  for (const [cls, rows] of Object.entries(records)) for (const [ref, row] of Object.entries(rows)) db.create(cls, structuredClone(row) as never, ref);
  return db;
}

export function simFor(description: PoolDescription, timeFactor = FAST): InProcessSim {
  const db = buildPoolFromDescription(description);
  configureUpgradeSim(db, { timeFactor });
  return inProcessSim(db);
}

export const fastParams: Partial<RollingUpgradeParams> = {
  action: 'simulated',
  pollIntervalMs: 10,
  agentCheck: false,
  hostBootTimeoutSeconds: 20,
  storageTimeoutSeconds: 10,
  maxParallel: 3,
};

export interface Run {
  engine: WorkflowEngine;
  journal: Journal;
  workflow: WorkflowRow;
}

export function startUpgrade(sim: InProcessSim, params: Partial<RollingUpgradeParams>, options: { journal?: Journal; onStepWrite?: JournalWriteHook } = {}): Run {
  const journal = options.journal ?? new Journal(':memory:');
  const engine = newEngine(sim, journal, options.onStepWrite);
  const workflow = engine.start(ROLLING_UPGRADE, 'demo', { ...fastParams, ...params }, 'test');
  return { engine, journal, workflow };
}

export function newEngine(sim: InProcessSim, journal: Journal, onStepWrite?: JournalWriteHook): WorkflowEngine {
  return new WorkflowEngine({
    journal,
    logger: silent,
    kinds: [rollingUpgradeKind({ openXapi: () => sim.connect(), sleep: (ms, signal) => realSleep(Math.min(ms, 20), signal) })],
    ...(onStepWrite === undefined ? {} : { onStepWrite }),
  });
}

export function rawRecords(sim: InProcessSim): RawPool {
  const out: RawPool = {};
  for (const cls of poolModelClasses) if (sim.db.hasClass(cls)) out[cls] = sim.db.getAllRecords(cls) as RecordsByRef;
  return out;
}

/** The pool as the model sees it now (straight from the simulator's database, no XAPI call). */
export function model(sim: InProcessSim): PoolModel {
  return buildPoolModel(inputFromRaw(rawRecords(sim)));
}

/** Every running guest is running exactly once, on a live host, and the set is the one we started with. */
export function runningGuests(sim: InProcessSim): Map<string, string> {
  const snap = model(sim);
  const out = new Map<string, string>();
  for (const vm of snap.vms) {
    if (vm.isControlDomain || vm.powerState !== 'Running') continue;
    out.set(vm.name, snap.hosts.find((h) => h.ref === vm.residentOn)?.name ?? vm.residentOn);
  }
  return out;
}

export function finish(sim: InProcessSim): void {
  stopUpgradeSim(sim.db);
  sim.close();
}
