import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeRtpg, parseSgRtpgText, rtpgStatusCodes } from './decode-rtpg.js';
import { parseHexDump } from './hex-input.js';

/**
 * REPORT TARGET PORT GROUPS parameter data (SPC-4 6.37, tables 208-210) built by hand: a 4-byte
 * RETURN DATA LENGTH header (format 0) or an 8-byte one (format 1: byte 4 bits 6-4 = 001, byte 5
 * the implicit transition time), then per group 8 bytes (byte 0: PREF bit 7, state bits 3-0;
 * byte 1: T_SUP O_SUP - LBD_SUP U_SUP S_SUP AN_SUP AO_SUP; bytes 2-3 group id; byte 5 status;
 * byte 6 vendor specific; byte 7 port count) and 4 bytes per port (relative port id in bytes 2-3).
 */
const bytes = (h: string) => parseHexDump(h);

describe('decodeRtpg by hand', () => {
  it('reads every field of one group with two ports', () => {
    // length 0x10 = 16: one descriptor of 8 + 2 * 4 bytes.
    const r = decodeRtpg(bytes('00000010  81 55 0102 00 02 7f 02  0000 0005  0000 abcd'));
    expect(r).toEqual({
      format: 'length',
      implicitTransitionTime: null,
      groups: [{
        id: 0x0102,
        preferred: true,
        state: 'active/non-optimized',
        stateCode: 1,
        statusCode: 2,
        vendorUnique: 0x7f,
        // 0x55 = 0101 0101: O_SUP, LBD_SUP, S_SUP, AO_SUP.
        supported: { t: false, o: true, lbd: true, u: false, s: true, an: false, ao: true },
        relativePorts: [5, 0xabcd],
        targetPortCount: 2,
      }],
    });
  });
  it('reads the other half of the support bits and a group without PREF', () => {
    // 0xaa = 1010 1010: T_SUP, (bit 5 reserved), U_SUP, AN_SUP.
    const g = decodeRtpg(bytes('0000000c  02 aa ffff 00 00 00 01  0000 0001')).groups[0];
    expect(g).toMatchObject({ id: 0xffff, preferred: false, stateCode: 2, state: 'standby', supported: { t: true, o: false, lbd: false, u: true, s: false, an: true, ao: false }, relativePorts: [1] });
  });
  it('a truncated port list is an error, never port 0', () => {
    // The group says 2 ports (8 bytes) but the data holds 4 bytes of ports.
    expect(() => decodeRtpg(bytes('0000000c  00 00 0001 00 00 00 02  0000 0001'))).toThrow('REPORT TARGET PORT GROUPS: group at offset 4 lists 2 ports past the end');
    // The header promises 16 bytes, 12 came.
    expect(() => decodeRtpg(bytes('00000010  00 00 0001 00 00 00 02  0000 0001'))).toThrow('REPORT TARGET PORT GROUPS: header says 20 bytes, got 16');
    // Exactly fitting is fine, and so is one port short in the extended format at offset 8.
    expect(decodeRtpg(bytes('00000010  00 00 0001 00 00 00 02  0000 0001 0000 0002')).groups[0]?.relativePorts).toEqual([1, 2]);
    expect(() => decodeRtpg(bytes('00000010 10 00 0000  00 00 0001 00 00 00 02  0000 0001'))).toThrow('group at offset 8 lists 2 ports past the end');
  });
  it('the second group starts after the first one\'s ports', () => {
    const r = decodeRtpg(bytes('0000001c  00 00 0001 00 00 00 01  0000 0011  01 00 0002 00 00 00 02  0000 0021 0000 0022'));
    expect(r.groups.map((g) => [g.id, g.stateCode, g.relativePorts])).toEqual([[1, 0, [0x11]], [2, 1, [0x21, 0x22]]]);
  });
  it('the extended header: format 1 in byte 4 bits 6-4, the implicit transition time in byte 5', () => {
    const r = decodeRtpg(bytes('0000000c  10 3c 0000  00 00 0001 00 00 00 00'));
    expect(r).toMatchObject({ format: 'extended', implicitTransitionTime: 60 });
    expect(r.groups.map((g) => g.id)).toEqual([1]);
    // Bit 7 of byte 4 is outside the format field; format 2 is not the extended header.
    expect(decodeRtpg(bytes('0000000c  90 05 0000  00 00 0003 00 00 00 00'))).toMatchObject({ format: 'extended', implicitTransitionTime: 5 });
    expect(decodeRtpg(bytes('00000008  20 00 0004 00 00 00 00'))).toMatchObject({ format: 'length', implicitTransitionTime: null, groups: [{ id: 4 }] });
    expect(decodeRtpg(bytes('00000008  00 00 0004 00 00 00 00')).groups[0]?.id).toBe(4);
  });
  it('reads the header alone, and refuses fewer than 4 bytes', () => {
    expect(decodeRtpg(bytes('00000000'))).toEqual({ groups: [], format: 'length', implicitTransitionTime: null });
    expect(() => decodeRtpg(bytes('000000'))).toThrow('REPORT TARGET PORT GROUPS: 3 bytes, need at least 4');
  });
  it('bytes past the return data length are not groups', () => {
    expect(decodeRtpg(bytes('00000008  00 00 0001 00 00 00 00  00 00 0002 00 00 00 00')).groups.map((g) => g.id)).toEqual([1]);
  });
  it('names every asymmetric access state code (SPC-4 table 209)', () => {
    const names = [0, 1, 2, 3, 0xe, 0xf].map((s) => decodeRtpg(bytes(`00000008  ${s.toString(16).padStart(2, '0')} 00 0001 00 00 00 00`)).groups[0]?.state);
    expect(names).toEqual(['active/optimized', 'active/non-optimized', 'standby', 'unavailable', 'offline', 'transitioning']);
  });
  it('has names for the three status codes', () => {
    expect(rtpgStatusCodes).toEqual({ 0: 'no status available', 1: 'changed by SET TARGET PORT GROUPS', 2: 'changed by implicit asymmetric logical unit access behavior' });
  });
});

describe('parseSgRtpgText by hand', () => {
  it('reads ids in hex or decimal-looking hex, ports on the heading line or below, vendor unique status', () => {
    const r = parseSgRtpgText([
      'Report target port groups:',
      '  target port group id : 0x10 , Pref=1, Rtpg_fmt=0',
      '    target port group asymmetric access state : 0x0e (offline)',
      '    T_SUP : 0, O_SUP : 1, LBD_SUP : 1, U_SUP : 0, S_SUP : 1, AN_SUP : 0, AO_SUP : 1',
      '    status code : 0x01 (target port asym. state changed by SET TARGET PORT GROUPS command)',
      '    vendor unique status : 0x2a',
      '    target port count : 03',
      '    Relative target port ids: 0x01 0x0a',
      '      0x0b',
      '  target port group id : 20 , Pref=0',
      '    target port group asymmetric access state : 0x07 (reserved [7])',
      '    target port count : 0x0',
    ].join('\n'));
    expect(r.format).toBeNull();
    expect(r.implicitTransitionTime).toBeNull();
    expect(r.groups).toEqual([
      { id: 16, preferred: true, state: 'offline', stateCode: 14, statusCode: 1, vendorUnique: 42, supported: { t: false, o: true, lbd: true, u: false, s: true, an: false, ao: true }, relativePorts: [1, 10, 11], targetPortCount: 3 },
      { id: 0x20, preferred: false, state: 'reserved-0x7', stateCode: 7, statusCode: 0, vendorUnique: null, supported: null, relativePorts: [], targetPortCount: 0 },
    ]);
  });
  it('refuses text without a group heading', () => {
    expect(() => parseSgRtpgText('Report target port groups:\n')).toThrow('sg_rtpg output: no "target port group id" line');
  });
});

describe('parseSgRtpgText on real sg_rtpg captures, checked against the bytes they stand for', () => {
  const fixture = (name: string) => readFileSync(new URL(`./__fixtures__/${name}`, import.meta.url), 'utf8');
  const all = { t: true, o: true, lbd: false, u: true, s: true, an: true, ao: true };

  it('LIO without -d: a group with target port count 00 and no port list; states as codes only', () => {
    const r = parseSgRtpgText(fixture('sg_rtpg-lio-hidden-group.txt'));
    expect(r.groups).toEqual([
      { id: 0, preferred: false, state: 'active/optimized', stateCode: 0, statusCode: 0, vendorUnique: 0, supported: all, relativePorts: [], targetPortCount: 0 },
      { id: 1, preferred: false, state: 'active/optimized', stateCode: 0, statusCode: 0, vendorUnique: 0, supported: all, relativePorts: [1], targetPortCount: 1 },
    ]);
    // The same response as bytes, by hand: 20 bytes after the header (8 + 8 + 4); byte 1 with
    // T_SUP O_SUP U_SUP S_SUP AN_SUP AO_SUP and not LBD_SUP (bit 4) is 1100 1111 = 0xcf.
    expect(decodeRtpg(bytes('00000014  00 cf 0000 00 00 00 00  00 cf 0001 00 00 00 01  0000 0001')).groups).toEqual(r.groups);
  });

  it('FreeBSD CTL: three ports per group, 0x81-0x83 on the second controller, O_SUP off', () => {
    const r = parseSgRtpgText(fixture('sg_rtpg-freebsd-ctl.txt'));
    const sup = { ...all, o: false };
    expect(r.groups).toEqual([
      { id: 2, preferred: false, state: 'active/non-optimized', stateCode: 1, statusCode: 2, vendorUnique: 0, supported: sup, relativePorts: [1, 2, 3], targetPortCount: 3 },
      { id: 3, preferred: false, state: 'active/optimized', stateCode: 0, statusCode: 2, vendorUnique: 0, supported: sup, relativePorts: [0x81, 0x82, 0x83], targetPortCount: 3 },
    ]);
    // T U S AN AO = 1000 1111 = 0x8f; 2 x (8 + 3 x 4) = 40 = 0x28.
    const raw = bytes('00000028  01 8f 0002 00 02 00 03  0000 0001 0000 0002 0000 0003  00 8f 0003 00 02 00 03  0000 0081 0000 0082 0000 0083');
    expect(decodeRtpg(raw).groups).toEqual(r.groups);
  });

  it('DGC -vvd, older sg3_utils: Pref=1 on the second group, status 0x01 (STPG), four ports each, the -v lines ignored', () => {
    const r = parseSgRtpgText(fixture('sg_rtpg-vvd-dgc.txt'));
    const sup = { t: false, o: false, lbd: false, u: true, s: false, an: true, ao: true };
    expect(r.groups).toEqual([
      { id: 1, preferred: false, state: 'active/non-optimized', stateCode: 1, statusCode: 1, vendorUnique: 0, supported: sup, relativePorts: [1, 2, 3, 4], targetPortCount: 4 },
      { id: 2, preferred: true, state: 'active/optimized', stateCode: 0, statusCode: 1, vendorUnique: 0, supported: sup, relativePorts: [5, 6, 7, 8], targetPortCount: 4 },
    ]);
    // "Report list length = 52": 4 + 2 x (8 + 4 x 4); U AN AO = 0000 1011 = 0x0b; Pref = 0x80.
    const raw = bytes('00000030  01 0b 0001 00 01 00 04  0000 0001 0000 0002 0000 0003 0000 0004  80 0b 0002 00 01 00 04  0000 0005 0000 0006 0000 0007 0000 0008');
    expect(raw.length).toBe(52);
    expect(decodeRtpg(raw).groups).toEqual(r.groups);
  });

  it('each support flag on its own, in sg_rtpg order (one set, the others 0)', () => {
    const keys = ['T_SUP', 'O_SUP', 'LBD_SUP', 'U_SUP', 'S_SUP', 'AN_SUP', 'AO_SUP'] as const;
    const names = ['t', 'o', 'lbd', 'u', 's', 'an', 'ao'] as const;
    keys.forEach((k, i) => {
      const line = keys.map((x) => `${x} : ${x === k ? 1 : 0}`).join(', ');
      const g = parseSgRtpgText(`  target port group id : 0x1 , Pref=0\n    ${line}\n`).groups[0];
      expect(g?.supported, k).toEqual(Object.fromEntries(names.map((n, j) => [n, j === i])));
    });
  });

  it('a number after a new group heading and before its port list is not a port of either group', () => {
    const r = parseSgRtpgText(['  target port group id : 0x1 , Pref=0', '    Relative target port ids:', '      0x01', '  target port group id : 0x2 , Pref=0', '      0x09', '    Relative target port ids:', '      0x02'].join('\n'));
    expect(r.groups.map((g) => g.relativePorts)).toEqual([[1], [2]]);
    // Before any group heading nothing counts, not even a port list.
    expect(parseSgRtpgText('    Relative target port ids:\n      0x05\n  target port group id : 0x3 , Pref=0\n      0x06\n').groups).toEqual([
      { id: 3, preferred: false, state: 'unknown', stateCode: -1, statusCode: 0, vendorUnique: null, supported: null, relativePorts: [], targetPortCount: 0 },
    ]);
  });

  it("reads only sg_rtpg's spelling: a line that is not its format is no field (prefix and suffix injection)", () => {
    const head = '  target port group id : 0x1 , Pref=0';
    const one = (line: string) => parseSgRtpgText(`${head}\n${line}\n`).groups[0]!;
    const blank = { id: 1, preferred: false, state: 'unknown', stateCode: -1, statusCode: 0, vendorUnique: null, supported: null, relativePorts: [], targetPortCount: 0 };
    for (const line of [
      'x target port group asymmetric access state : 0x01', 'target port group asymmetric access state: 0x01', 'target port group asymmetric access state :  0x01',
      'target port group asymmetric access state : 0x012', 'xstatus code : 0x01', 'status code: 0x01', 'status code : 0x1', 'status code :  0x01',
      'xtarget port count : 02', 'target port count: 02', 'target port count :  02', 'target port count : 02 ports',
      'xvendor unique status : 0x05', 'vendor unique status: 0x05', 'vendor unique status : 0x05 x', 'vendor unique status :  0x05',
      'x T_SUP : 1', 'T_SUP: 1, O_SUP: 1',
      'xRelative target port ids:', 'Relative target port id:', 'Relative target port ids', '0x05',
    ]) {
      expect(one(line), line).toEqual(blank);
    }
    // The heading itself: both blanks around ":" and before ",", Pref 0 or 1.
    for (const bad of ['target port group id: 0x1 , Pref=0', 'target port group id :  0x1 , Pref=0', 'target port group id : 0x1, Pref=0', 'target port group id : 0x1 ,  Pref=0', 'target port group id : 0x1 , Pref =0', 'target port group id : 0x1 , Pref=2', 'x target port group id : 0x1 , Pref=0']) {
      expect(() => parseSgRtpgText(bad), bad).toThrow('no "target port group id" line');
    }
    expect(one('target port group asymmetric access state : 0x0e (offline)')).toMatchObject({ stateCode: 0xe, state: 'offline' });
    expect(one('target port group asymmetric access state : 0x1f')).toMatchObject({ stateCode: 0xf, state: 'transitioning' });
    expect(one('status code : 0x02 (target port asym. state changed by implicit lu behaviour)').statusCode).toBe(2);
    expect(one('vendor unique status : 0xff').vendorUnique).toBe(255);
    expect(one('target port count : 0x10').targetPortCount).toBe(16);
    // A flag read only with its own name, a 1 and the separator: "LBD_SUP : 1" does not set S_SUP... nor does "S_SUP : 10".
    expect(one('T_SUP : 0, O_SUP : 0, LBD_SUP : 1, U_SUP : 0, S_SUP : 0, AN_SUP : 0, AO_SUP : 0').supported).toEqual({ t: false, o: false, lbd: true, u: false, s: false, an: false, ao: false });
    expect(one('T_SUP : 0, S_SUP : 10').supported?.s).toBe(false);
  });
});

describe('edges the mutation run found untested', () => {
  it('the extended header needs all 8 header bytes: 5-7 bytes with format 1 in byte 4 are the 4-byte header and data', () => {
    // 6 bytes: RETURN DATA LENGTH 2, then 0x10 0x05. Too short for an 8-byte header, so format 0.
    expect(decodeRtpg(bytes('00000002 10 05'))).toEqual({ groups: [], format: 'length', implicitTransitionTime: null });
    // Exactly 8 bytes with format 1: the extended header, no groups.
    expect(decodeRtpg(bytes('00000004 10 3c 0000'))).toEqual({ groups: [], format: 'extended', implicitTransitionTime: 60 });
  });
  it('port ids only from a line that is sg_rtpg\'s port line, whole', () => {
    const head = '  target port group id : 0x1 , Pref=0\n    Relative target port ids:\n';
    const ports = (tail: string) => parseSgRtpgText(`${head}${tail}`).groups[0]?.relativePorts;
    expect(ports('      0x05\n')).toEqual([5]);
    expect(ports('      x0x05\n')).toEqual([]);
    expect(ports('      0x05 x\n')).toEqual([]);
    expect(parseSgRtpgText('  target port group id : 0x1 , Pref=0\n    xRelative target port ids: 0x05\n').groups[0]?.relativePorts).toEqual([]);
    // A stray carriage return inside the heading line: not sg_rtpg's line, no ports from it.
    expect(parseSgRtpgText('  target port group id : 0x1 , Pref=0\n    Relative target port ids: 0x05\r0x06\n').groups[0]?.relativePorts).toEqual([]);
    // Ids on the heading line are " 0x.." each; anything else there is no id (never NaN, never 0).
    for (const bad of [' zz', ' 0x05 zz', ' 5', '0x05', ' 0x05,0x06']) {
      expect(parseSgRtpgText(`  target port group id : 0x1 , Pref=0\n    Relative target port ids:${bad}\n`).groups[0]?.relativePorts, bad).toEqual([]);
    }
    expect(parseSgRtpgText('  target port group id : 0x1 , Pref=0\n    Relative target port ids: 0x05 0xa\n').groups[0]?.relativePorts).toEqual([5, 10]);
  });
});
