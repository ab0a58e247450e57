import { readFile } from 'node:fs/promises';
import { XMLParser } from 'fast-xml-parser';
import type { Clock } from './clock.js';
import { XAPI_EPOCH_DATE } from './clock.js';
import { apiFieldName, isHiddenField, knownFieldKind, type FieldKind } from './field-kinds.js';
import { isDerivedField } from './relations.js';
import { looksLikeSExpr, parseSExpr, unprotectXmlSpaces, type SExpr } from './sexpr.js';
import { XapiDb } from './xapi-db.js';
import { estimateOverheadBytes } from '@xsctl/controller/pool-model/index';
import { isLiveRef, NULL_REF, REF_PREFIX, type XapiRecord, type XapiValue } from './xapi-value.js';

export interface LoadPoolDumpOptions {
  clock?: Clock;
}

export class PoolDumpError extends Error {
  constructor(reason: string) {
    super(`not a usable xe pool-dump-database file: ${reason}`);
    this.name = 'PoolDumpError';
  }
}

interface RawTable {
  name: string;
  rows: Array<Record<string, string>>;
}

/** Loads the XML written by `xe pool-dump-database` into a simulator database. */
export async function loadPoolDumpFile(file: string, options: LoadPoolDumpOptions = {}): Promise<XapiDb> {
  return loadPoolDump(await readFile(file, 'utf8'), options);
}

export function loadPoolDump(xml: string, options: LoadPoolDumpOptions = {}): XapiDb {
  const { manifest, tables } = parseDumpXml(xml);
  const generation = Number(manifest['generation_count'] ?? '0');
  const db = new XapiDb({ clock: options.clock, generation: Number.isFinite(generation) ? generation : 0 });
  for (const table of tables) db.addClass(table.name);
  for (const table of tables) {
    const hints = tableHints(table);
    for (const raw of table.rows) {
      const ref = raw['ref'] ?? raw['_ref'];
      if (ref === undefined || !ref.startsWith(REF_PREFIX)) throw new PoolDumpError(`a ${table.name} row has no ref`);
      db.create(table.name, convertRow(table.name, raw, hints), ref);
    }
  }
  if (db.count('pool') !== 1) throw new PoolDumpError(`expected one pool row, found ${db.count('pool')}`);
  const bootFreeMemory = new Map<string, number>();
  for (const row of tables.find((t) => t.name === 'host')?.rows ?? []) {
    const ref = row['ref'] ?? row['_ref'];
    if (ref !== undefined && row['boot_free_mem'] !== undefined) bootFreeMemory.set(ref, toNumber(row['boot_free_mem']));
  }
  synthesiseMissingMetrics(db, bootFreeMemory);
  fillMemoryOverhead(db);
  return db;
}

function parseDumpXml(xml: string): { manifest: Record<string, string>; tables: RawTable[] } {
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    trimValues: false,
    parseAttributeValue: false,
    parseTagValue: false,
    isArray: (name) => name === 'table' || name === 'row' || name === 'pair',
  });
  const doc = parser.parse(xml) as { database?: { manifest?: { pair?: Array<{ key: string; value: string }> }; table?: unknown[] } };
  const database = doc.database;
  if (database === undefined) throw new PoolDumpError('no <database> element');
  const manifest: Record<string, string> = {};
  for (const pair of database.manifest?.pair ?? []) manifest[pair.key] = pair.value;
  const tables: RawTable[] = [];
  for (const t of database.table ?? []) {
    const table = t as { name?: string; row?: Array<Record<string, string>> } | string;
    if (typeof table !== 'object' || typeof table.name !== 'string') continue;
    tables.push({
      name: table.name,
      rows: (table.row ?? []).map((row) => {
        const out: Record<string, string> = {};
        for (const [k, v] of Object.entries(row)) out[k] = unprotectXmlSpaces(String(v));
        return out;
      }),
    });
  }
  if (tables.length === 0) throw new PoolDumpError('no <table> elements');
  return { manifest, tables };
}

interface FieldHint {
  /** Some row holds a non-empty map here, so `()` in another row is an empty map, not a set. */
  map: boolean;
  /** Some row holds an OpaqueRef here, so `''` in another row is the null ref. */
  ref: boolean;
}

function tableHints(table: RawTable): Map<string, FieldHint> {
  const hints = new Map<string, FieldHint>();
  for (const row of table.rows) {
    for (const [field, text] of Object.entries(row)) {
      const hint = hints.get(field) ?? { map: false, ref: false };
      if (text.startsWith(REF_PREFIX)) hint.ref = true;
      if (/^\(\s*\(/.test(text)) hint.map = true;
      hints.set(field, hint);
    }
  }
  return hints;
}

function convertRow(cls: string, raw: Record<string, string>, hints: Map<string, FieldHint>): XapiRecord {
  const record: XapiRecord = {};
  for (const [dumpName, text] of Object.entries(raw)) {
    if (isHiddenField(cls, dumpName)) continue;
    const field = apiFieldName(dumpName);
    if (isHiddenField(cls, field) || isDerivedField(cls, field)) continue;
    const hint = hints.get(dumpName) ?? { map: false, ref: false };
    record[field] = convertValue(text, knownFieldKind(cls, field) ?? inferKind(text, hint));
  }
  return record;
}

function inferKind(text: string, hint: FieldHint): FieldKind {
  if (hint.ref && (text === '' || text.startsWith(REF_PREFIX))) return 'ref';
  // Text that only looks like a collection (it does not parse as xapi's s-expressions) is a string.
  if (looksLikeSExpr(text) && parsesAsSExpr(text)) return hint.map ? 'map' : 'set';
  if (text === 'true' || text === 'false') return 'bool';
  return 'string';
}

function parsesAsSExpr(text: string): boolean {
  try {
    parseSExpr(text);
    return true;
  } catch {
    return false;
  }
}

function convertValue(text: string, kind: FieldKind): XapiValue {
  switch (kind) {
    case 'string':
    case 'datetime':
      return text;
    case 'ref':
      return text === '' ? NULL_REF : text;
    case 'int':
    case 'float':
      return toNumber(text);
    case 'bool':
      return text === 'true';
    case 'set':
    case 'int_set': {
      const items = asList(text).map(flatten);
      return kind === 'int_set' ? items.map(toNumber) : items;
    }
    default:
      return convertMap(text, kind);
  }
}

function convertMap(text: string, kind: FieldKind): XapiValue {
  const list = asList(text);
  const isPairs = list.every((item) => Array.isArray(item) && item.length === 2 && typeof item[0] === 'string');
  if (!isPairs) return list.map(flatten);
  const out: Record<string, XapiValue> = {};
  for (const item of list as Array<[string, SExpr]>) {
    const [key, value] = item;
    if (kind === 'map_int_string_set') out[key] = Array.isArray(value) ? value.map(flatten) : [value];
    else if (kind === 'map_int_float' || kind === 'map_int_int' || kind === 'map_string_int') out[key] = toNumber(flatten(value));
    else out[key] = flatten(value);
  }
  return out;
}

function asList(text: string): SExpr[] {
  if (text === '') return [];
  const parsed = parseSExpr(text);
  return Array.isArray(parsed) ? parsed : [parsed];
}

function flatten(value: SExpr): string {
  return typeof value === 'string' ? value : value.map(flatten).join(' ');
}

function toNumber(text: string): number {
  const n = Number(text.trim() === '' ? '0' : text);
  return Number.isFinite(n) ? n : 0;
}

/**
 * A dump taken on a slave, or an old one, may lack the metrics rows its hosts and VMs point to
 * (state1.xml has no host_metrics at all). XAPI recreates them at runtime; the simulator fills
 * them in from what the dump does say, so clients reading host.metrics see a live host.
 */
function synthesiseMissingMetrics(db: XapiDb, bootFreeMemory: ReadonlyMap<string, number>): void {
  for (const cls of ['host_metrics', 'VM_metrics']) db.addClass(cls);
  for (const hostRef of db.refs('host')) {
    const host = db.getRecord('host', hostRef);
    const metricsRef = host['metrics'];
    if (!isLiveRef(metricsRef) || db.has('host_metrics', metricsRef)) continue;
    // boot_free_mem is what was left after dom0 started; guests resident now use part of it.
    const resident = db.find('VM', (vm) => vm['resident_on'] === hostRef);
    const memoryOf = (vm: XapiRecord): number => numberOf(vm['memory_static_max']) + numberOf(vm['memory_overhead']);
    const dom0 = resident.filter(([, vm]) => vm['is_control_domain'] === true).reduce((s, [, vm]) => s + memoryOf(vm), 0);
    const guests = resident.filter(([, vm]) => vm['is_control_domain'] !== true).reduce((s, [, vm]) => s + memoryOf(vm), 0);
    const bootFree = bootFreeMemory.get(hostRef) ?? guests + 4 * 2 ** 30;
    const total = bootFree + dom0 + numberOf(host['memory_overhead']);
    db.create(
      'host_metrics',
      {
        uuid: uuidFromRef(metricsRef),
        memory_total: total,
        memory_free: Math.max(0, bootFree - guests),
        live: true,
        last_updated: XAPI_EPOCH_DATE,
        other_config: {},
      },
      metricsRef,
    );
  }
  for (const vmRef of db.refs('VM')) {
    const vm = db.getRecord('VM', vmRef);
    const metricsRef = vm['metrics'];
    if (!isLiveRef(metricsRef) || db.has('VM_metrics', metricsRef)) continue;
    const running = vm['power_state'] === 'Running';
    db.create(
      'VM_metrics',
      {
        uuid: uuidFromRef(metricsRef),
        memory_actual: running ? numberOf(vm['memory_dynamic_max']) : 0,
        VCPUs_number: running ? numberOf(vm['VCPUs_at_startup']) : 0,
        VCPUs_utilisation: {},
        VCPUs_CPU: {},
        VCPUs_params: {},
        VCPUs_flags: {},
        state: [],
        start_time: XAPI_EPOCH_DATE,
        install_time: XAPI_EPOCH_DATE,
        last_updated: XAPI_EPOCH_DATE,
        other_config: {},
      },
      metricsRef,
    );
  }
}

/**
 * Dumps from releases before VM.memory_overhead (state1.xml) lack it; XAPI computes it from the
 * VM's static_max and vCPUs (memory_check.ml vm_compute_memory_overhead) and keeps it on the
 * record, so the simulator fills it in: about 1% of static_max, at least 1 MiB.
 */
function fillMemoryOverhead(db: XapiDb): void {
  for (const ref of db.refs('VM')) {
    const vm = db.getRecord('VM', ref);
    if (vm['memory_overhead'] !== undefined || vm['is_control_domain'] === true) continue;
    db.update('VM', ref, { memory_overhead: estimateOverheadBytes(numberOf(vm['memory_static_max'])) });
  }
}

function numberOf(value: XapiValue | undefined): number {
  return typeof value === 'number' ? value : 0;
}

function uuidFromRef(ref: string): string {
  return ref.slice(REF_PREFIX.length);
}
