import { systemClock, type Clock } from './clock.js';
import { datamodel } from './datamodel.js';
import { handleInvalid, XapiFailure } from './xapi-failure.js';
import { cloneValue, isLiveRef, newRef, NULL_REF, type XapiRecord, type XapiValue } from './xapi-value.js';
import { isDerivedField, relationsForRefClass, relationsForSetClass, type Relation } from './relations.js';

export type EventOperation = 'add' | 'mod' | 'del';

/** One entry of `event.from`'s `events`, in XAPI's wire shape (class names are lower case). */
export interface XapiEvent {
  id: string;
  timestamp: string;
  class: string;
  operation: EventOperation;
  ref: string;
  snapshot?: XapiRecord;
}

interface Row {
  fields: XapiRecord;
  created: number;
  modified: number;
}

interface Tombstone {
  cls: string;
  ref: string;
  created: number;
  deleted: number;
}

export interface XapiDbOptions {
  clock?: Clock;
  /** Generation count from the dump's manifest; later changes get higher generations. */
  generation?: number;
}

/** Classes whose changes never produce events (created with ~gen_events:false in xapi's datamodel). */
const silentClasses = new Set([...datamodel().silentClasses, 'event']);

/** How many deletions are remembered for `event.from` callers that are behind. */
const maxTombstones = 10_000;

/**
 * The simulated pool database: one table per XAPI class, rows keyed by OpaqueRef, every write
 * stamped with a generation number like XAPI's database so `event.from` can report what changed
 * since a token. Records hold API field names and wire types; one-to-many set fields
 * (host.resident_VMs, SR.PBDs, ...) are computed on read from the rows that point back.
 */
export class XapiDb {
  readonly clock: Clock;
  private readonly tables = new Map<string, Map<string, Row>>();
  private readonly classByLowerName = new Map<string, string>();
  private readonly tombstones: Tombstone[] = [];
  private readonly changeListeners = new Set<() => void>();
  /** Per relation, set-side ref -> refs pointing at it; dropped when the ref-side class is written. */
  private readonly reverseIndex = new Map<Relation, Map<string, string[]>>();
  private nextGeneration: number;
  /** Per class, the generation of its last created, written or deleted row (see `classGeneration`). */
  private readonly classGenerations = new Map<string, number>();

  constructor(options: XapiDbOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.nextGeneration = Math.max(2, (options.generation ?? 0) + 1);
  }

  // ---------------------------------------------------------------- classes

  addClass(cls: string): void {
    if (this.tables.has(cls)) return;
    const lower = cls.toLowerCase();
    const existing = this.classByLowerName.get(lower);
    if (existing !== undefined) throw new Error(`class ${cls} clashes with ${existing}`);
    this.tables.set(cls, new Map());
    this.classByLowerName.set(lower, cls);
  }

  hasClass(cls: string): boolean {
    return this.tables.has(cls);
  }

  get classNames(): string[] {
    return [...this.tables.keys()];
  }

  /** The canonical spelling of a class name given in any case (`vm` -> `VM`), as XAPI accepts in subscriptions. */
  resolveClass(name: string): string | undefined {
    return this.classByLowerName.get(name.toLowerCase());
  }

  isSilentClass(cls: string): boolean {
    return silentClasses.has(cls);
  }

  // ---------------------------------------------------------------- reads

  has(cls: string, ref: string): boolean {
    return this.tables.get(cls)?.has(ref) ?? false;
  }

  refs(cls: string): string[] {
    return [...(this.tables.get(cls)?.keys() ?? [])];
  }

  count(cls: string): number {
    return this.tables.get(cls)?.size ?? 0;
  }

  /** The record as `<cls>.get_record` returns it; throws HANDLE_INVALID [cls, ref] if absent. */
  getRecord(cls: string, ref: string): XapiRecord {
    const record = this.tryGetRecord(cls, ref);
    if (record === undefined) throw handleInvalid(cls, ref);
    return record;
  }

  /** The stored fields of a row, not copied and without computed sets: for cheap lookups only. */
  peek(cls: string, ref: string): Readonly<XapiRecord> | undefined {
    return this.tables.get(cls)?.get(ref)?.fields;
  }

  tryGetRecord(cls: string, ref: string): XapiRecord | undefined {
    const row = this.tables.get(cls)?.get(ref);
    if (row === undefined) return undefined;
    const record = cloneValue(row.fields);
    for (const relation of relationsForSetClass(cls)) {
      const index = this.indexFor(relation);
      if (index !== undefined) record[relation.setField] = [...(index.get(ref) ?? [])];
    }
    return record;
  }

  getAllRecords(cls: string): Record<string, XapiRecord> {
    const out: Record<string, XapiRecord> = {};
    for (const ref of this.refs(cls)) {
      const record = this.tryGetRecord(cls, ref);
      if (record !== undefined) out[ref] = record;
    }
    return out;
  }

  getField(cls: string, ref: string, field: string): XapiValue | undefined {
    return this.getRecord(cls, ref)[field];
  }

  findRefByUuid(cls: string, uuid: string): string | undefined {
    for (const [ref, row] of this.tables.get(cls) ?? []) {
      if (row.fields['uuid'] === uuid) return ref;
    }
    return undefined;
  }

  find(cls: string, predicate: (record: XapiRecord, ref: string) => boolean): Array<[string, XapiRecord]> {
    const out: Array<[string, XapiRecord]> = [];
    for (const ref of this.refs(cls)) {
      const record = this.tryGetRecord(cls, ref);
      if (record !== undefined && predicate(record, ref)) out.push([ref, record]);
    }
    return out;
  }

  /** The first ref of `cls` whose name_label is `name`; throws if there is none. */
  refByName(cls: string, name: string): string {
    const hit = this.find(cls, (r) => r['name_label'] === name)[0];
    if (hit === undefined) throw new Error(`no ${cls} named ${name}`);
    return hit[0];
  }

  poolRef(): string {
    const ref = this.refs('pool')[0];
    if (ref === undefined) throw new XapiFailure('INTERNAL_ERROR', ['the database has no pool']);
    return ref;
  }

  masterRef(): string {
    const master = this.peek('pool', this.poolRef())?.['master'];
    return typeof master === 'string' ? master : NULL_REF;
  }

  // ---------------------------------------------------------------- writes

  /** Inserts a row; `fields` must not carry computed set fields. Returns its ref. */
  create(cls: string, fields: XapiRecord, ref: string = newRef()): string {
    this.addClass(cls);
    const table = this.tables.get(cls)!;
    if (table.has(ref)) throw new Error(`${cls} ${ref} already exists`);
    const stored = this.withoutDerived(cls, fields);
    this.dropIndexes(cls);
    const generation = this.nextGeneration++;
    table.set(ref, { fields: stored, created: generation, modified: generation });
    this.classGenerations.set(cls, generation);
    for (const relation of relationsForRefClass(cls)) this.touchIfPresent(relation.setClass, stored[relation.refField]);
    this.notify();
    return ref;
  }

  /** Writes some fields of a row, like a series of `<cls>.set_<field>` calls in one transaction. */
  update(cls: string, ref: string, patch: XapiRecord): void {
    const row = this.tables.get(cls)?.get(ref);
    if (row === undefined) throw handleInvalid(cls, ref);
    for (const field of Object.keys(patch)) {
      if (isDerivedField(cls, field)) throw new Error(`${cls}.${field} is computed from its relation and cannot be set`);
    }
    // The rows on the set side of a relation change too (a VM moving changes both hosts'
    // resident_VMs), and XAPI reports them as modified.
    for (const relation of relationsForRefClass(cls)) {
      if (!(relation.refField in patch)) continue;
      const before = row.fields[relation.refField];
      const after = patch[relation.refField];
      if (before === after) continue;
      this.touchIfPresent(relation.setClass, before);
      this.touchIfPresent(relation.setClass, after);
    }
    Object.assign(row.fields, cloneValue(patch));
    this.dropIndexes(cls);
    row.modified = this.nextGeneration++;
    this.classGenerations.set(cls, row.modified);
    this.notify();
  }

  destroy(cls: string, ref: string): void {
    const table = this.tables.get(cls);
    const row = table?.get(ref);
    if (table === undefined || row === undefined) throw handleInvalid(cls, ref);
    table.delete(ref);
    this.dropIndexes(cls);
    const deleted = this.nextGeneration++;
    this.tombstones.push({ cls, ref, created: row.created, deleted });
    this.classGenerations.set(cls, deleted);
    if (this.tombstones.length > maxTombstones) this.tombstones.splice(0, this.tombstones.length - maxTombstones);
    for (const relation of relationsForRefClass(cls)) this.touchIfPresent(relation.setClass, row.fields[relation.refField]);
    this.notify();
  }

  /**
   * `event.inject`: marks the row modified without changing it and returns a token from just
   * before that change, so the caller's next `event.from` sees at least this event.
   */
  inject(cls: string, ref: string): string {
    const row = this.tables.get(cls)?.get(ref);
    if (row === undefined) throw handleInvalid(cls, ref);
    const generation = this.nextGeneration++;
    row.modified = generation;
    this.notify();
    return formatEventToken(generation - 1);
  }

  /** The last generation handed out; a token for "now". */
  get generation(): number {
    return this.nextGeneration - 1;
  }

  /**
   * The generation at which a row of `cls` was last created, written or deleted; 0 if none has
   * been since this database was made. Rows only marked modified (a relation's set side,
   * `event.inject`) leave it: their fields did not change. Every XAPI call's task is a write, so
   * `generation` moves on every call; an index built from a few classes is rebuilt only when one
   * of those moved (the simulator's storage index was rebuilt on every call, bench/fanout.mjs).
   */
  classGeneration(cls: string): number {
    return this.classGenerations.get(cls) ?? 0;
  }

  // ---------------------------------------------------------------- events

  /**
   * Everything that changed after generation `from` in the objects `matches` selects, as
   * xapi_event.ml's collect_events/from_inner build it: an object created after `from` is one
   * `add` (never also a `mod`), one changed since is a `mod`, one deleted since is a `del` unless
   * it was also created since (then nothing); the id is the generation of that change and the
   * timestamp "0.0". `last` is the newest generation among the matching changes, or `from` if
   * none: the token event.from hands back, also when it times out.
   */
  eventsSince(from: number, matches: (lowerClass: string, ref: string) => boolean): { events: XapiEvent[]; last: number; token: string } {
    const adds: Array<[number, XapiEvent]> = [];
    const mods: Array<[number, XapiEvent]> = [];
    const dels: Array<[number, XapiEvent]> = [];
    let last = from;
    for (const [cls, table] of this.tables) {
      if (this.isSilentClass(cls)) continue;
      const lower = cls.toLowerCase();
      for (const [ref, row] of table) {
        if (row.modified <= from && row.created <= from) continue;
        if (!matches(lower, ref)) continue;
        last = Math.max(last, row.modified, row.created);
        const snapshot = this.tryGetRecord(cls, ref)!;
        if (row.created > from) adds.push([row.created, { id: String(row.created), timestamp: '0.0', class: lower, operation: 'add', ref, snapshot }]);
        else mods.push([row.modified, { id: String(row.modified), timestamp: '0.0', class: lower, operation: 'mod', ref, snapshot }]);
      }
    }
    for (const t of this.tombstones) {
      if (t.deleted <= from) continue;
      const lower = t.cls.toLowerCase();
      if (this.isSilentClass(t.cls) || !matches(lower, t.ref)) continue;
      last = Math.max(last, t.deleted);
      if (t.created > from) continue;
      dels.push([t.deleted, { id: String(t.deleted), timestamp: '0.0', class: lower, operation: 'del', ref: t.ref }]);
    }
    const ordered = (list: Array<[number, XapiEvent]>): XapiEvent[] => list.sort((a, b) => a[0] - b[0]).map(([, e]) => e);
    return { events: [...ordered(adds), ...ordered(mods), ...ordered(dels)], last, token: formatEventToken(last) };
  }

  /** Row count per class, lower-cased, as `event.from` reports in `valid_ref_counts`. */
  validRefCounts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [cls, table] of this.tables) out[cls.toLowerCase()] = table.size;
    return out;
  }

  onChange(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /** Resolves at the next change, or after `timeoutMs` of the db clock; rejects if `signal` aborts. */
  waitForChange(timeoutMs: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const stopTimer = new AbortController();
      const finish = (): void => {
        unsubscribe();
        signal.removeEventListener('abort', onAbort);
        stopTimer.abort();
      };
      const onAbort = (): void => {
        finish();
        reject(signal.reason as Error);
      };
      const unsubscribe = this.onChange(() => {
        finish();
        resolve();
      });
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });
      this.clock.sleep(timeoutMs, stopTimer.signal).then(
        () => {
          finish();
          resolve();
        },
        () => undefined,
      );
    });
  }

  // ---------------------------------------------------------------- internals

  private withoutDerived(cls: string, fields: XapiRecord): XapiRecord {
    const out: XapiRecord = {};
    for (const [field, value] of Object.entries(fields)) {
      if (!isDerivedField(cls, field)) out[field] = cloneValue(value);
    }
    return out;
  }

  private indexFor(relation: Relation): Map<string, string[]> | undefined {
    const cached = this.reverseIndex.get(relation);
    if (cached !== undefined) return cached;
    const source = this.tables.get(relation.refClass);
    if (source === undefined) return undefined;
    const index = new Map<string, string[]>();
    for (const [sourceRef, sourceRow] of source) {
      const target = sourceRow.fields[relation.refField];
      if (typeof target !== 'string') continue;
      const members = index.get(target);
      if (members === undefined) index.set(target, [sourceRef]);
      else members.push(sourceRef);
    }
    this.reverseIndex.set(relation, index);
    return index;
  }

  private dropIndexes(refClass: string): void {
    for (const relation of relationsForRefClass(refClass)) this.reverseIndex.delete(relation);
  }

  private touchIfPresent(cls: string, ref: XapiValue | undefined): void {
    if (!isLiveRef(ref)) return;
    const row = this.tables.get(cls)?.get(ref);
    if (row !== undefined) row.modified = this.nextGeneration++;
  }

  private notify(): void {
    for (const listener of [...this.changeListeners]) listener();
  }
}

/** XAPI's event token: last generation and message generation, zero-padded so tokens sort as strings. */
export function formatEventToken(generation: number, messageGeneration = 0): string {
  return `${String(generation).padStart(20, '0')},${String(messageGeneration).padStart(20, '0')}`;
}

/** Parses an `event.from` token; `''` means "from the beginning". Returns undefined if malformed. */
export function parseEventToken(token: string): number | undefined {
  if (token === '') return 0;
  const match = /^(\d+),(\d+)$/.exec(token);
  return match === null ? undefined : Number(match[1]);
}
