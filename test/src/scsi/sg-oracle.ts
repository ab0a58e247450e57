import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { CommandRunner } from '@xsctl/agent/exec/command-runner';
import { toSpacedHex } from '@xsctl/agent/scsi/hex-input';
import { removeWhenFileEnds } from '@xsctl/common/testing/temp-dir';

/**
 * The real sg3_utils as the oracle of the agent's SCSI decoders: `sg_vpd --inhex` / `sg_inq
 * --inhex` decode the same bytes the decoders are given, and their text is what the text parsers
 * read on a dom0. And the byte builders for VPD page 0x83 (SPC-4 7.8.6), so that a test states a
 * page designator by designator.
 */

// Debian's sg3_utils is newer than a dom0's (1.37), so its options are not the agent's table's.
const runner = new CommandRunner({ checkToolOptions: false, logger: pino({ level: 'silent' }) });
let dir: Promise<string> | undefined;

/** `TOOL --inhex=FILE ARGS...` on `bytes` (written as sg3_utils' spaced hex); its stdout. */
export async function sgInhex(tool: 'sg_vpd' | 'sg_inq', bytes: Uint8Array, args: readonly string[] = []): Promise<string> {
  // One directory for the test file's calls (memoized), removed when the file ends.
  dir ??= mkdtemp(join(tmpdir(), 'xsctl-sg-oracle-')).then((d) => {
    removeWhenFileEnds(d);
    return d;
  });
  const file = join(await dir, `${tool}-${Math.random().toString(36).slice(2)}.hex`);
  await writeFile(file, toSpacedHex(bytes));
  try {
    return (await runner.run(tool, [`--inhex=${file}`, ...args])).stdout;
  } finally {
    await rm(file, { force: true });
  }
}

/** `sg_vpd --inhex=FILE -p 0x83 ARGS...`. */
export const sgVpd83 = (bytes: Uint8Array, ...args: string[]): Promise<string> => sgInhex('sg_vpd', bytes, ['-p', '0x83', ...args]);

/** One designation descriptor: code set, PIV, protocol identifier, association, designator type. */
export interface Desc {
  codeSet: number;
  piv?: number;
  proto?: number;
  assoc: number;
  type: number;
  data: Buffer;
}

/** The descriptor's bytes: its 4-byte header (SPC-4 table 459), then the designator. */
export const desc = (d: Desc): Buffer =>
  Buffer.concat([Buffer.from([((d.proto ?? 0) << 4) | d.codeSet, ((d.piv ?? 0) << 7) | (d.assoc << 4) | d.type, 0, d.data.length]), d.data]);

/** A page 0x83: byte 0 (peripheral qualifier and device type), the page code, the length, the descriptors. */
export function page(descs: readonly Desc[], byte0 = 0): Buffer {
  const body = Buffer.concat(descs.map(desc));
  return Buffer.concat([Buffer.from([byte0, 0x83, body.length >> 8, body.length & 0xff]), body]);
}

/** Bytes from hex digits, spaces ignored. */
export const hex = (s: string): Buffer => Buffer.from(s.replace(/ /g, ''), 'hex');

/** A SCSI name string: UTF-8, NUL-terminated and padded to a multiple of 4 bytes (SPC-4 7.8.6.11). */
export const padded = (s: string): Buffer => {
  const b = Buffer.from(s, 'utf8');
  return Buffer.concat([b, Buffer.alloc(4 - (b.length % 4))]);
};

/** Plain `sg_vpd -p 0x83` (no -l) does not print the page's first byte: PQual and PDT are unknown there. */
export const withoutHeader = <T extends { peripheralQualifier: unknown; deviceType: unknown }>(v: T): T => ({ ...v, peripheralQualifier: null, deviceType: null });
