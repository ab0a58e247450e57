import { describe, expect, it } from 'vitest';
import { parseProcDrbd } from './parse-proc-drbd.js';

/**
 * /proc/drbd field by field, on lines written by hand in the layout of drbd 8.3/8.4's
 * drbd_proc.c (`%2d: cs:%s ro:%s/%s ds:%s/%s %c %c%c%c%c%c%c`): the protocol letter is the
 * field after ds:, the I/O flags the one after it. Expected values are read off the lines.
 */
const head = (rest: string) => parseProcDrbd(`version: 8.4.3 (api:1/proto:86-101)\n${rest}\n`).resources;

describe('/proc/drbd head line', () => {
  it.each(['A', 'B', 'C'])('reads replication protocol %s', (p) => {
    const [r] = head(` 0: cs:Connected ro:Secondary/Secondary ds:UpToDate/UpToDate ${p} r-----`);
    expect(r?.protocol).toBe(p);
    expect(r?.flags).toBe('r-----');
  });
  it('a token that is not exactly one protocol letter is not the protocol', () => {
    for (const t of ['D', 'AB', 'c', 'xC', 'Cx']) expect(head(` 0: cs:Connected ro:Secondary/Secondary ds:UpToDate/UpToDate ${t} r-----`)[0]?.protocol).toBe('');
  });
  it('the protocol does not depend on its position before the flags', () => {
    expect(head(' 1: cs:WFConnection ro:Primary/Unknown ds:UpToDate/DUnknown r---n- A')[0]).toMatchObject({ protocol: 'A', flags: 'r---n-' });
  });
  it('flags are the first 4-8 character token of dashes and letters; a second one does not replace it', () => {
    expect(head(' 0: cs:Connected ro:Primary/Secondary ds:UpToDate/UpToDate C s---d- r-----')[0]?.flags).toBe('s---d-');
    expect(head(' 0: cs:Connected ro:Primary/Secondary ds:UpToDate/UpToDate C r--')[0]?.flags).toBe('');
    expect(head(' 0: cs:Connected ro:Primary/Secondary ds:UpToDate/UpToDate C r--------')[0]?.flags).toBe('');
    expect(head(' 0: cs:Connected ro:Primary/Secondary ds:UpToDate/UpToDate C r---')[0]?.flags).toBe('r---');
    expect(head(' 0: cs:Connected ro:Primary/Secondary ds:UpToDate/UpToDate C r-------')[0]?.flags).toBe('r-------');
    // A pasted em dash reads as a dash.
    expect(head(' 0: cs:Connected ro:Primary/Secondary ds:UpToDate/UpToDate C r\u2014\u2014\u2014\u2014\u2014')[0]?.flags).toBe('r-----');
    expect(head(' 0: cs:Connected ro:Primary/Secondary ds:UpToDate/UpToDate C r-2---')[0]?.flags).toBe('');
  });
  it('roles and disk states: local before the slash, peer after; ld: (8.0) is the disk too', () => {
    expect(head(' 5: cs:StandAlone ro:Secondary/Unknown ds:Outdated/DUnknown   r-----')[0]).toMatchObject({ minor: 5, cstate: 'StandAlone', role: 'Secondary', peerRole: 'Unknown', disk: 'Outdated', peerDisk: 'DUnknown', protocol: '' });
    expect(head(' 7: cs:Connected st:Primary/Secondary ld:Consistent C r---')[0]).toMatchObject({ role: 'Primary', peerRole: 'Secondary', disk: 'Consistent', peerDisk: '' });
    expect(head(' 8: cs:Connected ro:Primary ds:UpToDate C r---')[0]).toMatchObject({ role: 'Primary', peerRole: '', disk: 'UpToDate', peerDisk: '' });
  });
  it('an Unconfigured minor has the role Unconfigured and nothing else', () => {
    expect(head(' 12: cs:Unconfigured')[0]).toEqual({ minor: 12, cstate: 'Unconfigured', role: 'Unconfigured', peerRole: '', disk: '', peerDisk: '', protocol: '', flags: '', oos: null, counters: {}, sync: null });
    // A role shown with Unconfigured is kept.
    expect(head(' 12: cs:Unconfigured ro:Secondary/Unknown')[0]?.role).toBe('Secondary');
  });
  it('the version line: version, api and protocol range; a build line', () => {
    expect(parseProcDrbd('version: 8.3.16 (api:88/proto:86-97)\nGIT-hash: abc build by x\n')).toMatchObject({ version: '8.3.16', api: '88', proto: '86-97', build: 'abc build by x' });
    expect(parseProcDrbd('version: 8.4.11\n')).toMatchObject({ version: '8.4.11', api: null, proto: null });
    expect(parseProcDrbd('srcversion: 1A2B3C  \n').build).toBe('1A2B3C');
    expect(parseProcDrbd('  version: 8.4.0 (api:1/proto:86-100)\n').version).toBe('8.4.0');
  });
});

describe('/proc/drbd counters and progress', () => {
  it('reads each counter, oos as a number, wo: as a letter; commas are thousands separators', () => {
    const [r] = head(' 0: cs:Connected ro:Primary/Secondary ds:UpToDate/UpToDate C r-----\n    ns:1,024 nr:0 dw:12 dr:4092817 al:3 bm:252 lo:0 pe:0 ua:0 ap:0 ep:1 wo:f oos:2,048');
    expect(r?.counters).toEqual({ ns: 1024, nr: 0, dw: 12, dr: 4092817, al: 3, bm: 252, lo: 0, pe: 0, ua: 0, ap: 0, ep: 1, wo: 'f', oos: 2048 });
    expect(r?.oos).toBe(2048);
  });
  it('ignores tokens that are no counter (one letter or four letters before the colon, upper case, a dash)', () => {
    const [r] = head(' 0: cs:Connected ro:Primary/Secondary ds:UpToDate/UpToDate C r-----\n    x:1 abcd:2 NS:3 ns:-4 ns:5');
    expect(r?.counters).toEqual({ ns: 5 });
    expect(r?.oos).toBeNull();
  });
  it('counter lines before any minor are ignored', () => {
    expect(parseProcDrbd('version: 8.4.0 (api:1/proto:86-100)\n    ns:1 oos:2\n').resources).toEqual([]);
  });
  it('a resync: percent, finish in seconds (H:MM:SS), the current speed', () => {
    const [r] = head(' 0: cs:SyncTarget ro:Secondary/Primary ds:Inconsistent/UpToDate C r-----\n    ns:0 nr:1 oos:3\n\t[=>..................] sync\'ed: 10.5% (900/1000)M\n\tfinish: 1:02:03 speed: 1,234 (5,678) K/sec');
    expect(r?.sync).toEqual({ percent: 10.5, finishSeconds: 3723, speedKiBs: 1234 });
  });
  it('finish or speed alone; a finish that is no H:MM:SS; both before any progress line are counters', () => {
    expect(head(' 0: cs:SyncTarget ro:Secondary/Primary ds:Inconsistent/UpToDate C r-----\n sync\'ed: 1%\n finish: 0:00:07')[0]?.sync).toEqual({ percent: 1, finishSeconds: 7, speedKiBs: null });
    expect(head(' 0: cs:SyncTarget ro:Secondary/Primary ds:Inconsistent/UpToDate C r-----\n sync\'ed: 1%\n speed: 99 K/sec')[0]?.sync).toEqual({ percent: 1, finishSeconds: null, speedKiBs: 99 });
    expect(head(' 0: cs:SyncTarget ro:Secondary/Primary ds:Inconsistent/UpToDate C r-----\n sync\'ed: 1%\n finish: 0:07 speed: 5')[0]?.sync).toEqual({ percent: 1, finishSeconds: null, speedKiBs: 5 });
    expect(head(' 0: cs:SyncTarget ro:Secondary/Primary ds:Inconsistent/UpToDate C r-----\n finish: 0:00:07 speed: 5')[0]?.sync).toBeNull();
  });
  it('stalled only after a progress line, and only as the whole line', () => {
    expect(head(' 0: cs:SyncTarget ro:Secondary/Primary ds:Inconsistent/UpToDate C r-----\n sync\'ed: 1%\n   stalled  ')[0]?.sync?.stalled).toBe(true);
    expect(head(' 0: cs:SyncTarget ro:Secondary/Primary ds:Inconsistent/UpToDate C r-----\n sync\'ed: 1%\n not stalled')[0]?.sync?.stalled).toBeUndefined();
    expect(head(' 0: cs:SyncTarget ro:Secondary/Primary ds:Inconsistent/UpToDate C r-----\n stalled')[0]?.sync).toBeNull();
  });
});

describe('/proc/drbd pasted without the spaces the kernel prints', () => {
  it('reads version:, GIT-hash:, verified:, finish: and speed: with no space after the colon', () => {
    const p = parseProcDrbd("version:8.4.0 (api:1/proto:86-100)\nGIT-hash:abc\n 0: cs:VerifyS ro:Primary/Secondary ds:UpToDate/UpToDate C r-----\n verified:23.7% (1/2)M\n finish:0:00:40 speed:61,340 (60,000) K/sec\n");
    expect(p).toMatchObject({ version: '8.4.0', build: 'abc' });
    expect(p.resources[0]?.sync).toEqual({ percent: 23.7, finishSeconds: 40, speedKiBs: 61340, verify: true });
  });
  it('an indented build line and a head line with two spaces before cs:', () => {
    const p = parseProcDrbd('version: 8.4.0 (api:1/proto:86-100)\n   srcversion: 5E1F\n 1:  cs:Connected ro:Primary/Secondary ds:UpToDate/UpToDate C r-----\n');
    expect(p.build).toBe('5E1F');
    expect(p.resources[0]).toMatchObject({ minor: 1, cstate: 'Connected' });
  });
  it('a build key inside another line is not the build', () => {
    expect(parseProcDrbd('version: 8.4.0\nnote GIT-hash: abc\n').build).toBeNull();
  });
  it('hours of two digits in finish:', () => {
    expect(head(" 0: cs:SyncTarget ro:Secondary/Primary ds:Inconsistent/UpToDate C r-----\n sync'ed: 1%\n finish: 12:34:56 speed: 1")[0]?.sync?.finishSeconds).toBe(12 * 3600 + 34 * 60 + 56);
  });
});

describe('/proc/drbd odd lines', () => {
  it('a configured minor without ro: has no role (only Unconfigured ones get one)', () => {
    expect(head(' 0: cs:Connected')[0]?.role).toBe('');
  });
  it('counter lines after the progress lines are still read', () => {
    const [r] = head(" 0: cs:SyncTarget ro:Secondary/Primary ds:Inconsistent/UpToDate C r-----\n sync'ed: 1%\n finish: 0:00:07 speed: 5\n ns:1 oos:9");
    expect(r?.oos).toBe(9);
    expect(r?.counters).toEqual({ ns: 1, oos: 9 });
  });
  it('a line that starts with stalled but says more is not the stall marker', () => {
    expect(head(" 0: cs:SyncTarget ro:Secondary/Primary ds:Inconsistent/UpToDate C r-----\n sync'ed: 1%\n stalled by x")[0]?.sync?.stalled).toBeUndefined();
  });
  it('a counter value mixing digits and letters is text; a malformed token is no counter; oos as text is no oos', () => {
    const [r] = head(' 0: cs:Connected ro:Primary/Secondary ds:UpToDate/UpToDate C r-----\n    ep:1x wo:b1 ns:1/2 oos:x');
    expect(r?.counters).toEqual({ ep: '1x', wo: 'b1', oos: 'x' });
    expect(r?.oos).toBeNull();
  });
  it('a counter cut off by a pasted ellipsis (\u2026) is not read as the digits before it', () => {
    // A terminal that truncates the line shows `oos:2048…`: the real value may be 20480 or more.
    const [r] = head(' 0: cs:Connected ro:Primary/Secondary ds:UpToDate/UpToDate C r-----\n    ns:12 nr:0 oos:2048\u2026');
    expect(r?.counters).toEqual({ ns: 12, nr: 0 });
    expect(r?.oos).toBeNull();
  });
});
