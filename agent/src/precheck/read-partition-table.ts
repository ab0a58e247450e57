import { open } from 'node:fs/promises';
import { partitionDevice as partitionNode } from './boot-disk.js';
import { PartitionTableParseError, type PartitionEntry, type PartitionTable } from './partition-table.js';

/**
 * Reads an MBR or GPT partition table straight from a disk or image, as the kernel and
 * util-linux do, so the prechecks need no sfdisk (a dom0's util-linux 2.23 sfdisk has no -J and
 * no GPT support). Layouts: UEFI 2.x §5.2-5.3 (protective MBR, GPT header and entries), the
 * classic MBR with the extended-partition (EBR) chain numbered from 5 as Linux does.
 * Decoding is pure over a byte-reader; readPartitionTable() supplies one over a file.
 */

export type ReadBytes = (offset: number, length: number) => Promise<Buffer>;

export interface DecodeOptions {
  /** How partition nodes are named (sda -> sda1); the disk's path. */
  device: string;
  /** Logical sector size: 512 for images, /sys/class/block/X/queue/logical_block_size for devices. */
  sectorSize: number;
  /** Disk size in bytes, to find the backup GPT header when the primary is damaged. */
  sizeBytes?: number;
}

const crcTable = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE 802.3), the checksum GPT uses for its header and entry array. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = (crcTable[(c ^ b) & 0xff] ?? 0) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A GUID as GPT stores it: the first three fields little-endian, the rest in byte order. Upper case, like sfdisk. */
export function gptGuid(b: Buffer, at: number): string {
  const hex = (from: number, to: number) => b.subarray(at + from, at + to).toString('hex');
  const le = (from: number, to: number) => Buffer.from(b.subarray(at + from, at + to)).reverse().toString('hex');
  return `${le(0, 4)}-${le(4, 6)}-${le(6, 8)}-${hex(8, 10)}-${hex(10, 16)}`.toUpperCase();
}

const u64 = (b: Buffer, at: number): number => {
  const v = b.readBigUInt64LE(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new PartitionTableParseError(`LBA ${v} is out of range`);
  return Number(v);
};

const GPT_SIGNATURE = 'EFI PART';
const MBR_GPT_PROTECTIVE = 0xee;
const MBR_EXTENDED = new Set([0x05, 0x0f, 0x85]);
const MAX_LOGICAL = 256;

interface MbrSlot {
  slot: number;
  type: number;
  start: number;
  size: number;
  bootable: boolean;
}

function mbrSlots(sector0: Buffer): MbrSlot[] {
  const out: MbrSlot[] = [];
  for (let i = 0; i < 4; i++) {
    const at = 446 + i * 16;
    out.push({ slot: i + 1, bootable: sector0[at] === 0x80, type: sector0[at + 4] ?? 0, start: sector0.readUInt32LE(at + 8), size: sector0.readUInt32LE(at + 12) });
  }
  return out;
}

const hasBootSignature = (b: Buffer): boolean => b.length >= 512 && b[510] === 0x55 && b[511] === 0xaa;

interface GptHeader {
  firstLba: number;
  lastLba: number;
  entriesLba: number;
  entryCount: number;
  entrySize: number;
  entriesCrc: number;
}

async function readGptHeader(read: ReadBytes, lba: number, sectorSize: number): Promise<GptHeader | string> {
  const h = await read(lba * sectorSize, sectorSize);
  if (h.length < 92 || h.toString('latin1', 0, 8) !== GPT_SIGNATURE) return `no GPT signature at LBA ${lba}`;
  const headerSize = h.readUInt32LE(12);
  if (headerSize < 92 || headerSize > sectorSize) return `GPT header at LBA ${lba} has size ${headerSize}`;
  const copy = Buffer.from(h.subarray(0, headerSize));
  const stored = copy.readUInt32LE(16);
  copy.writeUInt32LE(0, 16);
  if (crc32(copy) !== stored) return `GPT header at LBA ${lba} fails its CRC`;
  const header = {
    firstLba: u64(h, 40),
    lastLba: u64(h, 48),
    entriesLba: u64(h, 72),
    entryCount: h.readUInt32LE(80),
    entrySize: h.readUInt32LE(84),
    entriesCrc: h.readUInt32LE(88),
  };
  // UEFI: 128 x 2^n bytes; anything past a sector is a damaged header (and would make a huge read).
  if (header.entrySize < 128 || header.entrySize % 8 !== 0 || header.entrySize > 4096 || header.entryCount > 4096) return `GPT header at LBA ${lba} has ${header.entryCount} entries of ${header.entrySize} bytes`;
  return header;
}

async function decodeGpt(read: ReadBytes, opts: DecodeOptions): Promise<PartitionTable> {
  const { sectorSize } = opts;
  let header = await readGptHeader(read, 1, sectorSize);
  // A damaged primary header: the backup sits in the disk's last sector (what sfdisk and the kernel fall back to).
  if (typeof header === 'string' && opts.sizeBytes !== undefined && opts.sizeBytes >= 2 * sectorSize) {
    const backup = await readGptHeader(read, Math.floor(opts.sizeBytes / sectorSize) - 1, sectorSize);
    if (typeof backup !== 'string') header = backup;
  }
  if (typeof header === 'string') throw new PartitionTableParseError(`protective MBR but ${header}`);
  const entries = await read(header.entriesLba * sectorSize, header.entryCount * header.entrySize);
  if (entries.length < header.entryCount * header.entrySize) throw new PartitionTableParseError('GPT entry array is cut short');
  if (crc32(entries) !== header.entriesCrc) throw new PartitionTableParseError('GPT entry array fails its CRC');
  const partitions: PartitionEntry[] = [];
  for (let i = 0; i < header.entryCount; i++) {
    const at = i * header.entrySize;
    const type = gptGuid(entries, at);
    if (type === '00000000-0000-0000-0000-000000000000') continue;
    const first = u64(entries, at + 32);
    const last = u64(entries, at + 40);
    const nameRaw = entries.subarray(at + 56, at + 128).toString('utf16le');
    const nul = nameRaw.indexOf('\0');
    partitions.push({
      number: i + 1,
      node: partitionNode(opts.device, i + 1),
      start: first,
      size: last - first + 1,
      type,
      name: nul === -1 ? nameRaw : nameRaw.slice(0, nul),
      uuid: gptGuid(entries, at + 16),
      // sfdisk reports GPT's legacy-BIOS-bootable bit as an attribute, not as "bootable".
      bootable: false,
    });
  }
  return { label: 'gpt', device: opts.device, sectorSize, firstLba: header.firstLba, lastLba: header.lastLba, partitions };
}

/** Logical partitions: a chain of EBRs, each holding one partition (relative to itself) and a link (relative to the extended partition). */
async function decodeLogicals(read: ReadBytes, opts: DecodeOptions, extendedStart: number): Promise<PartitionEntry[]> {
  const out: PartitionEntry[] = [];
  const seen = new Set<number>();
  let ebr = extendedStart;
  while (out.length < MAX_LOGICAL && !seen.has(ebr)) {
    seen.add(ebr);
    const sector = await read(ebr * opts.sectorSize, opts.sectorSize);
    if (!hasBootSignature(sector)) break;
    const [entry, link] = mbrSlots(sector);
    if (entry !== undefined && entry.type !== 0 && entry.size > 0) {
      const n = 5 + out.length;
      out.push({ number: n, node: partitionNode(opts.device, n), start: ebr + entry.start, size: entry.size, type: entry.type.toString(16), name: '', uuid: '', bootable: entry.bootable });
    }
    if (link === undefined || link.start === 0 || !MBR_EXTENDED.has(link.type)) break;
    ebr = extendedStart + link.start;
  }
  return out;
}

/** The partition table at the start of a disk: GPT behind a protective MBR, else MBR with its logicals. */
export async function decodePartitionTable(read: ReadBytes, opts: DecodeOptions): Promise<PartitionTable> {
  const sector0 = await read(0, 512);
  if (!hasBootSignature(sector0)) throw new PartitionTableParseError(`${opts.device} has no partition table (no 55AA boot signature)`);
  const slots = mbrSlots(sector0);
  if (slots.some((s) => s.type === MBR_GPT_PROTECTIVE)) return await decodeGpt(read, opts);
  const partitions: PartitionEntry[] = [];
  for (const s of slots) {
    if (s.type === 0 || s.size === 0) continue;
    partitions.push({ number: s.slot, node: partitionNode(opts.device, s.slot), start: s.start, size: s.size, type: s.type.toString(16), name: '', uuid: '', bootable: s.bootable });
  }
  const extended = slots.find((s) => MBR_EXTENDED.has(s.type) && s.size > 0);
  if (extended !== undefined) partitions.push(...(await decodeLogicals(read, opts, extended.start)));
  return { label: 'dos', device: opts.device, sectorSize: opts.sectorSize, firstLba: undefined, lastLba: undefined, partitions };
}

/** Opens a disk or image read-only and decodes its table. */
export async function readPartitionTable(path: string, opts: Omit<DecodeOptions, 'device'> & { device?: string; signal?: AbortSignal }): Promise<PartitionTable> {
  const fh = await open(path, 'r');
  try {
    const read: ReadBytes = async (offset, length) => {
      opts.signal?.throwIfAborted();
      const buf = Buffer.alloc(length);
      const { bytesRead } = await fh.read(buf, 0, length, offset);
      return buf.subarray(0, bytesRead);
    };
    return await decodePartitionTable(read, { device: opts.device ?? path, sectorSize: opts.sectorSize, ...(opts.sizeBytes === undefined ? {} : { sizeBytes: opts.sizeBytes }) });
  } finally {
    await fh.close();
  }
}
