import { XsctlError } from '@xsctl/common/errors/index';

/**
 * Bytes from the hex dumps admins paste: sg3_utils `-H` (offset column, ASCII column),
 * `-HH`/`-HHH` (bytes only), `--hex` of old versions, a plain hex string ("00830024..."),
 * `0x00, 0x83` lists and `xxd` lines. Lines that are not hex (headers such as
 * "Device Identification VPD page:") are skipped.
 */
export class HexInputError extends XsctlError {
  readonly code = 'HEX_INPUT_INVALID';

  constructor(readonly reason: string) {
    super(reason);
  }
}

/** More bytes than any SCSI page (a VPD page is at most 64 KiB + 4). */
const maxBytes = 65_540;

const pair = /^[0-9a-fA-F]{2}$/;

function bytesOfTokens(tokens: readonly string[]): number[] | null {
  const out: number[] = [];
  for (const raw of tokens) {
    const t = raw.replace(/^0x/i, '');
    if (t === '') continue;
    if (pair.test(t)) out.push(Number.parseInt(t, 16));
    else if (/^[0-9a-fA-F]+$/.test(t) && t.length % 2 === 0 && t.length > 2) {
      for (let i = 0; i < t.length; i += 2) out.push(Number.parseInt(t.slice(i, i + 2), 16));
    } else return null;
  }
  return out;
}

/**
 * One element at a time: `push(...b)` passes every byte as an argument, and a long hex line
 * (a few hundred thousand bytes) overflows the stack with a RangeError.
 */
function append(bytes: number[], b: readonly number[]): void {
  if (bytes.length + b.length > maxBytes) throw new HexInputError(`more than ${maxBytes} bytes: no SCSI page is that long`);
  for (const x of b) bytes.push(x);
}

export function parseHexDump(text: string): Buffer {
  const bytes: number[] = [];
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === '') continue;
    // xxd: "00000000: 00c9 002c 7661 6331  ...,vac1"
    const xxd = /^[0-9a-fA-F]{4,8}:\s+(.*)$/.exec(line);
    if (xxd?.[1] !== undefined) {
      const hexPart = xxd[1].split(/\s{2,}/)[0] ?? '';
      const b = bytesOfTokens(hexPart.split(/\s+/));
      if (b !== null) append(bytes, b);
      continue;
    }
    // sg3_utils -H: " 00     00 c9 00 2c 76 61 63 31  f1 01 00 01 01 01 00 00    ...,vac1........"
    const parts = line.split(/\s{3,}/);
    let data = parts[0] ?? '';
    if (parts.length >= 2 && /^[0-9a-fA-F]{1,8}$/.test(parts[0] ?? '') && bytesOfTokens((parts[1] ?? '').split(/\s+/)) !== null) data = parts[1] ?? '';
    const b = bytesOfTokens(data.split(/[\s,]+/));
    if (b !== null) append(bytes, b);
  }
  if (bytes.length === 0) throw new HexInputError('no hex bytes in the input');
  return Buffer.from(bytes);
}

/** Space-separated hex, the form `sg_vpd --inhex` and `sg_inq --inhex` read. */
export function toSpacedHex(buf: Uint8Array): string {
  const out: string[] = [];
  for (let i = 0; i < buf.length; i += 16) {
    out.push(
      Array.from(buf.subarray(i, i + 16))
        .map((b) => b.toString(16).padStart(2, '0'))
        .join(' '),
    );
  }
  return `${out.join('\n')}\n`;
}
