import { describe, expect, it } from 'vitest';
import { sgInhex } from '@xsctl/test/scsi/sg-oracle';
import { decodeVpdC9, parseSgVpdC9TextStrict, type SgVpdC9Parse } from './decode-vpd-c9.js';
import { ScsiDecodeError } from './scsi-errors.js';

/**
 * VPD page 0xc9 (RDAC "vac1") bytes worked by hand (layout: scsi_dh_rdac.c's c9_inquiry and
 * sg_vpd_vendor.c's decode_rdac_vpd_c9), and the real `sg_vpd --inhex -p vac1` text as the oracle
 * for the text parser.
 */
const sgVpd = (bytes: Uint8Array): Promise<string> => sgInhex('sg_vpd', bytes, ['-p', 'vac1']);

/** 48 bytes: header 00 c9 00 2c, "vac1", then bytes 8.. as given. */
function c9(rest: number[], length = 48): Buffer {
  const b = Buffer.alloc(length);
  Buffer.from([0x00, 0xc9, 0x00, 0x2c, 0x76, 0x61, 0x63, 0x31, ...rest]).copy(b);
  return b;
}

describe('VPD 0xc9 bytes, by hand', () => {
  it('refuses fewer than 10 bytes, another page code and a page id other than vac*', () => {
    expect(() => decodeVpdC9(c9([0x01], 9))).toThrow('VPD page 0xc9: 9 bytes, need at least 10');
    expect(() => decodeVpdC9(c9([0x01, 0x01], 10))).not.toThrow();
    const other = c9([0x01, 0x01]);
    other[1] = 0x05;
    expect(() => decodeVpdC9(other)).toThrow('VPD page 0xc9: page code is 0x05, not 0xc9');
    const notRdac = c9([0x01, 0x01]);
    notRdac.write('xvac', 4, 'latin1');
    expect(() => decodeVpdC9(notRdac)).toThrow(ScsiDecodeError);
    expect(() => decodeVpdC9(notRdac)).toThrow('VPD page 0xc9: page id "xvac" is not "vac1": not an RDAC array');
    // "vac2": an RDAC page of another revision is still read.
    const vac2 = c9([0x01, 0x01]);
    vac2.write('vac2', 4, 'latin1');
    expect(decodeVpdC9(vac2).pageId).toBe('vac2');
  });

  it('path priority: byte 9 low nibble, or byte 15 low nibble when byte 8 bit 3 is set; none when byte 15 is missing', () => {
    // Byte 8 = 0x01 (bit 3 clear): byte 9 = 0x12 -> 2; byte 15 ignored.
    expect(decodeVpdC9(c9([0x01, 0x12, 0, 0, 0, 0, 0, 0x01])).pathPriority).toBe(2);
    // Byte 8 = 0x09 (bit 3 set): byte 15 = 0x31 -> 1; byte 9 = 0x02 still decides "preferred" (bit 0 clear).
    const ext = decodeVpdC9(c9([0x09, 0x02, 0, 0, 0, 0, 0x28 | 0x02, 0x31]));
    expect([ext.pathPriority, ext.preferred]).toEqual([1, false]);
    // Only 10 bytes and bit 3 set: byte 15 is not there.
    expect(decodeVpdC9(c9([0x09, 0x01], 10)).pathPriority).toBeNull();
    expect(decodeVpdC9(c9([0x01, 0x01], 10)).pathPriority).toBe(1);
  });

  it('the extended byte 14: sg_vpd words for bits 5-2 and 1-0, "(Unknown)" otherwise; nothing without bit 3', () => {
    // 0x14 | 0x01: "No (User Disabled and Host Type Restricted)", failback Disabled.
    const a = decodeVpdC9(c9([0x09, 0x01, 0, 0, 0, 0, 0x15, 0x01]));
    expect([a.preferredPathAutoChangeable, a.implicitFailback]).toEqual(['No (User Disabled and Host Type Restricted)', 'Disabled']);
    // 0x18 | 0x02 and 0x24 | 0x03.
    expect(decodeVpdC9(c9([0x09, 0x01, 0, 0, 0, 0, 0x1a, 0x01])).preferredPathAutoChangeable).toBe('No (User Disabled)');
    const b = decodeVpdC9(c9([0x09, 0x01, 0, 0, 0, 0, 0x27, 0x01]));
    expect([b.preferredPathAutoChangeable, b.implicitFailback]).toEqual(['No (Host Type Restricted)', '(Unknown)']);
    // 0x3c & 0x3c = 0x3c: no such code; 0x00 failback: none.
    const c = decodeVpdC9(c9([0x09, 0x01, 0, 0, 0, 0, 0x3c, 0x01]));
    expect([c.preferredPathAutoChangeable, c.implicitFailback]).toEqual(['(Unknown)', '(Unknown)']);
    const plain = decodeVpdC9(c9([0x01, 0x01, 0, 0, 0, 0, 0x28, 0x01]));
    expect([plain.preferredPathAutoChangeable, plain.implicitFailback]).toEqual([null, null]);
  });

  it('TPG data (byte 8 bit 7): states of bytes 10 and 12 (low nibble), conditions of bytes 11 and 13; none without bit 7', () => {
    // 0x81: AVT, owned. Byte 10 = 0xf1 -> 1 active/non-optimized; 11 = 0x03; 12 = 0x02 standby; 13 = 0x42 (no such code).
    const d = decodeVpdC9(c9([0x81, 0x01, 0xf1, 0x03, 0x02, 0x42]));
    expect(d).toMatchObject({
      thisControllerState: 'active/non-optimized',
      thisControllerStatus: 'Controller being held in reset',
      alternateControllerState: 'standby',
      alternateControllerStatus: '(unknown)',
    });
    // Bytes 10-13 past a 10-byte page read as 0: active/optimized, no condition code 0.
    const short = decodeVpdC9(c9([0x81, 0x01], 10));
    expect([short.thisControllerState, short.thisControllerStatus, short.alternateControllerState, short.alternateControllerStatus]).toEqual(['active/optimized', '(unknown)', 'active/optimized', '(unknown)']);
    // Conditions 0x04 and 0x06 (sg_vpd's words).
    const more = decodeVpdC9(c9([0x81, 0x01, 0x00, 0x04, 0x00, 0x06]));
    expect([more.thisControllerStatus, more.alternateControllerStatus]).toEqual(['Performing controller firmware download (1st controller)', 'Quiesced as a result of an administrative request']);
    const none = decodeVpdC9(c9([0x21, 0x01, 0x01, 0x01, 0x01, 0x01]));
    expect([none.thisControllerState, none.thisControllerStatus, none.alternateControllerState, none.alternateControllerStatus]).toEqual([null, null, null, null]);
  });

  it('AVT reads on sector 0 (byte 8 bit 6) only when sg_vpd reads AVT; owned is bit 0', () => {
    // 0xc0: bits 7 and 6: AVT in both readings, sector 0 allowed, not owned.
    expect(decodeVpdC9(c9([0xc0, 0x01]))).toMatchObject({ mode: 'AVT', sgVpdMode: 'AVT', avtAllowReadsOnSector0: true, owned: false, divergent: false });
    expect(decodeVpdC9(c9([0x81, 0x01])).avtAllowReadsOnSector0).toBe(false);
    // 0x41: bit 6 without bit 7: RDAC, no AVT reading.
    expect(decodeVpdC9(c9([0x41, 0x01])).avtAllowReadsOnSector0).toBeNull();
    // 0xe1: IOSHIP in both readings.
    expect(decodeVpdC9(c9([0xe1, 0x01])).avtAllowReadsOnSector0).toBeNull();
  });
});

describe('sg_vpd -p vac1 text', () => {
  const parse = (text: string): SgVpdC9Parse | Error => {
    try {
      return parseSgVpdC9TextStrict(text);
    } catch (e) {
      return e as Error;
    }
  };

  it('refuses text without a mode line; AVT Disabled is RDAC; the page id only when the text names it', async () => {
    expect(() => parseSgVpdC9TextStrict('Volume access control (RDAC) VPD Page:\n  Volume Access via: primary controller\n')).toThrow(
      'sg_vpd 0xc9 output: no "IOShipping (ALUA):" or "AVT:" line',
    );
    const text = await sgVpd(c9([0x00, 0x02]));
    expect(text).toContain('AVT: Disabled');
    const r = parseSgVpdC9TextStrict(text);
    expect(r.unrecognised).toEqual([]);
    expect(r.info).toMatchObject({ mode: 'RDAC', sgVpdMode: 'RDAC', divergent: null, avtAllowReadsOnSector0: null, owned: false, preferred: false, pathPriority: 2, pageId: null });
    expect(parseSgVpdC9TextStrict(`${text}(vac1)\n`).info.pageId).toBe('vac1');
    // No "Path priority:" line (a cut paste): neither priority nor preferred is known.
    const cut = parseSgVpdC9TextStrict(text.replace(/\s*Path priority: .*/, ''));
    expect([cut.info.pathPriority, cut.info.preferred]).toEqual([null, null]);
  });

  it('every line sg_vpd prints, with "x" before it or " x" after it, changes the parse', async () => {
    const pages = [
      c9([0xe9, 0x02, 0x01, 0x02, 0x00, 0x05, 0x2a, 0x01]),
      c9([0xc1, 0x02, 0x01, 0x02, 0x00, 0x05]),
      c9([0x80, 0x01, 0x0e, 0x07, 0x0f, 0xff]),
      c9([0x00, 0x03]),
    ];
    let variants = 0;
    for (const bytes of pages) {
      const text = await sgVpd(bytes);
      const original = parse(text);
      expect(original).not.toBeInstanceOf(Error);
      expect((original as SgVpdC9Parse).unrecognised).toEqual([]);
      const lines = text.split('\n');
      lines.forEach((raw, i) => {
        if (raw.trim() === '') return;
        const indent = /^\s*/.exec(raw)?.[0] ?? '';
        const edits = [`${indent}x${raw.slice(indent.length)}`];
        // The state's words are read by normalizeAluaState (shared with sg_rtpg's text), by their start.
        if (!raw.includes('Asymmetric Access State:')) edits.push(`${raw} x`);
        for (const edited of edits) {
          variants++;
          expect(parse([...lines.slice(0, i), edited, ...lines.slice(i + 1)].join('\n')), JSON.stringify(edited)).not.toEqual(original);
        }
      });
    }
    expect(variants).toBeGreaterThan(40);
  });
});
