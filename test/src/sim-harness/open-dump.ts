import type { XapiClient } from '@xsctl/controller/xapi/index';
import { loadPoolDumpFile } from '../xapi-sim/load-pool-dump.js';
import { inProcessSim } from './in-process-xapi.js';

/**
 * A `xe pool-dump-database` file as a read-only XAPI in this process: the dump loaded into the
 * simulator, an XapiClient on it. `xsctl upgrade --plan --from-dump` reads it exactly as it reads
 * a live pool (records, then XAPI's evacuation answers), changing nothing anywhere.
 */
export async function openDump(file: string): Promise<{ xapi: XapiClient; close(): Promise<void> }> {
  const sim = inProcessSim(await loadPoolDumpFile(file));
  const xapi = await sim.connect({ readOnly: true });
  return {
    xapi,
    close: async () => {
      await xapi.close();
      sim.close();
    },
  };
}
