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
