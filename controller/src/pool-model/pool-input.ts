import { normalizeRecord } from '../xapi/normalize-record.js';
import { asRef, type Ref } from '../xapi/ref.js';
import type { XapiClassRecords } from '../xapi/xapi-records.js';

/**
 * Everything the pool model is built from, as the typed XAPI adapter returns it: the records of
 * the classes below, and XAPI's own answers about moving VMs, read at the same time. Live pools,
 * `--from-dump` rehearsals (a dump loaded into the in-process simulator) and tests all produce this.
 */
export const poolModelClasses = ['pool', 'host', 'host_metrics', 'VM', 'VBD', 'VDI', 'SR', 'PBD', 'pool_update', 'host_patch', 'pool_patch', 'VM_group'] as const;
export type PoolClass = (typeof poolModelClasses)[number];
export type PoolRecords = { readonly [K in PoolClass]: ReadonlyMap<Ref<K>, XapiClassRecords[K]> };

/** [code, ...params] as XAPI reports a reason; [] when there is none. */
export type XapiReason = readonly string[];

export interface XapiAnswers {
  /** host ref -> host.get_vms_which_prevent_evacuation (VM ref -> reason), or why it could not be asked. */
  readonly evacuation: ReadonlyMap<string, Readonly<Record<string, XapiReason>> | { readonly error: string }>;
  /**
   * VM ref -> host ref -> VM.assert_can_boot_here: [] when the VM can run there, else XAPI's
   * reason. Asked only for VMs XAPI reported with a reason that depends on the destination.
   */
  readonly bootHere: ReadonlyMap<string, ReadonlyMap<string, XapiReason>>;
}

export interface PoolInput {
  readonly records: PoolRecords;
  readonly answers: XapiAnswers;
}

export const noAnswers: XapiAnswers = { evacuation: new Map(), bootHere: new Map() };

/** Typed records from raw ones (tests, generated pools): each record through the adapter's normaliser. */
export function recordsFromRaw(raw: Partial<Record<PoolClass, Readonly<Record<string, unknown>>>>): PoolRecords {
  const out: Record<string, Map<unknown, unknown>> = {};
  for (const cls of poolModelClasses) {
    const map = new Map<unknown, unknown>();
    for (const [ref, record] of Object.entries(raw[cls] ?? {})) map.set(asRef(ref), normalizeRecord(cls, record));
    out[cls] = map;
  }
  return out as unknown as PoolRecords;
}

export function inputFromRaw(raw: Partial<Record<PoolClass, Readonly<Record<string, unknown>>>>, answers: XapiAnswers = noAnswers): PoolInput {
  return { records: recordsFromRaw(raw), answers };
}
