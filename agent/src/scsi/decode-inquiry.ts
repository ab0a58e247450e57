import { ScsiDecodeError } from './scsi-errors.js';

/**
 * Standard INQUIRY data (SPC-4 6.6.2). The named fields are the ones multipathing needs; `flags`
 * holds every flag `sg_inq` prints, under sg_inq's own names (PQual, PDT, RMB, ... IUS), so the
 * decoder can be compared with `sg_inq --inhex` field by field, not only on the fields we use.
 */
export interface InquiryInfo {
  peripheralQualifier: number | null;
  deviceType: number | null;
  /** sg_inq's name for the device type ("disk", "storage array controller", ...). */
  deviceTypeName: string | null;
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
  /** Every flag as sg_inq names it; VS only with MultiP=1, Clocking/QAS/IUS only for 56+ byte responses (as sg_inq prints them). */
  flags: Record<string, number>;
}

export const tpgsMeanings = ['not supported', 'implicit ALUA', 'explicit ALUA', 'implicit and explicit ALUA'] as const;

/** sg3_utils' peripheral device type names (sg_lib), index = PDT; checked against sg_inq in the tests. */
export const deviceTypeNames: readonly string[] = [
  'disk',
  'tape',
  'printer',
  'processor',
  'write once optical disk',
  'cd/dvd',
  'scanner',
  'optical memory device',
  'medium changer',
  'communications',
  'graphics [0xa]',
  'graphics [0xb]',
  'storage array controller',
  'enclosure services device',
  'simplified direct access device',
  'optical card reader/writer device',
  'bridge controller commands',
  'object based storage',
  'automation/driver interface',
  'security manager device',
  'host managed zoned block',
  ...Array.from({ length: 9 }, (_, i) => `0x${(0x15 + i).toString(16)}`),
  'well known logical unit',
  'unknown or no device type',
];

const ascii = (b: Uint8Array, from: number, to: number): string | null => {
  if (b.length <= from) return null;
  return Buffer.from(b.subarray(from, Math.min(to, b.length)))
    .toString('latin1')
    .replace(/\0/g, ' ')
    .trim();
};

function inquiryFlags(b: Uint8Array, length: number): Record<string, number> {
  const at = (i: number) => b[i] ?? 0;
  const bit = (i: number, n: number) => (at(i) >> n) & 1;
  const f: Record<string, number> = {
    PQual: (at(0) >> 5) & 0x7,
    PDT: at(0) & 0x1f,
    RMB: bit(1, 7),
    LU_CONG: bit(1, 6),
    hot_pluggable: (at(1) >> 4) & 0x3,
    version: at(2),
    AERC: bit(3, 7),
    TrmTsk: bit(3, 6),
    NormACA: bit(3, 5),
    HiSUP: bit(3, 4),
    Resp_data_format: at(3) & 0x0f,
    SCCS: bit(5, 7),
    ACC: bit(5, 6),
    TPGS: (at(5) >> 4) & 0x3,
    '3PC': bit(5, 3),
    Protect: bit(5, 0),
    BQue: bit(6, 7),
    EncServ: bit(6, 6),
    MultiP: bit(6, 4),
    MChngr: bit(6, 3),
    ACKREQQ: bit(6, 2),
    Addr16: bit(6, 0),
    RelAdr: bit(7, 7),
    WBus16: bit(7, 5),
    Sync: bit(7, 4),
    Linked: bit(7, 3),
    TranDis: bit(7, 2),
    CmdQue: bit(7, 1),
    length,
  };
  // sg_inq prints byte 6 bit 5 only beside MultiP=1 ("MultiP=1 (VS=0)").
  if (f['MultiP'] === 1) f['VS'] = bit(6, 5);
  // The SPI-specific byte 56, printed for a response of 56 bytes or more.
  if (length >= 56) {
    f['Clocking'] = (at(56) >> 2) & 0x3;
    f['QAS'] = bit(56, 1);
    f['IUS'] = bit(56, 0);
  }
  return f;
}

export function decodeInquiry(b: Uint8Array): InquiryInfo {
  if (b.length < 8) throw new ScsiDecodeError('standard INQUIRY', `${b.length} bytes, need at least 8`);
  const tpgs = ((b[5] as number) >> 4) & 0x3;
  const length = (b[4] as number) + 5;
  const deviceType = (b[0] as number) & 0x1f;
  return {
    peripheralQualifier: ((b[0] as number) >> 5) & 0x7,
    deviceType,
    deviceTypeName: deviceTypeNames[deviceType] ?? null,
    version: b[2] as number,
    tpgs,
    tpgsMeaning: tpgsMeanings[tpgs] ?? null,
    thirdPartyCopy: ((b[5] as number) & 0x08) !== 0,
    protect: ((b[5] as number) & 0x01) !== 0,
    multiPort: ((b[6] as number) & 0x10) !== 0,
    vendor: ascii(b, 8, 16),
    product: ascii(b, 16, 32),
    revision: ascii(b, 32, 36),
    length,
    flags: inquiryFlags(b, length),
  };
}

/** What parseSgInqText could not place: a line or token sg_inq printed that no field accounts for. */
export interface SgInqParse {
  info: InquiryInfo;
  unrecognised: string[];
}

/** sg_inq 1.37 (the dom0's sg3_utils) says Device_type where newer ones say PDT. */
const flagAliases: Readonly<Record<string, string>> = { Device_type: 'PDT' };

/** The flags sg_inq prints (inquiryFlags' names): another NAME=value is left over, not taken as a flag. */
const flagNames = new Set(Object.keys(inquiryFlags(new Uint8Array(57), 57)).concat('VS', 'Device_type'));

/**
 * The text `sg_inq DEVICE` prints (any version since 1.2x): "TPGS=0", "Vendor identification: DELL".
 * Every NAME=value token sg_inq prints becomes a flag; a line or token that is neither a flag nor a
 * known field is kept in `unrecognised` (parseSgInqTextStrict), so a field sg_inq shows and we do
 * not decode is seen.
 */
export function parseSgInqTextStrict(text: string): SgInqParse {
  const flags: Record<string, number> = {};
  const unrecognised: string[] = [];
  let vendor: string | null = null;
  let product: string | null = null;
  let revision: string | null = null;
  let deviceTypeName: string | null = null;
  for (const raw of text.split(/\r?\n/)) {
    // Web pages of sg_inq output space it with U+00A0.
    const line = raw.replace(/\u00a0/g, ' ').trim();
    if (line.startsWith('standard INQUIRY:')) continue; // the header, with sg_inq's remark on PQual
    // " Vendor identification: %.8s" (blank padded, so nothing after the colon once trimmed when blank).
    const field = /^(Vendor identification|Product identification|Product revision level|Unit serial number): ?(.*)$/.exec(line);
    if (field !== null) {
      const value = field[2] as string;
      if (field[1] === 'Vendor identification') vendor = value;
      else if (field[1] === 'Product identification') product = value;
      else if (field[1] === 'Product revision level') revision = value;
      // The unit serial number comes from VPD page 0x80, not from these bytes.
      continue;
    }
    let rest = line;
    // "    length=74 (0x4a)   Peripheral device type: disk"
    const pdtName = / Peripheral device type: (.+)/.exec(rest);
    if (pdtName !== null) {
      deviceTypeName = pdtName[1] as string;
      rest = rest.slice(0, pdtName.index);
    }
    // "length=74 (0x4a)": the hex repeat; "version=0x05  [SPC-3]": the standard's name for the version.
    rest = rest.replace(/\blength=(\d+) \(0x[0-9a-f]+\)/i, 'length=$1').replace(/(version=0x[0-9a-f]+)\s+\[[^\]=]*\]/i, '$1');
    // "MultiP=1 (VS=0)", "[SPI: Clocking=0x0  QAS=0  IUS=0]" and "[AERC=0]" (a flag of an obsolete bit).
    rest = rest.replace(/MultiP=1 \(VS=(\d)\)/, 'MultiP=1 VS=$1').replace(/\[SPI: ([^\]]*)\]/, '$1').replace(/\[([^\s[\]]+)\]/g, '$1');
    for (const t of rest.split(' ')) {
      if (t === '') continue;
      const m = /^([A-Za-z0-9_]+)=(0x[0-9a-fA-F]+|\d+)$/.exec(t);
      if (m === null || !flagNames.has(m[1] as string)) {
        unrecognised.push(`${line} (${t})`);
        continue;
      }
      const name = flagAliases[m[1] as string] ?? (m[1] as string);
      flags[name] = Number(m[2]);
    }
  }
  const tpgs = flags['TPGS'] ?? null;
  if (tpgs === null && vendor === null) throw new ScsiDecodeError('sg_inq output', 'no TPGS= and no "Vendor identification:" line');
  const flag = (name: string): boolean | null => (flags[name] === undefined ? null : flags[name] !== 0);
  return {
    info: {
      peripheralQualifier: flags['PQual'] ?? null,
      deviceType: flags['PDT'] ?? null,
      deviceTypeName,
      version: flags['version'] ?? null,
      tpgs,
      tpgsMeaning: tpgsMeanings[tpgs ?? -1] ?? null,
      thirdPartyCopy: flag('3PC'),
      protect: flag('Protect'),
      multiPort: flag('MultiP'),
      vendor,
      product,
      revision,
      length: flags['length'] ?? null,
      flags,
    },
    unrecognised,
  };
}

export function parseSgInqText(text: string): InquiryInfo {
  return parseSgInqTextStrict(text).info;
}
