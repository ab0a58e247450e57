import { describe, expect, it } from 'vitest';
import { hex, padded, page, sgVpd83 as sgVpd, withoutHeader, type Desc } from '@xsctl/test/scsi/sg-oracle';
import { decodeVpd83, parseSgVpd83TextStrict, type SgVpd83Parse } from './decode-vpd83.js';
import { ScsiDecodeError } from './scsi-errors.js';

/**
 * The sg_vpd text parser (parseSgVpd83TextStrict) held to sg_vpd's own output: pages built byte by
 * byte (SPC-4 7.8.6), decoded by the real `sg_vpd --inhex` (the oracle), parsed, and compared with
 * the binary decoder on the same bytes. Then every line of that output with text put before or
 * after it: sg_vpd never prints that, so the parse must change (a line the parser cannot place is
 * returned in `unrecognised`, never read as something else).
 */
const parse = (text: string): SgVpd83Parse | Error => {
  try {
    return parseSgVpd83TextStrict(text);
  } catch (e) {
    return e as Error;
  }
};

// Every line kind the parser reads: each designator type, association and code set it names.
const rich: Desc[] = [
  { codeSet: 2, assoc: 0, type: 0, data: Buffer.from('vendor spec text') },
  { codeSet: 1, assoc: 0, type: 0, data: hex('0102030405') },
  // An inner blank in the vendor id: only trailing blanks are padding.
  { codeSet: 2, assoc: 0, type: 1, data: Buffer.from('NET APP WDC123') },
  { codeSet: 1, assoc: 0, type: 2, data: hex('0011223344556677') },
  { codeSet: 1, assoc: 0, type: 3, data: hex('5001405123456789') },
  { codeSet: 1, assoc: 0, type: 6, data: hex('00000003') },
  { codeSet: 1, assoc: 0, type: 7, data: hex('000102030405060708090a0b0c0d0e0f') },
  { codeSet: 1, assoc: 0, type: 10, data: hex('1000 00112233445566778899aabbccddeeff') },
  { codeSet: 1, piv: 1, proto: 6, assoc: 1, type: 3, data: hex('6001405123456789abcdef0123456780') },
  // 0xab: sg_vpd prints "0xab" (lowercase %x).
  { codeSet: 1, piv: 1, proto: 0, assoc: 1, type: 4, data: hex('000000ab') },
  { codeSet: 1, piv: 1, proto: 5, assoc: 1, type: 5, data: hex('00000007') },
  { codeSet: 3, piv: 1, proto: 5, assoc: 1, type: 8, data: padded('iqn.2003-01.org.linux-iscsi.a:sn.1,t,0x1') },
  { codeSet: 2, piv: 0, assoc: 2, type: 8, data: padded('naa.5001405123456789') },
];

describe('sg_vpd -p 0x83 text: read as sg_vpd prints it', () => {
  it('every designator kind, plain and -l, reads as the binary decoder reads the bytes, nothing left over', async () => {
    const bytes = page(rich);
    const ours = decodeVpd83(bytes);
    // By hand: the vendor id keeps its inner blank; the relative port is 0xab.
    expect(ours.designators[2]?.t10).toEqual({ vendorId: 'NET APP', vendorSpecific: 'WDC123' });
    expect(ours.designators[9]?.value).toBe('000000ab');
    for (const args of [[], ['-l']]) {
      const text = await sgVpd(bytes, ...args);
      const theirs = parseSgVpd83TextStrict(text);
      expect(theirs.unrecognised, text).toEqual([]);
      expect(theirs.info, text).toStrictEqual(args.length === 0 ? withoutHeader(ours) : ours);
    }
  });

  it('names all 16 protocol identifiers as the binary decoder does, under the target port and the target device', async () => {
    for (const assoc of [1, 2]) {
      const bytes = page(Array.from({ length: 16 }, (_, proto): Desc => ({ codeSet: 1, piv: 1, proto, assoc, type: 3, data: hex(`50014051234567${proto.toString(16).padStart(2, '0')}`) })));
      const text = await sgVpd(bytes);
      const theirs = parseSgVpd83TextStrict(text);
      expect(theirs.unrecognised, text).toEqual([]);
      // SPC-4 table 444, in the decoder's names; 12-15 have none.
      expect(theirs.info.designators.map((d) => d.protocol)).toEqual(['fcp', 'spi', 'ssa', 'sbp', 'srp', 'iscsi', 'sas', 'adt', 'ata', 'uas', 'sop', 'pcie', 'protocol-12', 'protocol-13', 'protocol-14', 'protocol-15']);
      expect(theirs.info).toStrictEqual(withoutHeader(decodeVpd83(bytes)));
    }
  });

  it('a transport, designator type or code set name sg_vpd does not print is left over, not guessed', async () => {
    const text = await sgVpd(page([{ codeSet: 1, piv: 1, proto: 5, assoc: 1, type: 3, data: hex('5001405123456789') }]));
    const odd = (from: string, to: string) => {
      expect(text).toContain(from);
      return parseSgVpd83TextStrict(text.replace(from, to));
    };
    const transport = odd('transport: Internet SCSI (iSCSI)', 'transport: Token Ring');
    expect(transport.unrecognised).toEqual(['transport: Token Ring']);
    expect(transport.info.designators[0]?.protocol).toBeNull();
    // A type name sg_vpd does not print: a designator of unknown kind (vendor specific), flagged.
    const type = odd('designator type: NAA,', 'designator type: NAA-ish,');
    expect(type.unrecognised).toEqual(['designator type: NAA-ish,  code set: Binary']);
    expect(type.info.designators[0]?.type).toBe('vendor-specific');
    const codeSet = odd('code set: Binary', 'code set: EBCDIC');
    expect(codeSet.unrecognised[0]).toBe('designator type: NAA,  code set: EBCDIC');
    expect(codeSet.info.designators[0]?.codeSet).toBe('ascii');
  });

  it('reserved types and code sets by number, as the binary decoder names them; sg_vpd 2013 "[0xN]" names too', async () => {
    const bytes = page([{ codeSet: 0, assoc: 0, type: 11, data: hex('00') }, { codeSet: 15, assoc: 0, type: 15, data: hex('') }]);
    const text = await sgVpd(bytes);
    expect(text).toContain('designator type: Reserved [0xb],  code set: Reserved [0x0]');
    const theirs = parseSgVpd83TextStrict(text);
    const ours = decodeVpd83(bytes);
    expect(theirs.info.designators.map((d) => [d.type, d.codeSet])).toEqual([['reserved-11', 'reserved-0'], ['reserved-15', 'reserved-15']]);
    expect(ours.designators.map((d) => [d.type, d.codeSet])).toEqual([['reserved-11', 'reserved-0'], ['reserved-15', 'reserved-15']]);
    // The values of reserved designators are sg_vpd's own remarks: left over.
    expect(theirs.unrecognised).toEqual(['reserved designator=0xb', '00', 'reserved designator=0xf']);
    // sg3_utils of 2013 (sg_vpd 0.66) printed type 10 as "[0xa]" (before UUIDs) and code set 4 as "[0x4]".
    const old = parseSgVpd83TextStrict('  Addressed logical unit:\n    designator type: [0xa],  code set: [0x4]\n');
    expect(old.info.designators.map((d) => [d.type, d.codeSet])).toEqual([['uuid', 'reserved-4']]);
    expect(old.unrecognised).toEqual([]);
  });

  it('the -l device type line: PQual and the type by sg3_utils name; a name it does not have is left over', async () => {
    // 0x3f: qualifier 1, type 0x1f.
    const text = await sgVpd(page(rich.slice(4, 5), 0x3f), '-l');
    expect(text).toContain('[PQual=1  Peripheral device type: unknown or no device type]');
    expect(parseSgVpd83TextStrict(text).info).toMatchObject({ peripheralQualifier: 1, deviceType: 0x1f });
    const odd = parseSgVpd83TextStrict(text.replace('unknown or no device type', 'flux capacitor'));
    expect(odd.info).toMatchObject({ peripheralQualifier: 1, deviceType: null });
    expect(odd.unrecognised).toEqual(['[PQual=1  Peripheral device type: flux capacitor]']);
  });

  it('hex dumps: a 17-byte MD5 designator ends in a one-byte line; an indented or partly hex line ends the dump', async () => {
    const md5 = hex('000102030405060708090a0b0c0d0e0f10');
    const bytes = page([{ codeSet: 1, assoc: 0, type: 7, data: md5 }]);
    const text = await sgVpd(bytes);
    expect(text).toMatch(/\n10\n/);
    expect(parseSgVpd83TextStrict(text).info.designators[0]?.value).toBe('000102030405060708090a0b0c0d0e0f10');
    expect(parseSgVpd83TextStrict(text).info).toStrictEqual(withoutHeader(decodeVpd83(bytes)));
    // Only lines starting in column 0 with whole hex bytes are dump lines.
    for (const extra of ['  11 12', '11 zz', '11 abc', 'ab cd efgh']) {
      const r = parseSgVpd83TextStrict(text.replace(/\n10\n/, `\n10\n${extra}\n`));
      expect(r.info.designators[0]?.value, extra).toBe('000102030405060708090a0b0c0d0e0f10');
      expect(r.unrecognised, extra).toEqual([extra.trim()]);
    }
  });

  it('NAA 2 and a 12-byte EUI-64 have no parts (the decoder splits NAA 5/6 and 8-byte EUI-64 only); an EUI-64 starting 5 is no NAA', async () => {
    const bytes = page([
      { codeSet: 1, assoc: 0, type: 3, data: hex('2000001122334455') },
      { codeSet: 1, assoc: 0, type: 2, data: hex('001122334455667788990011') },
      { codeSet: 1, assoc: 0, type: 2, data: hex('5011223344556677') },
      // 18 bytes, not a UUID designator: no UUID.
      { codeSet: 1, assoc: 0, type: 0, data: hex('1000 00112233445566778899aabbccddeeff') },
    ]);
    const ours = decodeVpd83(bytes);
    // By hand: no naa on the NAA 2, no eui64 on the 12-byte EUI, EUI company 0x501122 extension 0x3344556677.
    expect(ours.designators[0]).toStrictEqual({ association: 'logical-unit', type: 'naa', codeSet: 'binary', value: '2000001122334455', protocol: null });
    expect(ours.designators[1]).toStrictEqual({ association: 'logical-unit', type: 'eui-64', codeSet: 'binary', value: '001122334455667788990011', protocol: null });
    expect(ours.designators[2]).toStrictEqual({ association: 'logical-unit', type: 'eui-64', codeSet: 'binary', value: '5011223344556677', protocol: null, eui64: { companyId: '0x501122', extension: '0x3344556677' } });
    expect(ours.designators[3]).toStrictEqual({ association: 'logical-unit', type: 'vendor-specific', codeSet: 'binary', value: '100000112233445566778899aabbccddeeff', protocol: null });
    const theirs = parseSgVpd83TextStrict(await sgVpd(bytes));
    expect(theirs.unrecognised).toEqual([]);
    expect(theirs.info).toStrictEqual(withoutHeader(ours));
  });

  it('-l EUI-64 parts: the value follows from both parts only', async () => {
    const text = await sgVpd(page([{ codeSet: 1, assoc: 0, type: 2, data: hex('0011223344556677') }]), '-l');
    const whole = parseSgVpd83TextStrict(text).info.designators[0];
    expect(whole?.value).toBe('0011223344556677');
    // A paste cut after the company id: no extension, so no value.
    const cut = parseSgVpd83TextStrict(text.replace(/\s*Vendor Specific Extension Identifier: .*/, '')).info.designators[0];
    expect(cut?.eui64).toEqual({ companyId: '0x1122', extension: '' });
    expect(cut?.value).toBe('');
    // Cut before the company id: the same.
    const noCompany = parseSgVpd83TextStrict(text.replace(/\s*IEEE Company_id: .*/, '')).info.designators[0];
    expect(noCompany?.eui64).toEqual({ companyId: '', extension: '0x3344556677' });
    expect(noCompany?.value).toBe('');
  });

  it('a T10 vendor id line read without its indentation; a second SCSI name line is left over', async () => {
    const text = await sgVpd(page([{ codeSet: 2, assoc: 0, type: 1, data: Buffer.from('ATA     WDC123') }, { codeSet: 3, assoc: 0, type: 8, data: padded('naa.1') }]));
    const flush = parseSgVpd83TextStrict(text.replace(/^\s+vendor id:/m, 'vendor id:'));
    expect(flush.info.designators[0]?.t10).toEqual({ vendorId: 'ATA', vendorSpecific: 'WDC123' });
    expect(flush.unrecognised).toEqual([]);
    const twice = parseSgVpd83TextStrict(text.replace(/(\n\s+naa\.1)\n/, '$1\n      naa.2\n'));
    expect(twice.info.designators[1]?.value).toBe('naa.1');
    expect(twice.unrecognised).toEqual(['naa.2']);
  });

  it('text with no designator line is refused', () => {
    expect(() => parseSgVpd83TextStrict('Device Identification VPD page:\n  Addressed logical unit:\n')).toThrow(ScsiDecodeError);
    expect(() => parseSgVpd83TextStrict('')).toThrow('sg_vpd 0x83 output: no "designator type:" lines');
  });
});

describe('sg_vpd -p 0x83 text: text put before or after any line is left over', () => {
  it('every line of the plain and -l output, with "x" before it or " x" after it, lands in unrecognised', async () => {
    const bytes = page(rich, 0x00);
    let variants = 0;
    let freeText = 0;
    for (const args of [[], ['-l']]) {
      const text = await sgVpd(bytes, ...args);
      const original = parse(text);
      expect(original).not.toBeInstanceOf(Error);
      const lines = text.split('\n');
      lines.forEach((raw, i) => {
        if (raw.trim() === '') return;
        const indent = /^\s*/.exec(raw)?.[0] ?? '';
        const dump = /^[0-9a-f]{2} /.test(raw);
        const edits = [`${indent}x${raw.slice(indent.length)}`];
        // A hex dump line's ASCII column (from column 49) is not read: only the prefix matters there.
        if (!dump) edits.push(`${raw} x`);
        for (const edited of edits) {
          const changed = parse([...lines.slice(0, i), edited, ...lines.slice(i + 1)].join('\n'));
          variants++;
          // Not merely a different parse: a parser that took the altered line with another value
          // (a pattern missing its ^ or $) would also differ. sg_vpd never prints it, so it is
          // left over, whole.
          const where = `line ${i + 1} of sg_vpd ${args.join(' ')}: ${JSON.stringify(edited)}`;
          expect(changed, where).not.toEqual(original);
          // Free text is the exception: an ASCII vendor-specific value or T10 vendor id (`vendor
          // specific: %.*s`, `vendor id: %.8s`, text to the end of the line), and the SCSI name on the
          // line after `SCSI name string:`. There the edit is another value sg_vpd could print.
          if (/^(?:vendor specific|vendor id): /.test(edited.trim()) || lines[i - 1]?.trim() === 'SCSI name string:') {
            freeText++;
            continue;
          }
          expect(changed, where).not.toBeInstanceOf(Error);
          expect((changed as SgVpd83Parse).unrecognised, where).toContain(edited.trim());
        }
      });
    }
    expect(variants).toBeGreaterThan(80);
    // Per output: the ASCII vendor-specific line, the T10 vendor id and vendor-specific lines and the
    // binary vendor-specific label (" x" after each), the two SCSI names (both edits): 4 + 4 = 8.
    expect(freeText).toBe(16);
  });
});
