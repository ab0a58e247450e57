import pMap from 'p-map';
import { fanOutSignal } from '@xsctl/common/signals/index';
import { listenersPerXapiCall } from '../xapi/listeners-per-xapi-call.js';
import type { XapiClient } from '../xapi/xapi-client.js';
import { XapiError } from '../xapi/xapi-error.js';
import type { Ref } from '../xapi/ref.js';
import { poolModelClasses, type PoolClass, type PoolInput, type PoolRecords, type XapiAnswers, type XapiReason } from './pool-input.js';
import { haCodes, placementCodes } from './xapi-reasons.js';

/**
 * The one reader of a pool for the prechecks, the planner and the workflow: every record class of
 * the model, then XAPI's own answers about moving VMs: host.get_vms_which_prevent_evacuation for
 * the hosts asked (all by default), and VM.assert_can_boot_here host by host for each VM it
 * reported with a reason that depends on the destination. Works on a read-only session.
 */
export interface ReadPoolOptions {
  signal?: AbortSignal;
  /** Hosts (refs) whose evacuation XAPI is asked about; default every host. */
  evacuationOf?: readonly string[];
  /** XAPI questions in flight at once (evacuation, then boot-here); default xapiQuestionConcurrency. */
  concurrency?: number;
}

/**
 * How many per-host or per-VM questions go to the pool master at once. xapi serves each request
 * on its own thread and host.get_vms_which_prevent_evacuation walks the whole pool, so a 64-host
 * pool asked all at once would queue 64 such walks on the master; a few in flight keep it busy
 * without flooding it.
 */
export const xapiQuestionConcurrency = 8;

const absent = (err: unknown): boolean => err instanceof XapiError && (err.code === 'MESSAGE_METHOD_UNKNOWN' || err.code === 'MESSAGE_REMOVED');

/**
 * A workflow's or a service's signal lives for weeks and is passed to every pool read: the twelve
 * record classes read at once put 24 listeners on it, and Node warned "11 abort listeners added
 * to [AbortSignal]" 72 times in one run of the suite. The reads listen to a signal derived for
 * the read (fanOutSignal), whose limit is the read's own bound (read-pool-input-listeners.test.ts
 * counts them); +1: p-map listens too.
 */
const readSignal = (caller: AbortSignal | undefined, inFlight: number) => fanOutSignal(caller, inFlight * listenersPerXapiCall + 1, 'the pool read ended');

export async function readPoolRecords(xapi: XapiClient, caller?: AbortSignal): Promise<PoolRecords> {
  const out: Partial<Record<PoolClass, ReadonlyMap<unknown, unknown>>> = {};
  // Every class at once: the fan-out is poolModelClasses.length calls.
  const { signal, release } = readSignal(caller, poolModelClasses.length);
  try {
    await Promise.all(
      poolModelClasses.map(async (cls) => {
        try {
          out[cls] = await xapi.getAllRecords(cls, { signal });
        } catch (err) {
          // A class the release does not have (pool_update before 7.1, VM_group before 8.3).
          if (!absent(err)) throw err;
          out[cls] = new Map();
        }
      }),
    );
  } finally {
    release();
  }
  return out as PoolRecords;
}

export async function readXapiAnswers(xapi: XapiClient, records: PoolRecords, options: ReadPoolOptions = {}): Promise<XapiAnswers> {
  const concurrency = Math.max(1, options.concurrency ?? xapiQuestionConcurrency);
  // `concurrency` questions in flight at once (p-map's bound), on a signal of their own.
  const { signal, release } = readSignal(options.signal, concurrency);
  try {
    return await askXapi(xapi, records, options, concurrency, signal);
  } finally {
    release();
  }
}

async function askXapi(xapi: XapiClient, records: PoolRecords, options: ReadPoolOptions, concurrency: number, signal: AbortSignal | undefined): Promise<XapiAnswers> {
  const hostRefs = options.evacuationOf ?? [...records.host.keys()];
  const evacuation = new Map<string, Readonly<Record<string, XapiReason>> | { error: string }>();
  // One host's failure is that host's answer: the others are still asked and reported.
  await pMap(
    hostRefs,
    async (ref) => {
      try {
        evacuation.set(ref, await xapi.call('host.get_vms_which_prevent_evacuation', [ref as Ref<'host'>], { signal }));
      } catch (err) {
        if (signal?.aborted) throw err;
        evacuation.set(ref, { error: err instanceof Error ? err.message : String(err) });
      }
    },
    { concurrency, ...(signal === undefined ? {} : { signal }) },
  );
  const bootHere = new Map<string, Map<string, XapiReason>>();
  const asks: Array<() => Promise<void>> = [];
  for (const hostRef of hostRefs) {
    const answer = evacuation.get(hostRef);
    if (answer === undefined || ('error' in answer && typeof answer.error === 'string')) continue;
    for (const [vm, reason] of Object.entries(answer as Record<string, XapiReason>)) {
      if (!placementCodes.has(reason[0] ?? '') && !haCodes.has(reason[0] ?? '')) continue;
      const perHost = new Map<string, XapiReason>();
      bootHere.set(vm, perHost);
      for (const target of records.host.keys()) {
        if (target === hostRef) continue;
        asks.push(() =>
          xapi.call('VM.assert_can_boot_here', [vm as Ref<'VM'>, target], { signal }).then(
            () => void perHost.set(target, []),
            (err: unknown) => {
              if (signal?.aborted) throw err;
              perHost.set(target, err instanceof XapiError ? [err.code, ...err.params] : ['INTERNAL_ERROR', String(err)]);
            },
          ),
        );
      }
    }
  }
  // One question per VM and host adds up on a large pool: the same few at a time.
  await pMap(asks, (ask) => ask(), { concurrency, ...(signal === undefined ? {} : { signal }) });
  return { evacuation, bootHere };
}

export async function readPoolInput(xapi: XapiClient, options: ReadPoolOptions = {}): Promise<PoolInput> {
  const records = await readPoolRecords(xapi, options.signal);
  return { records, answers: await readXapiAnswers(xapi, records, options) };
}
