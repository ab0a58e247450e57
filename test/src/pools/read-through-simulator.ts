import { readPoolInput, type PoolInput } from '@xsctl/controller/pool-model/index';
import { inProcessSim } from '../sim-harness/in-process-xapi.js';
import type { XapiDb } from '../xapi-sim/xapi-db.js';
import { XapiDb as Db } from '../xapi-sim/xapi-db.js';
import type { RawPool } from './generate-pool.js';

/** Raw records as a simulator database (every class the model and the upgrade methods read). */
export function dbFromRaw(raw: RawPool, db: XapiDb = new Db()): XapiDb {
  for (const cls of ['pool', 'host', 'host_metrics', 'VM', 'VM_metrics', 'VBD', 'VDI', 'SR', 'PBD', 'pool_update', 'host_patch', 'pool_patch', 'VM_group', 'task', 'session']) db.addClass(cls);
  for (const [cls, rows] of Object.entries(raw)) for (const [ref, row] of Object.entries(rows)) db.create(cls, structuredClone(row) as never, ref);
  return db;
}

/**
 * A pool's model input as the controller reads it from a live pool: the records and XAPI's own
 * evacuation answers, here from the simulator (which answers as xapi does, e.g. VM_REQUIRES_SR for
 * a VM on a local SR).
 */
export async function readThroughSimulator(db: XapiDb): Promise<PoolInput> {
  const sim = inProcessSim(db);
  const xapi = await sim.connect({ readOnly: true });
  try {
    return await readPoolInput(xapi);
  } finally {
    await xapi.close();
    sim.close();
  }
}
