import { ScsiDecodeError } from './scsi-errors.js';

/** Standard INQUIRY data (SPC-4 6.6.2), the fields that matter for multipathing. */
export interface InquiryInfo {
  peripheralQualifier: number | null;
  deviceType: number | null;
  version: number | null;
  /** TPGS (byte 5 bits 5-4): 0 none, 1 implicit, 2 explicit, 3 both. */
  tpgs: number | null;
  tpgsMeaning: string | null;
  thirdPartyCopy: boolean | null;
  protect: boolean | null;
  multiPort: boolean | null;
  vendor: string | null;
  product: string | null;
  revision: string | null;
  length: number | null;
}

export const tpgsMeanings = ['not supported', 'implicit ALUA', 'explicit ALUA', 'implicit and explicit ALUA'] as const;

const ascii = (b: Uint8Array, from: number, to: number): string | null => {
  if (b.length <= from) return null;
  return Buffer.from(b.subarray(from, Math.min(to, b.length)))
    .toString('latin1')
    .replace(/\0/g, ' ')
    .trim();
};

export function decodeInquiry(b: Uint8Array): InquiryInfo {
  if (b.length < 8) throw new ScsiDecodeError('standard INQUIRY', `${b.length} bytes, need at least 8`);
  const tpgs = ((b[5] as number) >> 4) & 0x3;
  return {
    peripheralQualifier: ((b[0] as number) >> 5) & 0x7,
    deviceType: (b[0] as number) & 0x1f,
    version: b[2] as number,
    tpgs,
    tpgsMeaning: tpgsMeanings[tpgs] ?? null,
    thirdPartyCopy: ((b[5] as number) & 0x08) !== 0,
    protect: ((b[5] as number) & 0x01) !== 0,
    multiPort: ((b[6] as number) & 0x10) !== 0,
    vendor: ascii(b, 8, 16),
    product: ascii(b, 16, 32),
    revision: ascii(b, 32, 36),
    length: (b[4] as number) + 5,
  };
}

/** The text `sg_inq DEVICE` prints (any version since 1.2x): "TPGS=0", "Vendor identification: DELL". */
export function parseSgInqText(text: string): InquiryInfo {
  const num = (re: RegExp): number | null => {
    const m = re.exec(text)?.[1];
    if (m === undefined) return null;
    return m.startsWith('0x') ? Number.parseInt(m.slice(2), 16) : Number.parseInt(m, 10);
  };
  const flag = (re: RegExp): boolean | null => {
    const n = num(re);
    return n === null ? null : n !== 0;
  };
  const str = (re: RegExp): string | null => re.exec(text)?.[1]?.trim() ?? null;
  const tpgs = num(/\bTPGS=(\d)/);
  if (tpgs === null && str(/Vendor identification:\s*(.*)/) === null) throw new ScsiDecodeError('sg_inq output', 'no TPGS= and no "Vendor identification:" line');
  return {
    peripheralQualifier: num(/\bPQual=(\d+)/),
    deviceType: num(/\b(?:Device_type|PDT)=(\d+)/),
    version: num(/\bversion=(0x[0-9a-fA-F]+|\d+)/),
    tpgs,
    tpgsMeaning: tpgs === null ? null : (tpgsMeanings[tpgs] ?? null),
    thirdPartyCopy: flag(/\b3PC=(\d)/),
    protect: flag(/\bProtect=(\d)/),
    multiPort: flag(/\bMultiP=(\d)/),
    vendor: str(/Vendor identification:[ \t]*(.*)/),
    product: str(/Product identification:[ \t]*(.*)/),
    revision: str(/Product revision level:[ \t]*(.*)/),
    length: num(/\blength=(\d+)/),
  };
}
