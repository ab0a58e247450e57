import { deviceTypeNames } from './decode-inquiry.js';
import { ScsiDecodeError } from './scsi-errors.js';

/** T10 vendor identification (designator type 1, SPC-4 7.8.6.4): an 8-byte vendor id, then the vendor's identifier. */
export interface T10VendorId {
  /** Bytes 0-7, trailing blanks removed (e.g. "LIO-ORG", "NETAPP"). */
  vendorId: string;
  /** The rest: the vendor-specific identifier. */
  vendorSpecific: string;
}

/** NAA designator (type 3) parts, as `sg_vpd -l` prints them; hex values are "0x..." without leading zeros. */
export interface NaaParts {
  /** 5 (IEEE registered) or 6 (IEEE registered extended). */
  format: number;
  companyId: string;
  vendorSpecific: string;
  /** NAA 6 only: the 8-byte vendor specific identifier extension. */
  extension?: string;
}

/** EUI-64 designator (type 2) of 8 bytes: the IEEE company id and the vendor extension. */
export interface Eui64Parts {
  companyId: string;
  extension: string;
}

/** Device Identification VPD page (0x83), SPC-4 7.8.6: designation descriptors. */
export interface Designator {
  association: 'logical-unit' | 'target-port' | 'target-device' | 'reserved';
  type: string;
  codeSet: 'binary' | 'ascii' | 'utf-8' | string;
  /** Hex (lowercase) for binary designators, text for ASCII/UTF-8 ones (T10: vendor id padded to 8, then the rest). */
  value: string;
  /** Protocol identifier when PIV is set ("iscsi", "fcp", "sas", ...), else null. */
  protocol: string | null;
  t10?: T10VendorId;
  naa?: NaaParts;
  eui64?: Eui64Parts;
  /** Relative target port, target port group, logical unit group. */
  number?: number;
  /** Type 10, locally assigned UUID, as 8-4-4-4-12 hex. */
  uuid?: string;
}

export interface Vpd83Info {
  peripheralQualifier: number | null;
  deviceType: number | null;
  designators: Designator[];
  t10Vendor: T10VendorId | null;
  naa: string | null;
  relativeTargetPort: number | null;
  targetPortGroup: number | null;
  scsiName: string | null;
}

const associations = ['logical-unit', 'target-port', 'target-device', 'reserved'] as const;
const designatorTypes: Readonly<Record<number, string>> = {
  0: 'vendor-specific',
  1: 't10-vendor-id',
  2: 'eui-64',
  3: 'naa',
  4: 'relative-target-port',
  5: 'target-port-group',
  6: 'logical-unit-group',
  7: 'md5-logical-unit-id',
  8: 'scsi-name-string',
  9: 'protocol-specific-port-id',
  10: 'uuid',
};
const codeSets: Readonly<Record<number, string>> = { 1: 'binary', 2: 'ascii', 3: 'utf-8' };
const protocols: Readonly<Record<number, string>> = { 0: 'fcp', 1: 'spi', 2: 'ssa', 3: 'sbp', 4: 'srp', 5: 'iscsi', 6: 'sas', 7: 'adt', 8: 'ata', 9: 'uas', 10: 'sop', 11: 'pcie' };

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const text = (b: Uint8Array) =>
  Buffer.from(b)
    .toString('utf8')
    // Trailing NULs become blanks and go with them.
    .replace(/\0/g, ' ')
    .trimEnd();
/** A bit field as sg_vpd prints it: 0x, lowercase, no leading zeros. */
const hexNumber = (n: bigint) => `0x${n.toString(16)}`;
const bits = (h: string, from: number, count: number): bigint => (BigInt(`0x${h}`) >> BigInt(h.length * 4 - from - count)) & ((1n << BigInt(count)) - 1n);

/** NAA 5/6 fields (SPC-4 7.8.6.6): 4-bit NAA, 24-bit company id, 36-bit vendor id, NAA 6: 64-bit extension. */
export function naaParts(h: string): NaaParts | undefined {
  const format = Number.parseInt(h[0] ?? '', 16);
  if (format === 5 && h.length === 16) return { format, companyId: hexNumber(bits(h, 4, 24)), vendorSpecific: hexNumber(bits(h, 28, 36)) };
  if (format === 6 && h.length === 32) {
    return { format, companyId: hexNumber(bits(h, 4, 24)), vendorSpecific: hexNumber(bits(h, 28, 36)), extension: hexNumber(bits(h, 64, 64)) };
  }
  return undefined;
}

export function eui64Parts(h: string): Eui64Parts | undefined {
  return h.length === 16 ? { companyId: hexNumber(bits(h, 0, 24)), extension: hexNumber(bits(h, 24, 40)) } : undefined;
}

function decodeDesignator(b: Uint8Array, off: number, data: Uint8Array): Designator {
  const codeSetN = (b[off] as number) & 0x0f;
  const piv = ((b[off + 1] as number) & 0x80) !== 0;
  const assoc = ((b[off + 1] as number) >> 4) & 0x3;
  const typeN = (b[off + 1] as number) & 0x0f;
  const codeSet = codeSets[codeSetN] ?? `reserved-${codeSetN}`;
  const d: Designator = {
    association: associations[assoc] ?? 'reserved',
    type: designatorTypes[typeN] ?? `reserved-${typeN}`,
    codeSet,
    value: codeSet === 'binary' ? hex(data) : text(data),
    protocol: piv && (assoc === 1 || assoc === 2) ? (protocols[(b[off] as number) >> 4] ?? `protocol-${(b[off] as number) >> 4}`) : null,
  };
  if (typeN === 1 && data.length >= 8) {
    // The vendor id is exactly 8 bytes, blank-padded (SPC-4 table 473); the rest is the vendor's.
    d.t10 = { vendorId: Buffer.from(data.subarray(0, 8)).toString('latin1').trimEnd(), vendorSpecific: text(data.subarray(8)) };
  }
  if (typeN === 3 && codeSet === 'binary') {
    const parts = naaParts(d.value);
    if (parts !== undefined) d.naa = parts;
  }
  if (typeN === 2 && codeSet === 'binary') {
    const parts = eui64Parts(d.value);
    if (parts !== undefined) d.eui64 = parts;
  }
  if ((typeN === 4 || typeN === 5 || typeN === 6) && data.length >= 4) d.number = ((data[2] as number) << 8) | (data[3] as number);
  if (typeN === 10 && data.length === 18) {
    const u = hex(data.subarray(2));
    d.uuid = `${u.slice(0, 8)}-${u.slice(8, 12)}-${u.slice(12, 16)}-${u.slice(16, 20)}-${u.slice(20)}`;
  }
  return d;
}

function summarise(designators: Designator[], peripheralQualifier: number | null, deviceType: number | null): Vpd83Info {
  const first = (type: string, prefer: readonly Designator['association'][] = ['logical-unit', 'target-device', 'target-port']) => {
    for (const a of prefer) {
      const d = designators.find((x) => x.type === type && x.association === a);
      if (d !== undefined) return d;
    }
    return designators.find((x) => x.type === type);
  };
  return {
    peripheralQualifier,
    deviceType,
    designators,
    t10Vendor: first('t10-vendor-id')?.t10 ?? null,
    naa: first('naa')?.value ?? null,
    relativeTargetPort: first('relative-target-port')?.number ?? null,
    targetPortGroup: first('target-port-group')?.number ?? null,
    scsiName: first('scsi-name-string')?.value ?? null,
  };
}

export function decodeVpd83(b: Uint8Array): Vpd83Info {
  if (b.length < 4) throw new ScsiDecodeError('VPD page 0x83', `${b.length} bytes, need at least 4`);
  if (b[1] !== 0x83) throw new ScsiDecodeError('VPD page 0x83', `page code is 0x${(b[1] as number).toString(16).padStart(2, '0')}, not 0x83`);
  const end = Math.min(b.length, 4 + (((b[2] as number) << 8) | (b[3] as number)));
  const designators: Designator[] = [];
  let off = 4;
  while (off + 4 <= end) {
    const len = b[off + 3] as number;
    if (off + 4 + len > end) throw new ScsiDecodeError('VPD page 0x83', `descriptor at offset ${off} runs past the page (${len} bytes)`);
    designators.push(decodeDesignator(b, off, b.subarray(off + 4, off + 4 + len)));
    off += 4 + len;
  }
  return summarise(designators, ((b[0] as number) >> 5) & 0x7, (b[0] as number) & 0x1f);
}

export interface SgVpd83Parse {
  info: Vpd83Info;
  /** Lines sg_vpd printed that no field accounts for: a field we do not decode, or a new format. */
  unrecognised: string[];
}

/**
 * sg_lib's names of the protocol identifiers (sg_get_trans_proto_str, sg_lib_transport_proto_strs),
 * index = identifier, without the standard's version in parentheses that follows some of them and
 * changes between releases ("(FCP-5)", "(SPL-4)"). 0xc-0xe print as "Oxc".."Oxe" (sg_lib's spelling).
 */
const transportNames = [
  'Fibre Channel Protocol for SCSI', 'SCSI Parallel Interface', 'Serial Storage Architecture SCSI-3 Protocol', 'Serial Bus Protocol for IEEE 1394',
  'SCSI RDMA Protocol', 'Internet SCSI', 'Serial Attached SCSI Protocol', 'Automation/Drive Interface Transport', 'AT Attachment Interface',
  'USB Attached SCSI', 'SCSI over PCI Express', 'PCIe', 'Oxc', 'Oxd', 'Oxe', 'No specific protocol',
];

/** The binary decoder's name for the protocol sg_vpd names, or undefined for a name sg_lib does not print. */
const protocolOf = (t: string): string | undefined => {
  const id = transportNames.indexOf(t.replace(/ \([^()]+\)$/, ''));
  return id < 0 ? undefined : (protocols[id] ?? `protocol-${id}`);
};

/** sg_vpd's names of the designator types (desig_type_arr, the same since sg3_utils 1.3x), index = type. */
const designatorTypeNames = [
  'vendor specific [0x0]', 'T10 vendor identification', 'EUI-64 based', 'NAA', 'Relative target port', 'Target port group',
  'Logical unit group', 'MD5 logical unit identifier', 'SCSI name string', 'Protocol specific port identifier', 'UUID identifier',
];
/** sg_vpd's association headings (assoc_arr), index = association. */
const associationHeadings = ['Addressed logical unit:', 'Target port:', 'Target device that contains addressed lu:', 'Reserved [0x3]:'];
/** sg_vpd's names of the code sets (code_set_arr), index = code set. */
const codeSetNames = ['Reserved [0x0]', 'Binary', 'ASCII', 'UTF-8'];

/**
 * A type or code set number from sg_vpd's name: its table, or "Reserved [0xN]" (older releases print
 * type 10 that way: they predate the UUID designator).
 */
const numberOf = (names: readonly string[], t: string): number | undefined => {
  const i = names.indexOf(t);
  if (i >= 0) return i;
  // 2013's sg_vpd printed reserved code sets 4-15 and types 10-15 as "[0xN]" only.
  const reserved = /^(?:Reserved )?\[0x([0-9a-f])\]$/.exec(t);
  return reserved === null ? undefined : Number.parseInt(reserved[1] as string, 16);
};

/**
 * The text `sg_vpd -p 0x83` prints, with or without `-l` (1.3x-1.6x): "  Addressed logical unit:" /
 * "  Target port:" blocks, "designator type: NAA,  code set: Binary" lines, then the value
 * ("0x6000...", "Relative target port: 0x1", "vendor id:" + "vendor specific:", -l's NAA and EUI-64
 * breakdowns, hex dumps of binary vendor-specific and MD5 designators). Every line is accounted for
 * or returned in `unrecognised`.
 */
export function parseSgVpd83TextStrict(input: string): SgVpd83Parse {
  const designators: Designator[] = [];
  const unrecognised: string[] = [];
  let association: Designator['association'] = 'logical-unit';
  let cur: Designator | null = null;
  let hexDump: string[] | null = null;
  let pq: number | null = null;
  let pdt: number | null = null;
  const flushHex = () => {
    if (cur !== null && hexDump !== null) cur.value = hexDump.join('');
    hexDump = null;
  };
  // sg_vpd prints a SCSI name on the line right after "SCSI name string:" (and nowhere else).
  let nameLabel = false;
  for (const raw of input.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '') continue;
    const afterNameLabel = nameLabel;
    nameLabel = false;
    if (hexDump !== null) {
      // sg3_utils' hex dump starts in column 0: up to 16 bytes in the first 49 columns, then the
      // ASCII column (which may itself look like hex, so it is cut off by position).
      const bytes = /^[0-9a-f]{2}(?: |$)/i.test(raw) ? raw.slice(0, 49).trim().split(/\s+/) : [];
      if (bytes.length > 0 && bytes.every((x) => /^[0-9a-f]{2}$/i.test(x))) {
        hexDump.push(...bytes.map((x) => x.toLowerCase()));
        continue;
      }
      flushHex();
    }
    if (line === 'Device Identification VPD page:') continue;
    // sg_vpd -l: "   [PQual=%d  Peripheral device type: %s]" (PQual is 3 bits).
    const pqLine = /^\[PQual=([0-7]) {2}Peripheral device type: (.+)\]$/.exec(line);
    if (pqLine !== null) {
      pq = Number(pqLine[1]);
      const idx = deviceTypeNames.indexOf(pqLine[2] as string);
      pdt = idx < 0 ? null : idx;
      if (idx < 0) unrecognised.push(line);
      continue;
    }
    const heading = associationHeadings.indexOf(line);
    if (heading >= 0) {
      association = associations[heading] as Designator['association'];
      continue;
    }
    // sg_vpd's printf: "    designator type: %s,  code set: %s" (two blanks before "code set").
    const m = /^designator type: (.+), {2}code set: (.+)$/.exec(line);
    if (m !== null) {
      const typeN = numberOf(designatorTypeNames, m[1] as string);
      const codeSetN = numberOf(codeSetNames, m[2] as string);
      if (typeN === undefined || codeSetN === undefined) unrecognised.push(line);
      // The binary decoder's names for the same numbers (a name sg_vpd does not print: vendor specific).
      const type = typeN === undefined ? 'vendor-specific' : (designatorTypes[typeN] ?? `reserved-${typeN}`);
      const codeSet = codeSetN === undefined ? 'ascii' : (codeSets[codeSetN] ?? `reserved-${codeSetN}`);
      cur = { association, type, codeSet, value: '', protocol: null };
      designators.push(cur);
      continue;
    }
    if (cur === null) {
      unrecognised.push(line);
      continue;
    }
    const d: Designator = cur;
    const transport = /^transport: (.*)$/.exec(line);
    if (transport !== null) {
      const protocol = protocolOf(transport[1] as string);
      if (protocol === undefined) unrecognised.push(line);
      else d.protocol = protocol;
      continue;
    }
    const numbered = /^(?:Relative target port|Target port group|Logical unit group):\s*0x([0-9a-fA-F]+)$/i.exec(line);
    if (numbered?.[1] !== undefined) {
      d.number = Number.parseInt(numbered[1], 16);
      d.value = numbered[1].padStart(8, '0').toLowerCase();
      continue;
    }
    if (/^0x[0-9a-fA-F]+$/.test(line) || /^\[0x[0-9a-fA-F]+\]$/.test(line)) {
      // -l repeats a UUID's 16 bytes in brackets; the value keeps the descriptor's 18 bytes.
      if (d.type === 'uuid' && d.uuid !== undefined && line.replace(/^\[0x|\]$/g, '').toLowerCase() === d.uuid.replaceAll('-', '')) continue;
      d.value = line.replace(/^\[?0x|\]$/g, '').toLowerCase();
      if (d.type === 'naa') {
        const parts = naaParts(d.value);
        // Without -l only the hex is printed: the parts follow from it. With -l they were read above.
        if (parts !== undefined && d.naa === undefined) d.naa = parts;
      }
      if (d.type === 'eui-64' && d.eui64 === undefined) {
        const parts = eui64Parts(d.value);
        if (parts !== undefined) d.eui64 = parts;
      }
      continue;
    }
    const naaHead = /^NAA ([56]), IEEE Company_id: (0x[0-9a-f]+)$/.exec(line);
    if (naaHead !== null) {
      d.naa = { format: Number(naaHead[1]), companyId: naaHead[2] as string, vendorSpecific: '' };
      continue;
    }
    const vsi = /^Vendor Specific Identifier( Extension)?: (0x[0-9a-f]+)$/.exec(line);
    if (vsi !== null && d.naa !== undefined) {
      if (vsi[1] === undefined) d.naa.vendorSpecific = vsi[2] as string;
      else d.naa.extension = vsi[2] as string;
      continue;
    }
    if (/^EUI-64 based 8 byte identifier$/.test(line)) {
      d.eui64 = { companyId: '', extension: '' };
      continue;
    }
    const euiField = /^(IEEE Company_id|Vendor Specific Extension Identifier): (0x[0-9a-f]+)$/.exec(line);
    if (euiField !== null && d.eui64 !== undefined) {
      if (euiField[1] === 'IEEE Company_id') d.eui64.companyId = euiField[2] as string;
      else d.eui64.extension = euiField[2] as string;
      if (d.eui64.companyId !== '' && d.eui64.extension !== '') d.value = `${BigInt(d.eui64.companyId).toString(16).padStart(6, '0')}${BigInt(d.eui64.extension).toString(16).padStart(10, '0')}`;
      continue;
    }
    // "      vendor id: %.8s": the 8 bytes as they are (blank padded), so read from the raw line.
    const vendorId = /^vendor id: (.*)$/.exec(raw.replace(/^\s+/, ''));
    if (vendorId !== null) {
      const id = (vendorId[1] as string).replace(/\s+$/, '');
      d.t10 = { vendorId: id, vendorSpecific: '' };
      d.value = (vendorId[1] as string).padEnd(8);
      continue;
    }
    // "vendor specific: %.*s", or "vendor specific:" and a hex dump (binary); the line is trimmed.
    const vs = /^vendor specific:(?: (.*))?$/.exec(line);
    if (vs !== null) {
      const value = vs[1] ?? '';
      if (d.t10 !== undefined) {
        d.t10.vendorSpecific = value;
        d.value = `${d.value.padEnd(8)}${value}`;
      } else if (vs[1] === undefined) hexDump = [];
      else d.value = value;
      continue;
    }
    if (/^MD5 logical unit identifier:$/.test(line)) {
      hexDump = [];
      continue;
    }
    const uuid = /^Locally assigned UUID: ([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/.exec(line);
    if (uuid !== null) {
      d.uuid = uuid[1] as string;
      d.value = `1000${d.uuid.replaceAll('-', '')}`;
      continue;
    }
    if (/^SCSI name string:$/.test(line)) {
      nameLabel = true;
      continue;
    }
    // sg_vpd's remark on a descriptor that breaks a SHALL of SPC (`<< expected UTF-8, use ASCII >>`):
    // not a value (read as one, it became the SCSI name of an ASCII name-string designator).
    if (/^<<.*>>$/.test(line)) continue;
    if (d.type === 'scsi-name-string' && d.value === '' && afterNameLabel) {
      d.value = line;
      continue;
    }
    unrecognised.push(line);
  }
  flushHex();
  if (designators.length === 0) throw new ScsiDecodeError('sg_vpd 0x83 output', 'no "designator type:" lines');
  // A text paste has no page header byte: the -l "[PQual=..." line is the only source of these.
  return { info: summarise(designators, pq, pdt), unrecognised };
}

export function parseSgVpd83Text(input: string): Vpd83Info {
  return parseSgVpd83TextStrict(input).info;
}
