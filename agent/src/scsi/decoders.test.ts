import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { page, sgInhex as sg, withoutHeader } from '@xsctl/test/scsi/sg-oracle';
import { decodeInquiry, deviceTypeNames, parseSgInqText, parseSgInqTextStrict } from './decode-inquiry.js';
import { decodeRtpg, parseSgRtpgText } from './decode-rtpg.js';
import { decodeVpdC9, kernelRdacMode, parseSgVpdC9Text, parseSgVpdC9TextStrict, sgVpdRdacMode } from './decode-vpd-c9.js';
import { decodeVpd83, parseSgVpd83Text, parseSgVpd83TextStrict } from './decode-vpd83.js';
import { HexInputError, parseHexDump } from './hex-input.js';
import { parseRdacLog } from './parse-rdac-log.js';

// Sources of every fixture: __fixtures__/SOURCES.md.
const fixture = (name: string) => readFileSync(new URL(`./__fixtures__/${name}`, import.meta.url), 'utf8');
function c9(avteCvp: number, pathPrio = 0x01): Buffer {
  const b = Buffer.alloc(48);
  b.set([0x00, 0xc9, 0x00, 0x2c, 0x76, 0x61, 0x63, 0x31, avteCvp, pathPrio, 0x00, 0x01, 0x01, 0x01]);
  return b;
}

describe('hex input', () => {
  it('reads sg3_utils -H (offset and ASCII columns, U+00A0 spacing), -HH, plain hex and 0x lists', () => {
    const blog = parseHexDump(fixture('sg_vpd-c9-hex-md3600i-blog.txt'));
    expect(blog.length).toBe(48);
    expect(blog.subarray(0, 10)).toEqual(Buffer.from([0x00, 0xc9, 0x00, 0x2c, 0x76, 0x61, 0x63, 0x31, 0xf1, 0x01]));
    expect(parseHexDump(fixture('vpd83-infinidat.hex')).length).toBe(40);
    expect(parseHexDump('Device Identification VPD page:\n00 83 00 04 01 03 00 00  \n')).toEqual(Buffer.from([0, 0x83, 0, 4, 1, 3, 0, 0]));
    expect(parseHexDump('0x00, 0xc9, 0x00, 0x2c')).toEqual(Buffer.from([0, 0xc9, 0, 0x2c]));
    expect(parseHexDump('00000000: 00c9 002c 7661 6331  ...,vac1')).toEqual(Buffer.from([0, 0xc9, 0, 0x2c, 0x76, 0x61, 0x63, 0x31]));
    expect(() => parseHexDump('standard INQUIRY:\n')).toThrow(HexInputError);
  });
});

describe('standard INQUIRY', () => {
  // The MD36xxi of the blog as bytes: TPGS=0, 3PC=1, MultiP=1, EncServ=1.
  const md36 = Buffer.alloc(74);
  md36.set([0x00, 0x00, 0x05, 0x32, 0x45, 0x08, 0x50, 0x32]);
  md36.write('DELL    MD36xxi         0784', 8, 'latin1');
  const netapp = Buffer.alloc(117);
  netapp.set([0x00, 0x00, 0x04, 0x32, 0x70, 0x18, 0x10, 0x02]);
  netapp.write('NETAPP  LUN             811a', 8, 'latin1');

  it('decodes TPGS, vendor and product like sg_inq --inhex does', async () => {
    for (const bytes of [md36, netapp]) {
      const ours = decodeInquiry(bytes);
      const theirs = parseSgInqText(await sg('sg_inq', bytes, []));
      expect(ours.tpgs).toBe(theirs.tpgs);
      expect(ours.vendor).toBe(theirs.vendor);
      expect(ours.product).toBe(theirs.product);
      expect(ours.revision).toBe(theirs.revision);
      expect(ours.version).toBe(theirs.version);
      expect(ours.thirdPartyCopy).toBe(theirs.thirdPartyCopy);
      expect(ours.multiPort).toBe(theirs.multiPort);
    }
    expect(decodeInquiry(md36)).toMatchObject({ tpgs: 0, vendor: 'DELL', product: 'MD36xxi', revision: '0784', length: 74 });
    expect(decodeInquiry(netapp)).toMatchObject({ tpgs: 1, tpgsMeaning: 'implicit ALUA', vendor: 'NETAPP', product: 'LUN' });
  });

  it('reads the sg_inq text of the blog: NETAPP TPGS=1, MD36xxi TPGS=0', () => {
    expect(parseSgInqText(fixture('sg_inq-netapp-blog.txt'))).toMatchObject({ tpgs: 1, vendor: 'NETAPP', product: 'LUN', revision: '811a', version: 4, multiPort: true, length: 117 });
    expect(parseSgInqText(fixture('sg_inq-md36xxi-blog.txt'))).toMatchObject({ tpgs: 0, vendor: 'DELL', product: 'MD36xxi', revision: '0784', version: 5, thirdPartyCopy: true, length: 74 });
  });
});

describe('VPD 0x83', () => {
  it('decodes the Infinidat page: NAA 6, relative target port 1, target port group 1 (checked against sg_vpd)', async () => {
    const bytes = parseHexDump(fixture('vpd83-infinidat.hex'));
    const ours = decodeVpd83(bytes);
    expect(ours).toEqual({
      peripheralQualifier: 0,
      deviceType: 0,
      designators: [
        {
          association: 'logical-unit',
          type: 'naa',
          codeSet: 'binary',
          value: '6000402001f45eb566d41cd100000000',
          protocol: null,
          // By hand: 6 | 000402 (24 bits) | 001f45eb5 (36 bits) | 66d41cd100000000 (64 bits).
          naa: { format: 6, companyId: '0x402', vendorSpecific: '0x1f45eb5', extension: '0x66d41cd100000000' },
        },
        { association: 'target-port', type: 'relative-target-port', codeSet: 'binary', value: '00000001', protocol: null, number: 1 },
        { association: 'target-port', type: 'target-port-group', codeSet: 'binary', value: '00000001', protocol: null, number: 1 },
      ],
      t10Vendor: null,
      naa: '6000402001f45eb566d41cd100000000',
      relativeTargetPort: 1,
      targetPortGroup: 1,
      scsiName: null,
    });
    expect(parseSgVpd83Text(await sg('sg_vpd', bytes, ['-p', '0x83']))).toEqual(withoutHeader(ours));
  });

  it('decodes a LIO iSCSI page (T10 vendor id, NAA, SCSI name with PIV, port 2, TPG 1) the same as sg_vpd, plain and -l', async () => {
    let name = Buffer.from('iqn.2003-01.org.linux-iscsi.xs-a:sn.1234,t,0x0001', 'utf8');
    name = Buffer.concat([name, Buffer.alloc(4 - (name.length % 4))]);
    const bytes = page([
      { codeSet: 2, piv: 0, proto: 0, assoc: 0, type: 1, data: Buffer.from('LIO-ORG 5a1c9b6e-4c1f-4f5e-9c1d-1c2b3a4d5e6f', 'latin1') },
      { codeSet: 1, piv: 0, proto: 0, assoc: 0, type: 3, data: Buffer.from('6001405a1c9b6e4c1f4f5e9c1d1c2b3a', 'hex') },
      { codeSet: 3, piv: 1, proto: 5, assoc: 1, type: 8, data: name },
      { codeSet: 1, piv: 1, proto: 5, assoc: 1, type: 4, data: Buffer.from([0, 0, 0, 2]) },
      { codeSet: 1, piv: 1, proto: 5, assoc: 1, type: 5, data: Buffer.from([0, 0, 0, 1]) },
    ]);
    const ours = decodeVpd83(bytes);
    expect(ours).toMatchObject({
      // Two parts, as sg_vpd shows them: "vendor id: LIO-ORG " and "vendor specific: 5a1c...".
      t10Vendor: { vendorId: 'LIO-ORG', vendorSpecific: '5a1c9b6e-4c1f-4f5e-9c1d-1c2b3a4d5e6f' },
      naa: '6001405a1c9b6e4c1f4f5e9c1d1c2b3a',
      relativeTargetPort: 2,
      targetPortGroup: 1,
      scsiName: 'iqn.2003-01.org.linux-iscsi.xs-a:sn.1234,t,0x0001',
    });
    expect(ours.designators[2]).toMatchObject({ association: 'target-port', type: 'scsi-name-string', codeSet: 'utf-8', protocol: 'iscsi' });
    expect(parseSgVpd83Text(await sg('sg_vpd', bytes, ['-p', '0x83']))).toEqual(withoutHeader(ours));
    expect(parseSgVpd83Text(await sg('sg_vpd', bytes, ['-p', '0x83', '-l']))).toEqual(ours);
  });

  it('rejects another page or a descriptor running past the page', () => {
    expect(() => decodeVpd83(Buffer.from([0, 0x80, 0, 0]))).toThrow(/not 0x83/);
    expect(() => decodeVpd83(Buffer.from([0, 0x83, 0, 8, 1, 3, 0, 16, 0x60, 0, 0, 0]))).toThrow(/runs past/);
  });
});

describe('VPD 0xc9 (RDAC)', () => {
  it('the MD3600i dump of the blog: byte 8 is 0xf1 (the blog read 0x61, the "a" of "vac1"): IOSHIP, owned, preferred', () => {
    const info = decodeVpdC9(parseHexDump(fixture('sg_vpd-c9-hex-md3600i-blog.txt')));
    expect(info).toEqual({
      mode: 'IOSHIP',
      owned: true,
      preferred: true,
      avteCvp: 0xf1,
      sgVpdMode: 'IOSHIP',
      divergent: false,
      pageId: 'vac1',
      pathPriority: 1,
      thisControllerState: 'active/optimized',
      alternateControllerState: 'active/non-optimized',
      // Bytes 11 and 13 of the blog's dump are 01 and 01.
      thisControllerStatus: 'Operating normally',
      alternateControllerStatus: 'Operating normally',
      avtAllowReadsOnSector0: null,
      preferredPathAutoChangeable: null,
      implicitFailback: null,
    });
  });

  it('follows the kernel for byte 8, and shows where sg_vpd 1.46 (the real tool) reads it differently', async () => {
    const cases: [number, string, string, boolean][] = [
      // byte 8, kernel mode, sg_vpd mode, owned
      [0xf1, 'IOSHIP', 'IOSHIP', true],
      [0xe0, 'IOSHIP', 'IOSHIP', false],
      [0x21, 'IOSHIP', 'RDAC', true],
      [0x61, 'IOSHIP', 'RDAC', true],
      [0xa1, 'IOSHIP', 'AVT', true],
      [0x81, 'AVT', 'AVT', true],
      [0xc0, 'AVT', 'AVT', false],
      [0x01, 'RDAC', 'RDAC', true],
      [0x00, 'RDAC', 'RDAC', false],
    ];
    for (const [b8, kernel, sgMode, owned] of cases) {
      const bytes = c9(b8);
      const ours = decodeVpdC9(bytes);
      expect(ours.mode, `0x${b8.toString(16)}`).toBe(kernel);
      expect(kernelRdacMode(b8)).toBe(kernel);
      expect(ours.sgVpdMode).toBe(sgMode);
      expect(sgVpdRdacMode(b8)).toBe(sgMode);
      expect(ours.divergent).toBe(kernel !== sgMode);
      expect(ours.owned).toBe(owned);
      const text = await sg('sg_vpd', bytes, ['-p', 'vac1']);
      const theirs = parseSgVpdC9Text(text);
      // The oracle: sg_vpd's own words for the same byte.
      expect(theirs.sgVpdMode, `sg_vpd on 0x${b8.toString(16)}: ${text}`).toBe(sgMode);
      expect(theirs.owned).toBe(owned);
      expect(theirs.preferred).toBe(true);
      if (sgMode === 'IOSHIP') expect(text).toMatch(/IOShipping \(ALUA\): Enabled/);
      else expect(text).toMatch(sgMode === 'AVT' ? /AVT: Enabled/ : /AVT: Disabled/);
    }
  });

  it('preferred is byte 9 bit 0, as the kernel reads path_prio', () => {
    expect(decodeVpdC9(c9(0xf1, 0x02)).preferred).toBe(false);
    expect(decodeVpdC9(c9(0xf1, 0x02)).pathPriority).toBe(2);
    expect(() => decodeVpdC9(Buffer.from('00c9002c78787878f101', 'hex'))).toThrow(/not "vac1"/);
  });
});

describe('REPORT TARGET PORT GROUPS', () => {
  const expected = [
    { id: 1, preferred: false, state: 'active/optimized', stateCode: 0, statusCode: 2, relativePorts: [1] },
    { id: 2, preferred: false, state: 'active/non-optimized', stateCode: 1, statusCode: 2, relativePorts: [2] },
  ];

  it('reads sg_rtpg text from the SCST capture', () => {
    const r = parseSgRtpgText(fixture('sg_rtpg-two-groups.txt'));
    expect(r.groups).toHaveLength(2);
    expect(r.groups.map(({ id, preferred, state, stateCode, statusCode, relativePorts }) => ({ id, preferred, state, stateCode, statusCode, relativePorts }))).toEqual(expected);
    expect(r.groups[0]!.supported).toEqual({ t: true, o: true, lbd: false, u: true, s: true, an: true, ao: true });
  });

  it('decodes the same two groups from raw bytes (the 28 bytes sg_rtpg reported as "Report list length")', () => {
    const raw = '00 00 00 18  00 cf 00 01 00 02 00 01  00 00 00 01  01 cf 00 02 00 02 00 01  00 00 00 02';
    const r = decodeRtpg(parseHexDump(raw));
    expect(parseHexDump(raw).length).toBe(28);
    expect(r.format).toBe('length');
    expect(r.groups.map(({ id, preferred, state, stateCode, statusCode, relativePorts }) => ({ id, preferred, state, stateCode, statusCode, relativePorts }))).toEqual(expected);
    expect(r.groups).toEqual(parseSgRtpgText(fixture('sg_rtpg-two-groups.txt')).groups.map((g) => ({ ...g, targetPortCount: 1 })));
  });

  it('reads the old sg_rtpg -vvd layout of the blog (no LBD_SUP, ids cut off): group 1 active/non-optimized via STPG, 2 ports', () => {
    const r = parseSgRtpgText(fixture('sg_rtpg-vvd-blog.txt'));
    expect(r.groups).toEqual([
      {
        id: 1,
        preferred: false,
        state: 'active/non-optimized',
        stateCode: 1,
        statusCode: 1,
        vendorUnique: 0,
        supported: { t: false, o: false, lbd: false, u: true, s: false, an: true, ao: true },
        relativePorts: [],
        targetPortCount: 2,
      },
    ]);
  });

  it('decodes the extended header, standby/unavailable/transitioning, preferred bit, several ports', () => {
    const bytes = Buffer.from([0, 0, 0, 0x24, 0x10, 0x0a, 0, 0, 0x82, 0x0f, 0, 7, 0, 1, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0x0f, 0x80, 0, 8, 0, 0, 0, 0, 0x03, 0x08, 0, 9, 0, 0, 0, 0]);
    const r = decodeRtpg(bytes);
    expect(r).toMatchObject({ format: 'extended', implicitTransitionTime: 10 });
    expect(r.groups.map((g) => [g.id, g.preferred, g.state, g.relativePorts])).toEqual([
      [7, true, 'standby', [3, 4]],
      [8, false, 'transitioning', []],
      [9, false, 'unavailable', []],
    ]);
    expect(() => decodeRtpg(Buffer.from([0, 0, 0, 0x20, 0, 0]))).toThrow(/header says/);
  });
});

describe('rdac kernel lines', () => {
  it('reads the IOSHIP lines of the XenServer 6.5 messages file', () => {
    const lines = parseRdacLog(fixture('messages-rdac-ioship-blog.txt'));
    expect(lines.map((l) => [l.hctl, l.lun, l.mode, l.owned])).toEqual([
      ['8:0:0:1', 1, 'IOSHIP', true],
      ['9:0:0:0', 0, 'IOSHIP', false],
      ['9:0:0:1', 1, 'IOSHIP', true],
      ['10:0:0:0', 0, 'IOSHIP', true],
      ['10:0:0:1', 1, 'IOSHIP', false],
      ['11:0:0:0', 0, 'IOSHIP', true],
    ]);
  });

  it('reads the older "AVT mode detected" / "owned (AVT mode)" lines', () => {
    const lines = parseRdacLog(fixture('dmesg-rdac-avt-blog.txt'));
    expect(lines.map((l) => [l.hctl, l.mode, l.owned])).toEqual([
      ['4:0:0:0', 'AVT', true],
      ['5:0:0:0', 'AVT', true],
      ['6:0:0:0', 'AVT', true],
      ['7:0:0:0', 'AVT', true],
    ]);
    expect(parseRdacLog('sd 3:0:0:2: rdac: LUN 2 (RDAC) (unowned)\nsd 3:0:0:2: rdac: LUN 2 (unowned)')[0]).toMatchObject({ mode: 'RDAC', owned: false });
  });
});

/**
 * Field by field against the real sg3_utils (`--inhex`): the strict text parsers account for every
 * line sg_inq/sg_vpd prints (anything else lands in `unrecognised`), and what they read must equal
 * what our decoders read from the same bytes. A field sg3_utils shows that we do not decode fails here.
 */
describe('every decoder against sg3_utils, field by field', () => {
  const inquiryBase = (): Buffer => {
    const b = Buffer.alloc(74);
    b.set([0x00, 0x00, 0x05, 0x32, 0x45, 0x08, 0x50, 0x32]);
    b.write('DELL    MD36xxi         0784', 8, 'latin1');
    return b;
  };

  it('standard INQUIRY: every bit of bytes 0-7 and byte 56, one at a time, reads the same in sg_inq', async () => {
    const variants: Buffer[] = [inquiryBase()];
    for (let byte = 0; byte < 8; byte++) {
      if (byte === 2 || byte === 4) continue; // version (sg_inq decodes a VPD page for 0-2) and the length
      for (let bit = 0; bit < 8; bit++) {
        const b = inquiryBase();
        b[byte] = (b[byte] as number) ^ (1 << bit);
        variants.push(b);
      }
    }
    const spi = inquiryBase();
    spi[56] = 0x0f;
    variants.push(spi);
    const short = inquiryBase().subarray(0, 36);
    short[4] = 31;
    variants.push(short);
    for (const bytes of variants) {
      const text = await sg('sg_inq', bytes, []);
      const theirs = parseSgInqTextStrict(text);
      const ours = decodeInquiry(bytes);
      expect(theirs.unrecognised, text).toEqual([]);
      expect(theirs.info.flags, text).toEqual(ours.flags);
      expect(theirs.info, text).toEqual(ours);
    }
  });

  it("standard INQUIRY: sg3_utils' name for every peripheral device type", async () => {
    for (let pdt = 0; pdt < 32; pdt++) {
      const b = inquiryBase();
      b[0] = pdt;
      const theirs = parseSgInqTextStrict(await sg('sg_inq', b, []));
      expect(theirs.info.deviceTypeName, `PDT ${pdt}`).toBe(deviceTypeNames[pdt]);
      expect(decodeInquiry(b).deviceTypeName).toBe(deviceTypeNames[pdt]);
    }
  });

  it('VPD 0x83 with every designator type we decode: T10 parts, NAA 5/6, EUI-64, UUID, groups, MD5, vendor specific (plain and -l)', async () => {
    let name = Buffer.from('iqn.2003-01.org.linux-iscsi.xs-a:sn.1234,t,0x0001', 'utf8');
    name = Buffer.concat([name, Buffer.alloc(4 - (name.length % 4))]);
    const bytes = page([
      { codeSet: 1, piv: 0, proto: 0, assoc: 0, type: 0, data: Buffer.from('0102030405', 'hex') },
      { codeSet: 2, piv: 0, proto: 0, assoc: 0, type: 0, data: Buffer.from('ABCDEF', 'latin1') },
      { codeSet: 1, piv: 0, proto: 0, assoc: 0, type: 2, data: Buffer.from('0011223344556677', 'hex') },
      { codeSet: 1, piv: 0, proto: 0, assoc: 0, type: 3, data: Buffer.from('5006016012345678', 'hex') },
      { codeSet: 1, piv: 0, proto: 0, assoc: 0, type: 3, data: Buffer.from('6001405a1c9b6e4c1f4f5e9c1d1c2b3a', 'hex') },
      { codeSet: 1, piv: 0, proto: 0, assoc: 0, type: 6, data: Buffer.from([0, 0, 0, 7]) },
      { codeSet: 1, piv: 0, proto: 0, assoc: 0, type: 7, data: Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex') },
      { codeSet: 1, piv: 0, proto: 0, assoc: 0, type: 10, data: Buffer.from('1000000102030405060708090a0b0c0d0e0f', 'hex') },
      // NetApp's T10 designator: "NETAPP  " then the LUN serial.
      { codeSet: 2, piv: 0, proto: 0, assoc: 0, type: 1, data: Buffer.from('NETAPP  LUN C4bHn$Eq5mLs', 'latin1') },
      { codeSet: 3, piv: 1, proto: 5, assoc: 1, type: 8, data: name },
      { codeSet: 1, piv: 1, proto: 6, assoc: 1, type: 3, data: Buffer.from('5000c50012345678', 'hex') },
      { codeSet: 1, piv: 1, proto: 5, assoc: 1, type: 4, data: Buffer.from([0, 0, 0, 2]) },
      { codeSet: 1, piv: 1, proto: 5, assoc: 1, type: 5, data: Buffer.from([0, 0, 0, 1]) },
      { codeSet: 1, piv: 0, proto: 0, assoc: 2, type: 3, data: Buffer.from('5000c50012345670', 'hex') },
    ]);
    const ours = decodeVpd83(bytes);
    // By hand from the bytes above.
    expect(ours.t10Vendor).toEqual({ vendorId: 'NETAPP', vendorSpecific: 'LUN C4bHn$Eq5mLs' });
    expect(ours.designators.map((d) => d.naa ?? d.eui64 ?? d.uuid ?? d.number ?? null).filter((x) => x !== null)).toEqual([
      { companyId: '0x1122', extension: '0x3344556677' },
      { format: 5, companyId: '0x6016', vendorSpecific: '0x12345678' },
      { format: 6, companyId: '0x1405', vendorSpecific: '0xa1c9b6e4c', extension: '0x1f4f5e9c1d1c2b3a' },
      7,
      '00010203-0405-0607-0809-0a0b0c0d0e0f',
      { format: 5, companyId: '0xc50', vendorSpecific: '0x12345678' },
      2,
      1,
      { format: 5, companyId: '0xc50', vendorSpecific: '0x12345670' },
    ]);
    for (const args of [['-p', '0x83'], ['-p', '0x83', '-l']]) {
      const text = await sg('sg_vpd', bytes, args);
      const theirs = parseSgVpd83TextStrict(text);
      expect(theirs.unrecognised, text).toEqual([]);
      expect(theirs.info, text).toEqual(args.includes('-l') ? ours : withoutHeader(ours));
    }
  });

  it('VPD 0xc9: byte 8 modes and flags, TPG data, controller conditions, the extended priority bytes', async () => {
    const pages: Buffer[] = [];
    for (const b8 of [0x00, 0x01, 0x21, 0x41, 0x81, 0xc1, 0xe0, 0xf1, 0x89, 0xe9]) {
      for (const [b10, b11, b12, b13] of [
        [0x00, 0x01, 0x01, 0x01],
        [0x01, 0x02, 0x00, 0x05],
        [0x0e, 0x07, 0x0f, 0xff],
        [0x02, 0x09, 0x03, 0x03],
      ] as const) {
        const b = c9(b8, 0x02);
        b.set([b10, b11, b12, b13, 0x28 | 0x02, 0x01], 10);
        pages.push(b);
        const other = Buffer.from(b);
        other[14] = 0x14 | 0x01;
        pages.push(other);
      }
    }
    for (const bytes of pages) {
      const text = await sg('sg_vpd', bytes, ['-p', 'vac1']);
      const theirs = parseSgVpdC9TextStrict(text);
      const ours = decodeVpdC9(bytes);
      expect(theirs.unrecognised, text).toEqual([]);
      // The text has no byte 8 or page id, and names the mode the way sg_vpd reads byte 8.
      expect(theirs.info, text).toEqual({ ...ours, mode: ours.sgVpdMode, avteCvp: null, pageId: null, divergent: ours.sgVpdMode === 'IOSHIP' ? false : null, preferred: ours.pathPriority === 1 });
    }
  });
});
