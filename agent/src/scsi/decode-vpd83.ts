import { ScsiDecodeError } from './scsi-errors.js';

/** Device Identification VPD page (0x83), SPC-4 7.8.6: designation descriptors. */
export interface Designator {
  association: 'logical-unit' | 'target-port' | 'target-device' | 'reserved';
  type: string;
  codeSet: 'binary' | 'ascii' | 'utf-8' | string;
  /** Hex (lowercase) for binary designators, text for ASCII/UTF-8 ones. */
  value: string;
  /** Protocol identifier when PIV is set ("iscsi", "fcp", "sas", ...), else null. */
  protocol: string | null;
}

export interface Vpd83Info {
  designators: Designator[];
  t10Vendor: string | null;
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
    .replace(/\0+$/g, '')
    .replace(/\0/g, ' ')
    .trimEnd();

export function decodeVpd83(b: Uint8Array): Vpd83Info {
  if (b.length < 4) throw new ScsiDecodeError('VPD page 0x83', `${b.length} bytes, need at least 4`);
  if (b[1] !== 0x83) throw new ScsiDecodeError('VPD page 0x83', `page code is 0x${(b[1] as number).toString(16).padStart(2, '0')}, not 0x83`);
  const end = Math.min(b.length, 4 + (((b[2] as number) << 8) | (b[3] as number)));
  const designators: Designator[] = [];
  let off = 4;
  while (off + 4 <= end) {
    const codeSetN = (b[off] as number) & 0x0f;
    const piv = ((b[off + 1] as number) & 0x80) !== 0;
    const assoc = ((b[off + 1] as number) >> 4) & 0x3;
    const typeN = (b[off + 1] as number) & 0x0f;
    const len = b[off + 3] as number;
    if (off + 4 + len > end) throw new ScsiDecodeError('VPD page 0x83', `descriptor at offset ${off} runs past the page (${len} bytes)`);
    const data = b.subarray(off + 4, off + 4 + len);
    const codeSet = codeSets[codeSetN] ?? `reserved-${codeSetN}`;
    designators.push({
      association: associations[assoc] ?? 'reserved',
      type: designatorTypes[typeN] ?? `reserved-${typeN}`,
      codeSet,
      value: codeSet === 'binary' ? hex(data) : text(data),
      protocol: piv && (assoc === 1 || assoc === 2) ? (protocols[(b[off] as number) >> 4] ?? `protocol-${(b[off] as number) >> 4}`) : null,
    });
    off += 4 + len;
  }
  const first = (type: string, prefer: readonly Designator['association'][] = ['logical-unit', 'target-device', 'target-port']) => {
    for (const a of prefer) {
      const d = designators.find((x) => x.type === type && x.association === a);
      if (d !== undefined) return d;
    }
    return designators.find((x) => x.type === type);
  };
  const port16 = (d: Designator | undefined) => (d === undefined || d.codeSet !== 'binary' || d.value.length < 8 ? null : Number.parseInt(d.value.slice(4, 8), 16));
  return {
    designators,
    t10Vendor: first('t10-vendor-id')?.value ?? null,
    naa: first('naa')?.value ?? null,
    relativeTargetPort: port16(first('relative-target-port')),
    targetPortGroup: port16(first('target-port-group')),
    scsiName: first('scsi-name-string')?.value ?? null,
  };
}

/**
 * The text `sg_vpd -p 0x83` (1.3x-1.4x) prints: "  Addressed logical unit:" / "  Target port:" blocks,
 * "designator type: NAA,  code set: Binary" lines, then the value ("0x6000...", "Relative target port: 0x1").
 */
export function parseSgVpd83Text(input: string): Vpd83Info {
  const designators: Designator[] = [];
  let association: Designator['association'] = 'logical-unit';
  let pending: { type: string; codeSet: string } | null = null;
  let vendorId: string | null = null;
  let protocol: string | null = null;
  const protocolOf = (t: string): string => {
    if (/iSCSI/i.test(t)) return 'iscsi';
    if (/Fibre Channel/i.test(t)) return 'fcp';
    if (/Serial Attached/i.test(t)) return 'sas';
    if (/SCSI RDMA/i.test(t)) return 'srp';
    if (/Parallel SCSI/i.test(t)) return 'spi';
    if (/USB Attached/i.test(t)) return 'uas';
    if (/PCIe/i.test(t)) return 'pcie';
    return t.toLowerCase();
  };
  const typeOf = (t: string): string => {
    const s = t.toLowerCase();
    if (s.startsWith('naa')) return 'naa';
    if (s.startsWith('t10')) return 't10-vendor-id';
    if (s.startsWith('eui')) return 'eui-64';
    if (s.startsWith('relative target port')) return 'relative-target-port';
    if (s.startsWith('target port group')) return 'target-port-group';
    if (s.startsWith('logical unit group')) return 'logical-unit-group';
    if (s.startsWith('scsi name')) return 'scsi-name-string';
    if (s.startsWith('md5')) return 'md5-logical-unit-id';
    if (s.startsWith('uuid')) return 'uuid';
    if (s.startsWith('protocol specific')) return 'protocol-specific-port-id';
    return 'vendor-specific';
  };
  for (const raw of input.split(/\r?\n/)) {
    const line = raw.trim();
    if (/^Addressed logical unit:?$/i.test(line)) association = 'logical-unit';
    else if (/^Target port:?$/i.test(line)) association = 'target-port';
    else if (/^Target device that contains addressed lu:?$/i.test(line)) association = 'target-device';
    const m = /designator type:\s*([^,]+),\s*code set:\s*(\S+)/i.exec(line);
    if (m !== null) {
      protocol = null;
      pending = { type: typeOf(m[1] ?? ''), codeSet: (m[2] ?? '').toLowerCase() === 'binary' ? 'binary' : (m[2] ?? '').toLowerCase() === 'utf-8' ? 'utf-8' : 'ascii' };
      continue;
    }
    if (pending === null || line === '') continue;
    const transport = /^transport:\s*(.*)$/i.exec(line);
    if (transport !== null) {
      protocol = protocolOf(transport[1] ?? '');
      continue;
    }
    let value: string | null = null;
    const portLine = /^(?:Relative target port|Target port group|Logical unit group):\s*0x([0-9a-fA-F]+)/i.exec(line);
    if (portLine?.[1] !== undefined) value = portLine[1].padStart(8, '0');
    else if (/^0x[0-9a-fA-F]+$/.test(line)) value = line.slice(2).toLowerCase();
    else if (/^\[0x[0-9a-fA-F]+\]$/.test(line)) value = line.slice(3, -1).toLowerCase();
    else if (/^vendor id:/i.test(line)) {
      vendorId = line.replace(/^vendor id:\s*/i, '');
      continue;
    } else if (/^SCSI name string:\s*$/i.test(line)) continue;
    else if (/^vendor specific:/i.test(line) && vendorId !== null) {
      value = `${vendorId.padEnd(8)}${line.replace(/^vendor specific:\s*/i, '')}`;
      vendorId = null;
    } else if (pending.codeSet !== 'binary') value = line.replace(/^(vendor specific|SCSI name string):\s*/i, '');
    if (value === null) continue;
    designators.push({ association, type: pending.type, codeSet: pending.codeSet, value, protocol });
    pending = null;
  }
  if (designators.length === 0) throw new ScsiDecodeError('sg_vpd 0x83 output', 'no "designator type:" lines');
  const bytesFor = designators.find((d) => d.type === 'naa' && d.association === 'logical-unit') ?? designators.find((d) => d.type === 'naa');
  const num = (type: string) => {
    const d = designators.find((x) => x.type === type);
    return d === undefined ? null : Number.parseInt(d.value, 16);
  };
  return {
    designators,
    t10Vendor: designators.find((d) => d.type === 't10-vendor-id')?.value ?? null,
    naa: bytesFor?.value ?? null,
    relativeTargetPort: num('relative-target-port'),
    targetPortGroup: num('target-port-group'),
    scsiName: designators.find((d) => d.type === 'scsi-name-string')?.value ?? null,
  };
}
