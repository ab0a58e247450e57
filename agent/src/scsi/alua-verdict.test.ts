import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseMultipathLl } from '../multipath/parse-multipath-ll.js';
import { aluaVerdict, type PathFacts } from './alua-verdict.js';
import { decodeInquiry } from './decode-inquiry.js';
import { decodeRtpg } from './decode-rtpg.js';
import { decodeVpdC9 } from './decode-vpd-c9.js';
import { decodeVpd83 } from './decode-vpd83.js';
import { parseHexDump } from './hex-input.js';
import { parseRdacLog } from './parse-rdac-log.js';

const mpFixture = (name: string) => readFileSync(new URL(`../multipath/__fixtures__/${name}`, import.meta.url), 'utf8');
const scsiFixture = (name: string) => readFileSync(new URL(`./__fixtures__/${name}`, import.meta.url), 'utf8');

function inquiry(vendor: string, product: string, tpgs: number) {
  const b = Buffer.alloc(36);
  b.set([0, 0, 5, 0x32, 31, (tpgs << 4) | 0x08, 0x10, 0x02]);
  b.write(`${vendor.padEnd(8)}${product.padEnd(16)}0001`, 8, 'latin1');
  return decodeInquiry(b);
}
/** VPD 0x83 with a relative target port and a target port group. */
function vpd83(port: number, tpg: number) {
  return decodeVpd83(Buffer.from([0, 0x83, 0, 16, 0x61, 0x94, 0, 4, 0, 0, 0, port, 0x61, 0x95, 0, 4, 0, 0, 0, tpg]));
}
/** The blog's MD3600i page with byte 8 set, and byte 10 (this controller's ALUA state). */
function c9(owned: boolean) {
  const b = parseHexDump(scsiFixture('sg_vpd-c9-hex-md3600i-blog.txt'));
  b[8] = owned ? 0xf1 : 0xf0;
  b[10] = owned ? 0x00 : 0x01;
  return decodeVpdC9(b);
}
const base = (dev: string): PathFacts => ({
  dev,
  hctl: null,
  inquiry: null,
  vpd83: null,
  vpdC9: null,
  rtpg: null,
  accessState: null,
  preferredPath: null,
  dhState: null,
  kernelLog: null,
  errors: [],
});
// Two target port groups: 1 active/optimized (ports 1, 2), 2 given by `second`.
const rtpg = (second: number) => decodeRtpg(Buffer.from([0, 0, 0, 0x20, 0x00, 0xcf, 0, 1, 0, 2, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, second, 0xcf, 0, 2, 0, 2, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4]));

describe('aluaVerdict', () => {
  it('DELL MD36xxi (insights capture): TPGS=0 yet IOSHIP from VPD 0xc9, optimized = owning controller, prio 0 everywhere is flagged', () => {
    const map = parseMultipathLl(mpFixture('dell-md36xxi-rdac-lio.txt')).maps[0]!;
    const owners = new Set(['sdc', 'sdi', 'sdo', 'sdv']);
    const paths = map.groups.flatMap((g) => g.paths).map((p) => ({ ...base(p.dev), hctl: p.hctl, inquiry: inquiry('DELL', 'MD36xxi', 0), vpdC9: c9(owners.has(p.dev)), dhState: 'rdac' }));
    const v = aluaVerdict(map, paths);
    expect(v).toMatchObject({ name: 'mpathg', mode: 'IOSHIP', aluaInUse: true, tpgs: 0, vendor: 'DELL', product: 'MD36xxi' });
    expect(v.optimizedPaths).toEqual(['sdc', 'sdi', 'sdo', 'sdv']);
    expect(v.nonOptimizedPaths).toEqual(['sdf', 'sdl', 'sdr', 'sdx']);
    expect(v.groupsMatch).toBe(false);
    expect(v.problems).toEqual([expect.stringMatching(/every path group has prio 0/)]);
    expect(v.evidence.join('\n')).toMatch(/TPGS=0 although the array runs IOSHIP/);
    expect(v.pathStates['sdc']).toEqual({ state: 'active/optimized', source: 'vpd-c9' });
  });

  it('the same LUN with the rdac prioritizer working (prio 14/9) matches', () => {
    const text = mpFixture('dell-md36xxi-rdac-lio.txt').replace("prio=0 status=active", 'prio=14 status=active').replace("prio=0 status=enabled", 'prio=9 status=enabled');
    const map = parseMultipathLl(text).maps[0]!;
    const owners = new Set(['sdc', 'sdi', 'sdo', 'sdv']);
    const paths = map.groups.flatMap((g) => g.paths).map((p) => ({ ...base(p.dev), vpdC9: c9(owners.has(p.dev)) }));
    const v = aluaVerdict(map, paths);
    expect(v).toMatchObject({ mode: 'IOSHIP', groupsMatch: true, problems: [] });
  });

  it('IOSHIP from the kernel log alone (no 0xc9 read): XenServer 6.5 messages', () => {
    const log = parseRdacLog(scsiFixture('messages-rdac-ioship-blog.txt'));
    const paths = [
      { ...base('sdb'), hctl: '8:0:0:1', kernelLog: log.find((l) => l.hctl === '8:0:0:1') ?? null },
      { ...base('sdc'), hctl: '10:0:0:1', kernelLog: log.find((l) => l.hctl === '10:0:0:1') ?? null },
    ];
    const v = aluaVerdict(null, paths, 'lun1');
    expect(v).toMatchObject({ mode: 'IOSHIP', aluaInUse: true, optimizedPaths: ['sdb'], nonOptimizedPaths: ['sdc'] });
    expect(v.evidence[0]).toBe('kernel: scsi 8:0:0:1: rdac: LUN 1 (IOSHIP) (owned)');
  });

  it('legacy RDAC: the unowned paths are standby, AVT: usable but not optimized', () => {
    const rdac = aluaVerdict(null, [{ ...base('sda'), vpdC9: decodeVpdC9(Buffer.from('00c9002c7661633101010000', 'hex')) }, { ...base('sdb'), vpdC9: decodeVpdC9(Buffer.from('00c9002c7661633100010000', 'hex')) }]);
    expect(rdac).toMatchObject({ mode: 'RDAC', aluaInUse: false, optimizedPaths: ['sda'] });
    expect(rdac.pathStates['sdb']).toEqual({ state: 'standby', source: 'rdac-ownership' });
    const avt = aluaVerdict(null, parseRdacLog(scsiFixture('dmesg-rdac-avt-blog.txt')).map((l, i) => ({ ...base(`sd${'abcd'[i]}`), kernelLog: l })));
    expect(avt).toMatchObject({ mode: 'AVT', aluaInUse: false });
  });

  it('euroNAS (ALUA by TPGS/RTPG): the prio 50 active group is the optimized one', () => {
    const map = parseMultipathLl(mpFixture('euronas-multipath-ll.txt')).maps[0]!;
    const paths = [
      { ...base('sdc'), inquiry: inquiry('eSSM_BIO', 'testdisk_0', 1), vpd83: vpd83(1, 1), rtpg: rtpg(0x02) },
      { ...base('sdb'), inquiry: inquiry('eSSM_BIO', 'testdisk_0', 1), vpd83: vpd83(3, 2), rtpg: rtpg(0x02) },
    ];
    const v = aluaVerdict(map, paths);
    expect(v).toMatchObject({ mode: 'ALUA', aluaInUse: true, tpgs: 1, optimizedPaths: ['sdc'], nonOptimizedPaths: ['sdb'], groupsMatch: true, problems: [] });
    expect(v.pathStates['sdb']).toEqual({ state: 'standby', source: 'rtpg' });
  });

  it('flags an active group on the non-optimized controller and a wrong group order (sysfs access_state)', () => {
    const text = mpFixture('euronas-multipath-ll.txt');
    const map = parseMultipathLl(text).maps[0]!;
    const v = aluaVerdict(map, [
      { ...base('sdc'), inquiry: inquiry('eSSM_BIO', 'testdisk_0', 1), accessState: 'active/non-optimized' },
      { ...base('sdb'), inquiry: inquiry('eSSM_BIO', 'testdisk_0', 1), accessState: 'active/optimized' },
    ]);
    expect(v.groupsMatch).toBe(false);
    expect(v.problems.join('\n')).toMatch(/highest priority group \(#1\) holds non-optimized paths: sdc/);
    expect(v.problems.join('\n')).toMatch(/optimized paths outside the highest priority group: sdb/);
    expect(v.problems.join('\n')).toMatch(/active path group \(#1\) has no optimized path/);
  });

  it('flags multibus over ALUA (one group, optimized and non-optimized mixed)', () => {
    const map = parseMultipathLl(mpFixture('netapp-failed-paths.txt')).maps[0]!;
    const paths = map.groups[0]!.paths.map((p, i) => ({ ...base(p.dev), inquiry: inquiry('NETAPP', 'LUN C-Mode', 1), vpd83: vpd83(i + 1, i < 2 ? 1 : 2), rtpg: rtpg(0x01) }));
    const v = aluaVerdict(map, paths);
    expect(v.optimizedPaths).toEqual(['sdr', 'sdg']);
    expect(v.problems.join('\n')).toMatch(/one path group holds optimized \(sdr, sdg\) and non-optimized \(sdab, sdam\)/);
    // All four in TPG 1 (all optimized): one group is right.
    const allOpt = map.groups[0]!.paths.map((p, i) => ({ ...base(p.dev), inquiry: inquiry('NETAPP', 'LUN C-Mode', 1), vpd83: vpd83(i + 1, 1), rtpg: rtpg(0x01) }));
    expect(aluaVerdict(map, allOpt)).toMatchObject({ groupsMatch: true, optimizedPaths: ['sdr', 'sdg', 'sdab', 'sdam'] });
  });

  it('no ALUA at all: mode none, nothing to match', () => {
    const map = parseMultipathLl(mpFixture('old-bracket-format.txt')).maps[1]!;
    const v = aluaVerdict(map, [{ ...base('sdaj'), inquiry: inquiry('DDN', 'S2A 9900', 0) }]);
    expect(v).toMatchObject({ mode: 'none', aluaInUse: false, groupsMatch: true, tpgs: 0 });
  });
});
