import { describe, expect, it } from 'vitest';
import { hex, padded, page, sgVpd83 as sgVpd, type Desc } from '@xsctl/test/scsi/sg-oracle';
import { decodeVpd83, eui64Parts, naaParts, parseSgVpd83TextStrict } from './decode-vpd83.js';

/**
 * VPD 0x83 pages built byte by byte (SPC-4 7.8.6) with every designator type, association, code
 * set and protocol identifier; the real `sg_vpd --inhex` (sg3_utils) decodes the same bytes and is
 * the oracle. Values that sg_vpd does not print are computed by hand in the comments.
 */
// In sg_vpd's order (it prints the designators association by association).
const every: Desc[] = [
  { codeSet: 2, assoc: 0, type: 0, data: Buffer.from('vendor spec text') },
  { codeSet: 1, assoc: 0, type: 0, data: hex('0102030405') },
  { codeSet: 2, assoc: 0, type: 1, data: Buffer.from('ATA     WDC123') },
  { codeSet: 1, assoc: 0, type: 2, data: hex('0011223344556677') },
  { codeSet: 1, assoc: 0, type: 3, data: hex('5001405123456789') },
  { codeSet: 1, assoc: 0, type: 6, data: hex('00000003') },
  { codeSet: 1, assoc: 0, type: 7, data: hex('000102030405060708090a0b0c0d0e0f') },
  { codeSet: 1, assoc: 0, type: 10, data: hex('1000 00112233445566778899aabbccddeeff') },
  { codeSet: 1, piv: 1, proto: 6, assoc: 1, type: 3, data: hex('6001405123456789abcdef0123456780') },
  { codeSet: 1, piv: 1, proto: 0, assoc: 1, type: 4, data: hex('00000102') },
  { codeSet: 1, piv: 1, proto: 5, assoc: 1, type: 5, data: hex('00000007') },
  { codeSet: 3, piv: 1, proto: 5, assoc: 1, type: 8, data: padded('iqn.2003-01.org.linux-iscsi.a:sn.1,t,0x1') },
  { codeSet: 2, piv: 0, assoc: 2, type: 8, data: padded('naa.5001405123456789') },
];

describe('VPD 0x83: every designator type against sg_vpd --inhex', () => {
  it('decodes what sg_vpd prints, plain and -l, and nothing sg_vpd prints is left over', async () => {
    const bytes = page(every);
    const ours = decodeVpd83(bytes);
    const long = parseSgVpd83TextStrict(await sgVpd(bytes, '-l'));
    expect(long.unrecognised).toEqual([]);
    expect(long.info).toEqual(ours);
    const plain = parseSgVpd83TextStrict(await sgVpd(bytes));
    expect(plain.unrecognised).toEqual([]);
    expect(plain.info).toEqual({ ...ours, peripheralQualifier: null, deviceType: null });
  });
  it('decodes each field as SPC-4 lays it out (by hand)', () => {
    const d = decodeVpd83(page(every)).designators;
    expect(d.map((x) => [x.association, x.type, x.codeSet, x.protocol])).toEqual([
      ['logical-unit', 'vendor-specific', 'ascii', null],
      ['logical-unit', 'vendor-specific', 'binary', null],
      ['logical-unit', 't10-vendor-id', 'ascii', null],
      ['logical-unit', 'eui-64', 'binary', null],
      ['logical-unit', 'naa', 'binary', null],
      ['logical-unit', 'logical-unit-group', 'binary', null],
      ['logical-unit', 'md5-logical-unit-id', 'binary', null],
      ['logical-unit', 'uuid', 'binary', null],
      ['target-port', 'naa', 'binary', 'sas'],
      ['target-port', 'relative-target-port', 'binary', 'fcp'],
      ['target-port', 'target-port-group', 'binary', 'iscsi'],
      ['target-port', 'scsi-name-string', 'utf-8', 'iscsi'],
      ['target-device', 'scsi-name-string', 'ascii', null],
    ]);
    expect(d[0]?.value).toBe('vendor spec text');
    expect(d[1]?.value).toBe('0102030405');
    expect(d[2]?.t10).toEqual({ vendorId: 'ATA', vendorSpecific: 'WDC123' });
    expect(d[2]?.value).toBe('ATA     WDC123');
    // EUI-64: 24-bit company id 001122, 40-bit extension 3344556677.
    expect(d[3]?.eui64).toEqual({ companyId: '0x1122', extension: '0x3344556677' });
    // NAA 5: 5 | 001405 | 123456789.
    expect(d[4]?.naa).toEqual({ format: 5, companyId: '0x1405', vendorSpecific: '0x123456789' });
    expect(d[5]?.number).toBe(3);
    expect(d[6]?.value).toBe('000102030405060708090a0b0c0d0e0f');
    expect(d[7]?.uuid).toBe('00112233-4455-6677-8899-aabbccddeeff');
    // NAA 6: 6 | 001405 | 123456789 | abcdef0123456780.
    expect(d[8]?.naa).toEqual({ format: 6, companyId: '0x1405', vendorSpecific: '0x123456789', extension: '0xabcdef0123456780' });
    expect(d[9]?.number).toBe(0x0102);
    expect(d[10]?.number).toBe(7);
    expect(d[11]?.value).toBe('iqn.2003-01.org.linux-iscsi.a:sn.1,t,0x1');
  });
  it('reads the peripheral qualifier and device type from byte 0 (-l prints them)', async () => {
    // 0x3f: qualifier 1 (bits 7-5 = 001), type 0x1f (unknown or no device type).
    const bytes = page(every.slice(4, 5), 0x3f);
    const ours = decodeVpd83(bytes);
    expect([ours.peripheralQualifier, ours.deviceType]).toEqual([1, 0x1f]);
    expect(parseSgVpd83TextStrict(await sgVpd(bytes, '-l')).info).toEqual(ours);
    const enclosure = decodeVpd83(page(every.slice(4, 5), 0x0d));
    expect([enclosure.peripheralQualifier, enclosure.deviceType]).toEqual([0, 0x0d]);
  });
});

describe('VPD 0x83: the same designator type under two associations', () => {
  const luNaa: Desc = { codeSet: 1, assoc: 0, type: 3, data: hex('6001405aaaaaaaaa0000000000000001') };
  const portNaa: Desc = { codeSet: 1, piv: 1, proto: 5, assoc: 1, type: 3, data: hex('5001405bbbbbbbbb') };
  const deviceNaa: Desc = { codeSet: 1, assoc: 2, type: 3, data: hex('5001405ccccccccc') };
  it('the LUN identity is the logical unit NAA, whichever comes first on the page', async () => {
    for (const order of [[portNaa, luNaa], [luNaa, portNaa], [deviceNaa, portNaa, luNaa]]) {
      const info = decodeVpd83(page(order));
      expect(info.naa).toBe('6001405aaaaaaaaa0000000000000001');
      expect(info.designators.find((d) => d.association === 'target-port')?.value).toBe('5001405bbbbbbbbb');
    }
    // sg_vpd shows both, each under its own association heading.
    const text = await sgVpd(page([luNaa, portNaa]));
    expect(text).toMatch(/Addressed logical unit:\n\s+designator type: NAA,\s+code set: Binary\n\s+0x6001405aaaaaaaaa0000000000000001\n\s+Target port:\n\s+designator type: NAA,\s+code set: Binary\n\s+transport: Internet SCSI \(iSCSI\)\n\s+0x5001405bbbbbbbbb/);
  });
  it('without a logical unit NAA, the target device one is preferred over the target port one', () => {
    expect(decodeVpd83(page([portNaa, deviceNaa])).naa).toBe('5001405ccccccccc');
    expect(decodeVpd83(page([portNaa])).naa).toBe('5001405bbbbbbbbb');
  });
  it('a designator in the reserved association counts only when nothing else names that type', () => {
    const reserved: Desc = { codeSet: 1, assoc: 3, type: 4, data: hex('00000009') };
    const port: Desc = { codeSet: 1, assoc: 1, type: 4, data: hex('00000002') };
    expect(decodeVpd83(page([reserved])).designators[0]?.association).toBe('reserved');
    expect(decodeVpd83(page([reserved])).relativeTargetPort).toBe(9);
    expect(decodeVpd83(page([reserved, port])).relativeTargetPort).toBe(2);
  });
  it('the summary takes the target port group and relative port of the target port, the T10 id and SCSI name of the logical unit first', () => {
    const info = decodeVpd83(page([
      { codeSet: 2, assoc: 1, type: 1, data: Buffer.from('PORTVENDxyz') },
      { codeSet: 2, assoc: 0, type: 1, data: Buffer.from('LUVENDORabc') },
      { codeSet: 3, assoc: 1, type: 8, data: padded('naa.port') },
      { codeSet: 3, assoc: 0, type: 8, data: padded('naa.lu') },
      { codeSet: 1, assoc: 1, type: 5, data: hex('00000005') },
    ]));
    expect(info.t10Vendor).toEqual({ vendorId: 'LUVENDOR', vendorSpecific: 'abc' });
    expect(info.scsiName).toBe('naa.lu');
    expect(info.targetPortGroup).toBe(5);
    expect(info.relativeTargetPort).toBeNull();
    expect(info.t10Vendor).not.toBeNull();
  });
});

describe('VPD 0x83: protocol identifiers against sg_vpd', () => {
  // sg_vpd's transport names (sg_lib.c sg_get_trans_proto_str) for protocol identifiers 0-15.
  const names: [string, RegExp][] = [
    ['fcp', /^Fibre Channel Protocol/], ['spi', /^SCSI Parallel Interface/], ['ssa', /^Serial Storage Architecture/], ['sbp', /^Serial Bus Protocol for IEEE 1394/],
    ['srp', /^SCSI RDMA Protocol/], ['iscsi', /^Internet SCSI/], ['sas', /^Serial Attached SCSI/], ['adt', /^Automation\/Drive Interface/], ['ata', /^AT Attachment/],
    ['uas', /^USB Attached SCSI/], ['sop', /^SCSI over PCI Express/], ['pcie', /^PCIe$/], ['protocol-12', /^Oxc$/], ['protocol-13', /^Oxd$/], ['protocol-14', /^Oxe$/], ['protocol-15', /^No specific protocol$/],
  ];
  it('names each of the 16 the way sg_vpd does, for target port and target device associations', async () => {
    for (const assoc of [1, 2]) {
      const descs = names.map((_, proto): Desc => ({ codeSet: 1, piv: 1, proto, assoc, type: 3, data: hex(`50014051234567${proto.toString(16).padStart(2, '0')}`) }));
      const bytes = page(descs);
      expect(decodeVpd83(bytes).designators.map((d) => d.protocol)).toEqual(names.map(([n]) => n));
      const transports = [...(await sgVpd(bytes)).matchAll(/transport: (.*)$/gm)].map((m) => m[1]);
      expect(transports).toHaveLength(16);
      names.forEach(([, re], i) => expect(transports[i]).toMatch(re));
    }
  });
  it('ignores the protocol without PIV, and for the logical unit (sg_vpd prints no transport there either)', async () => {
    const bytes = page([
      { codeSet: 1, piv: 1, proto: 5, assoc: 0, type: 3, data: hex('5001405123456789') },
      { codeSet: 1, piv: 0, proto: 5, assoc: 1, type: 3, data: hex('5001405123456788') },
    ]);
    expect(decodeVpd83(bytes).designators.map((d) => d.protocol)).toEqual([null, null]);
    expect(await sgVpd(bytes)).not.toMatch(/transport/);
  });
  it('a protocol specific port identifier (type 9) keeps its bytes; sg_vpd names the type and the transport', async () => {
    const bytes = page([{ codeSet: 1, piv: 1, proto: 9, assoc: 1, type: 9, data: hex('05020000') }]);
    expect(decodeVpd83(bytes).designators).toEqual([{ association: 'target-port', type: 'protocol-specific-port-id', codeSet: 'binary', value: '05020000', protocol: 'uas' }]);
    const text = await sgVpd(bytes);
    expect(text).toMatch(/designator type: Protocol specific port identifier,\s+code set: Binary\n\s+transport: USB Attached SCSI/);
    expect(text).toMatch(/USB device address: 0x5/);
  });
});

describe('VPD 0x83: reserved values and malformed pages', () => {
  it('names reserved code sets and designator types by number', () => {
    const d = decodeVpd83(page([{ codeSet: 0, assoc: 0, type: 11, data: hex('00') }, { codeSet: 15, assoc: 0, type: 15, data: hex('') }])).designators;
    expect(d.map((x) => [x.codeSet, x.type])).toEqual([['reserved-0', 'reserved-11'], ['reserved-15', 'reserved-15']]);
  });
  it('an ASCII value drops trailing NULs and blanks and shows inner NULs as blanks', () => {
    expect(decodeVpd83(page([{ codeSet: 2, assoc: 0, type: 0, data: Buffer.from('ab\0cd  \0\0\0') }])).designators[0]?.value).toBe('ab cd');
  });
  it('a T10 id shorter than its 8-byte vendor field has no parts; numbers need 4 bytes; a UUID needs 18', () => {
    const d = decodeVpd83(page([
      { codeSet: 2, assoc: 0, type: 1, data: Buffer.from('SHORT') },
      { codeSet: 2, assoc: 0, type: 1, data: Buffer.from('EXACTLY8') },
      { codeSet: 1, assoc: 1, type: 4, data: hex('000001') },
      { codeSet: 1, assoc: 1, type: 6, data: hex('0000ffff') },
      { codeSet: 1, assoc: 0, type: 10, data: hex('1000 00112233445566778899aabbccddee') },
    ])).designators;
    expect(d[0]?.t10).toBeUndefined();
    expect(d[1]?.t10).toEqual({ vendorId: 'EXACTLY8', vendorSpecific: '' });
    expect(d[2]?.number).toBeUndefined();
    expect(d[3]?.number).toBe(0xffff);
    expect(d[4]?.uuid).toBeUndefined();
  });
  it('NAA and EUI-64 parts only for their exact lengths and a binary code set', () => {
    expect(naaParts('5001405123456789')).toEqual({ format: 5, companyId: '0x1405', vendorSpecific: '0x123456789' });
    expect(naaParts('50014051234567')).toBeUndefined();
    expect(naaParts('6001405123456789')).toBeUndefined();
    expect(naaParts('5001405123456789abcdef0123456789')).toBeUndefined();
    expect(naaParts('2001405123456789')).toBeUndefined();
    expect(naaParts('')).toBeUndefined();
    expect(eui64Parts('0011223344556677')).toEqual({ companyId: '0x1122', extension: '0x3344556677' });
    expect(eui64Parts('001122334455667788')).toBeUndefined();
    const ascii = decodeVpd83(page([{ codeSet: 2, assoc: 0, type: 3, data: Buffer.from('5001405123456789') }, { codeSet: 2, assoc: 0, type: 2, data: Buffer.from('0011223344556677') }])).designators;
    expect(ascii[0]?.naa).toBeUndefined();
    expect(ascii[1]?.eui64).toBeUndefined();
  });
  it('refuses short input, another page and a descriptor past the page; stops at the page length', () => {
    expect(() => decodeVpd83(hex('008300'))).toThrow('VPD page 0x83: 3 bytes, need at least 4');
    expect(() => decodeVpd83(hex('00800000'))).toThrow('page code is 0x80, not 0x83');
    expect(() => decodeVpd83(hex('00030000'))).toThrow('page code is 0x03, not 0x83');
    // Page length 12: one 4-byte header + 8 bytes of a 16-byte NAA.
    expect(() => decodeVpd83(hex('0083000c 01030010 6001405123456789'))).toThrow('descriptor at offset 4 runs past the page (16 bytes)');
    // Exactly fitting: 4 + 8.
    expect(decodeVpd83(hex('0083000c 01030008 5001405123456789')).naa).toBe('5001405123456789');
    // Bytes past the page length (allocation length larger than the page) are not designators.
    expect(decodeVpd83(hex('0083000c 01030008 5001405123456789 01040004 00000001')).designators).toHaveLength(1);
    // A page length past the buffer: what is there is read.
    expect(decodeVpd83(hex('008300ff 01030008 5001405123456789')).designators).toHaveLength(1);
    // Fewer than 4 bytes left: no descriptor header.
    expect(decodeVpd83(hex('0083000f 01030008 5001405123456789 010400')).designators).toHaveLength(1);
  });
});
