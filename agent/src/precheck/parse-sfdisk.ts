/**
 * Partition tables as util-linux sfdisk prints them, for text an admin pastes and as the tests'
 * oracle. The agent itself reads the table from the disk (read-partition-table.ts): a dom0's
 * sfdisk (util-linux 2.23) has no -J and prints `Id=de` instead of `type=de`. Pure functions, no I/O.
 */

import { PartitionTableParseError, partitionNumber, type PartitionEntry, type PartitionTable } from './partition-table.js';

export { PartitionTableParseError, partitionNumber, type PartitionEntry, type PartitionTable };

function normaliseType(type: string): string {
  const t = type.trim();
  if (/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(t)) return t.toUpperCase();
  return t.toLowerCase().replace(/^0x/, '');
}

const num = (v: unknown): number => (typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN);

/** `sfdisk -J DEVICE` output. */
export function parseSfdiskJson(text: string): PartitionTable {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new PartitionTableParseError(`sfdisk -J printed no JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  const pt = (doc as { partitiontable?: Record<string, unknown> } | null)?.partitiontable;
  if (pt === undefined || typeof pt !== 'object') throw new PartitionTableParseError('no "partitiontable" object');
  if (pt['unit'] !== undefined && pt['unit'] !== 'sectors') throw new PartitionTableParseError(`unit is ${String(pt['unit'])}, expected sectors`);
  const raw = Array.isArray(pt['partitions']) ? (pt['partitions'] as Record<string, unknown>[]) : [];
  const partitions: PartitionEntry[] = raw.map((p) => {
    const start = num(p['start']);
    const size = num(p['size']);
    if (!Number.isFinite(start) || !Number.isFinite(size)) throw new PartitionTableParseError('a partition lacks start or size');
    const node = typeof p['node'] === 'string' ? p['node'] : '';
    return {
      number: partitionNumber(node),
      node,
      start,
      size,
      type: normaliseType(String(p['type'] ?? '')),
      name: typeof p['name'] === 'string' ? p['name'] : '',
      uuid: typeof p['uuid'] === 'string' ? p['uuid'] : '',
      bootable: p['bootable'] === true,
    };
  });
  const sectorSize = num(pt['sectorsize']);
  return {
    label: String(pt['label'] ?? ''),
    device: typeof pt['device'] === 'string' ? pt['device'] : '',
    sectorSize: Number.isFinite(sectorSize) && sectorSize > 0 ? sectorSize : 512,
    firstLba: Number.isFinite(num(pt['firstlba'])) ? num(pt['firstlba']) : undefined,
    lastLba: Number.isFinite(num(pt['lastlba'])) ? num(pt['lastlba']) : undefined,
    partitions: partitions.filter((p) => p.size > 0),
  };
}

/** Splits `key=value, key="quoted, value", flag` as sfdisk -d writes partition lines. */
function splitFields(text: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const re = /\s*([A-Za-z-]+)\s*(?:=\s*("(?:[^"\\]|\\.)*"|[^,]*))?\s*(?:,|$)/gy;
  let m: RegExpExecArray | null;
  while (re.lastIndex < text.length && (m = re.exec(text)) !== null) {
    if (m[0] === '') break;
    const value = m[2] ?? '';
    out.push([m[1] ?? '', value.startsWith('"') ? value.slice(1, -1).replace(/\\(.)/g, '$1') : value.trim()]);
  }
  return out;
}

/**
 * `sfdisk -d DEVICE` output: new style (`label: gpt`, `sda1 : start=2048, size=…, type=…, name="…"`)
 * and old style (`# partition table of /dev/sda`, `unit: sectors`, `/dev/sda1 : start=   63, size=    5, Id=de`).
 */
export function parseSfdiskDump(text: string): PartitionTable {
  const header: Record<string, string> = {};
  const partitions: PartitionEntry[] = [];
  let sawUnit = false;
  for (const line of text.split(/\r?\n/)) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const part = /^(\S+)\s*:\s*(start=.*)$/.exec(trimmed);
    if (part !== null) {
      const fields = new Map(splitFields(part[2] ?? ''));
      const start = num(fields.get('start'));
      const size = num(fields.get('size'));
      if (!Number.isFinite(start) || !Number.isFinite(size)) throw new PartitionTableParseError(`cannot read "${trimmed}"`);
      const node = part[1] ?? '';
      partitions.push({
        number: partitionNumber(node),
        node,
        start,
        size,
        type: normaliseType(fields.get('type') ?? fields.get('Id') ?? ''),
        name: fields.get('name') ?? '',
        uuid: fields.get('uuid') ?? '',
        bootable: fields.has('bootable'),
      });
      continue;
    }
    const kv = /^([a-z-]+)\s*:\s*(.*)$/.exec(trimmed);
    if (kv !== null) {
      header[kv[1] ?? ''] = kv[2] ?? '';
      if (kv[1] === 'unit') sawUnit = true;
    }
  }
  if (!sawUnit && partitions.length === 0) throw new PartitionTableParseError('no "unit:" header and no partitions: not sfdisk -d output');
  if (header['unit'] !== undefined && header['unit'] !== 'sectors') throw new PartitionTableParseError(`unit is ${header['unit']}, expected sectors`);
  const sectorSize = num(header['sector-size']);
  return {
    // sfdisk before 2.26 only knew DOS tables and printed no label.
    label: header['label'] ?? 'dos',
    device: header['device'] ?? '',
    sectorSize: Number.isFinite(sectorSize) && sectorSize > 0 ? sectorSize : 512,
    firstLba: Number.isFinite(num(header['first-lba'])) ? num(header['first-lba']) : undefined,
    lastLba: Number.isFinite(num(header['last-lba'])) ? num(header['last-lba']) : undefined,
    // Old sfdisk lists all four primary slots, empty ones with size 0.
    partitions: partitions.filter((p) => p.size > 0),
  };
}
