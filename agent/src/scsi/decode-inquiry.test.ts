import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sgInhex } from '@xsctl/test/scsi/sg-oracle';
import { decodeInquiry, parseSgInqTextStrict, type SgInqParse } from './decode-inquiry.js';

/**
 * Standard INQUIRY bytes worked by hand (SPC-4 6.6.2), and the real `sg_inq --inhex` text as the
 * oracle for the text parser: every line of it with text before or after it must change the parse.
 */
const sgInq = (bytes: Uint8Array): Promise<string> => sgInhex('sg_inq', bytes);
const fixture = (name: string) => readFileSync(new URL(`./__fixtures__/${name}`, import.meta.url), 'utf8');

/** 74 bytes: byte 0-7 as given (byte 4 = additional length), then vendor, product, revision. */
function inquiry(head: number[], ids = 'DELL    MD36xxi         0784', length = 74): Buffer {
  const b = Buffer.alloc(length);
  Buffer.from(head).copy(b);
  Buffer.from(ids, 'latin1').copy(b, 8);
  return b;
}

describe('standard INQUIRY bytes, by hand', () => {
  it('needs 8 bytes; identification fields only when their first byte is there', () => {
    expect(() => decodeInquiry(Buffer.alloc(7))).toThrow('standard INQUIRY: 7 bytes, need at least 8');
    // 8 bytes: byte 4 = 3 -> length 8; no vendor, product or revision.
    const eight = decodeInquiry(Buffer.from([0x00, 0x00, 0x05, 0x32, 0x03, 0x10, 0x10, 0x00]));
    expect(eight).toMatchObject({ length: 8, vendor: null, product: null, revision: null, tpgs: 1, tpgsMeaning: 'implicit ALUA', multiPort: true });
    // 16 bytes: the vendor only.
    expect(decodeInquiry(inquiry([0, 0, 5, 0x32, 11], 'NETAPP  LUN', 16))).toMatchObject({ vendor: 'NETAPP', product: null, revision: null, length: 16 });
    // A NUL inside the vendor field reads as a blank; trailing blanks go.
    expect(decodeInquiry(inquiry([0, 0, 5, 0x32, 69], 'AB\0CD\0\0\0LUN')).vendor).toBe('AB CD');
  });

  it('the SPI byte 56 flags only for a response of 56 bytes or more (additional length 51)', () => {
    // Byte 56 = 0x07: Clocking 1 (bits 3-2), QAS 1, IUS 1.
    const b = inquiry([0, 0, 5, 0x32, 51]);
    b[56] = 0x07;
    expect(decodeInquiry(b).flags).toMatchObject({ length: 56, Clocking: 1, QAS: 1, IUS: 1 });
    b[4] = 50;
    expect(decodeInquiry(b).flags).not.toHaveProperty('Clocking');
    expect(decodeInquiry(b).flags['length']).toBe(55);
  });
});

describe('sg_inq text', () => {
  const parse = (text: string): SgInqParse | Error => {
    try {
      return parseSgInqTextStrict(text);
    } catch (e) {
      return e as Error;
    }
  };

  it('needs TPGS= or a vendor line; a missing flag reads as unknown', () => {
    expect(() => parseSgInqTextStrict('standard INQUIRY:\n  PQual=0  PDT=0\n')).toThrow('sg_inq output: no TPGS= and no "Vendor identification:" line');
    const vendorOnly = parseSgInqTextStrict(' Vendor identification: DELL\n');
    expect(vendorOnly.info).toMatchObject({ vendor: 'DELL', tpgs: null, tpgsMeaning: null, thirdPartyCopy: null, protect: null, multiPort: null, length: null });
    const tpgsOnly = parseSgInqTextStrict('  TPGS=2  3PC=0\n');
    expect(tpgsOnly.info).toMatchObject({ vendor: null, tpgs: 2, tpgsMeaning: 'explicit ALUA', thirdPartyCopy: false, protect: null });
  });

  it('sg_inq 1.37 says Device_type for PDT (the dom0 capture of the blog)', () => {
    const r = parseSgInqTextStrict(fixture('sg_inq-md36xxi-blog.txt'));
    expect(r.info.deviceType).toBe(0);
    expect(r.info.flags).toMatchObject({ PDT: 0, PQual: 0, Clocking: 0, IUS: 0 });
    expect(r.info.flags).not.toHaveProperty('Device_type');
    // Only the capture's own comment line is left over.
    expect(r.unrecognised.every((u) => u.startsWith('# sg_inq '))).toBe(true);
  });

  it('a blank vendor field (eight blanks) reads as empty, as sg_inq prints it', async () => {
    const text = await sgInq(inquiry([0, 0, 5, 0x32, 69], '        MD36xxi         0784'));
    expect(text).toMatch(/Vendor identification: {9}\n/);
    const r = parseSgInqTextStrict(text);
    expect(r.unrecognised).toEqual([]);
    expect(r.info).toMatchObject({ vendor: '', product: 'MD36xxi', revision: '0784' });
  });

  it('a token that is not NAME=number of a flag sg_inq prints is left over', () => {
    for (const token of ['-PQual=0', 'PQual=1q', 'PQual=', '=1', 'PQual=0xg', 'Bogus=1', 'pqual=0']) {
      const r = parseSgInqTextStrict(`  TPGS=0  ${token}\n`);
      expect(r.unrecognised, token).toEqual([`TPGS=0  ${token} (${token})`]);
      expect(Object.keys(r.info.flags), token).toEqual(['TPGS']);
    }
    // Hex and decimal values.
    expect(parseSgInqTextStrict('  TPGS=0  version=0x0a  length=36\n').info.flags).toEqual({ TPGS: 0, version: 10, length: 36 });
  });

  it('every line sg_inq prints, with "x" before it or " x" after it, changes the parse', async () => {
    let variants = 0;
    for (const head of [[0x00, 0x00, 0x05, 0x32, 0x45, 0x08, 0x50, 0x32], [0x3f, 0x80, 0x06, 0x12, 0x45, 0x31, 0x70, 0xb2]]) {
      const text = await sgInq(inquiry(head));
      const original = parse(text);
      expect(original).not.toBeInstanceOf(Error);
      expect((original as SgInqParse).unrecognised, text).toEqual([]);
      const lines = text.split('\n');
      lines.forEach((raw, i) => {
        if (raw.trim() === '') return;
        const indent = /^\s*/.exec(raw)?.[0] ?? '';
        const edits = [`${indent}x${raw.slice(indent.length)}`];
        // The header line carries sg_inq's remarks after the colon ("[PQ indicates LU temporarily unavailable]").
        if (!raw.startsWith('standard INQUIRY:')) edits.push(`${raw} x`);
        for (const edited of edits) {
          variants++;
          expect(parse([...lines.slice(0, i), edited, ...lines.slice(i + 1)].join('\n')), JSON.stringify(edited)).not.toEqual(original);
        }
      });
    }
    expect(variants).toBeGreaterThan(30);
  });
});
