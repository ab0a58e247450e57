import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parseProcDrbd } from './parse-proc-drbd.js';

const fixture = (name: string) => readFile(new URL(`./__fixtures__/${name}`, import.meta.url), 'utf8');

describe('parseProcDrbd', () => {
  it('reads the 8.4.0 capture (shared fixture): connected, in sync', async () => {
    const p = parseProcDrbd(await fixture('proc-drbd-84.txt'));
    expect(p.version).toBe('8.4.0');
    expect(p.api).toBe('1');
    expect(p.build).toMatch(/^28753f559ab51b549d16bcf487fe625d5919c49c/);
    expect(p.resources).toEqual([
      expect.objectContaining({ minor: 0, cstate: 'Connected', role: 'Primary', peerRole: 'Secondary', disk: 'UpToDate', peerDisk: 'UpToDate', protocol: 'C', flags: 'r-----', oos: 0, sync: null }),
    ]);
    expect(p.resources[0]?.counters).toMatchObject({ ns: 4091788, nr: 64, dw: 112, dr: 4092817, al: 3, bm: 252, ep: 1, wo: 'b' });
  });

  it('reads 8.3 resync progress: percent, finish, speed', async () => {
    const p = parseProcDrbd(await fixture('proc-drbd-83-syncing.txt'));
    expect(p.version).toBe('8.3.8');
    expect(p.api).toBe('88');
    const r = p.resources[0];
    expect(r).toMatchObject({ minor: 0, cstate: 'SyncSource', role: 'Primary', peerRole: 'Secondary', disk: 'UpToDate', peerDisk: 'Inconsistent', protocol: 'C', flags: 'r----', oos: 301729988 });
    expect(r?.sync).toEqual({ percent: 42.4, finishSeconds: 1 * 3600 + 23 * 60 + 28, speedKiBs: 60172 });
  });

  it('marks a stalled resync', async () => {
    const r = parseProcDrbd(await fixture('proc-drbd-83-stalled.txt')).resources[0];
    expect(r?.sync).toEqual({ percent: 0.1, finishSeconds: null, speedKiBs: null, stalled: true });
    expect(r?.oos).toBe(523171100);
  });

  it('reads a SyncTarget with queue_delay and want: (8.3.8, srcversion header)', async () => {
    const p = parseProcDrbd(await fixture('proc-drbd-83-synctarget.txt'));
    expect(p.build).toBe('299AFE04D7AFD98B3CA0AF9');
    expect(p.resources[0]).toMatchObject({ cstate: 'SyncTarget', role: 'Secondary', peerRole: 'Primary', disk: 'Inconsistent', peerDisk: 'UpToDate', oos: 813660 });
    expect(p.resources[0]?.sync).toEqual({ percent: 20.8, finishSeconds: 90, speedKiBs: 8976 });
  });

  it('survives a copy/paste-mangled capture (curly quotes, ellipses, indented lines, split counters)', async () => {
    const p = parseProcDrbd(await fixture('proc-drbd-84-chef-syncing.txt'));
    expect(p.version).toBe('8.4.1');
    const r = p.resources[0];
    expect(r).toMatchObject({ minor: 0, cstate: 'SyncSource', role: 'Primary', disk: 'UpToDate', peerDisk: 'Inconsistent', protocol: 'C', oos: 12685660 });
    expect(r?.counters['pe']).toBe(13);
    expect(r?.sync).toEqual({ percent: 19.5, finishSeconds: 660, speedKiBs: 19188 });
  });

  it('reads the StandAlone side of a split brain: wrapped GIT-hash line, no protocol letter', async () => {
    const p = parseProcDrbd(await fixture('proc-drbd-84-split-brain-node1.txt'));
    expect(p.resources).toHaveLength(1);
    expect(p.resources[0]).toMatchObject({ minor: 0, cstate: 'StandAlone', role: 'Secondary', peerRole: 'Unknown', disk: 'UpToDate', peerDisk: 'DUnknown', protocol: '', flags: 'r-----', oos: 76 });
  });

  it('lists Unconfigured minors (8.3) between configured ones', () => {
    const text = [
      'version: 8.3.16 (api:88/proto:86-97)',
      'GIT-hash: a798fa7e274428a357657fb52f0ecf40192c1985 build by root@xcp1, 2013-06-04 11:22:33',
      ' 0: cs:Unconfigured',
      ' 1: cs:WFConnection ro:Primary/Unknown ds:UpToDate/DUnknown C r---n-',
      '    ns:0 nr:0 dw:4 dr:1200 al:1 bm:0 lo:0 pe:0 ua:0 ap:0 ep:1 wo:f oos:4',
      ' 2: cs:Unconfigured',
      '',
    ].join('\n');
    const p = parseProcDrbd(text);
    expect(p.resources.map((r) => [r.minor, r.cstate, r.role])).toEqual([
      [0, 'Unconfigured', 'Unconfigured'],
      [1, 'WFConnection', 'Primary'],
      [2, 'Unconfigured', 'Unconfigured'],
    ]);
    expect(p.resources[1]).toMatchObject({ flags: 'r---n-', peerDisk: 'DUnknown', oos: 4 });
  });

  it('accepts DRBD 8.0-8.2 `st:` roles, verify progress, ANSI colour and CRLF', () => {
    const text = '\x1b[1mversion: 8.2.6 (api:88/proto:86-88)\x1b[0m\r\n 3: cs:VerifyS st:Primary/Secondary ds:UpToDate/UpToDate C r---\r\n    ns:1 nr:0 dw:0 dr:2 al:0 bm:0 lo:0 pe:0 ua:0 ap:0 oos:0\r\n\t[====>...............] verified: 23.7% (7812/10240)M\r\n\tfinish: 0:00:40 speed: 61,340 (60,000) K/sec\r\n';
    const r = parseProcDrbd(text).resources[0];
    expect(r).toMatchObject({ minor: 3, cstate: 'VerifyS', role: 'Primary', peerRole: 'Secondary', flags: 'r---' });
    expect(r?.sync).toEqual({ percent: 23.7, finishSeconds: 40, speedKiBs: 61340, verify: true });
  });

  it('reads DRBD 9 /proc/drbd: a version and no resources', () => {
    const p = parseProcDrbd('version: 9.0.22-1 (api:2/proto:86-117)\nGIT-hash: 7d3ee6e5e4a5e1c9b2d0 build by root@x, 2020-03-12\nTransports (api:16): tcp (9.0.22-1)\n');
    expect(p.version).toBe('9.0.22');
    expect(p.resources).toEqual([]);
  });

  it('reads the 8.4.10 module (EL7 kmod-drbd84 era): srcversion instead of GIT-hash, minor 1', async () => {
    const p = parseProcDrbd(await fixture('proc-drbd-8410-srcversion.txt'));
    expect(p).toMatchObject({ version: '8.4.10', api: '1', proto: '86-101', build: '983FCB77F30137D4E127B83' });
    expect(p.resources).toEqual([
      expect.objectContaining({ minor: 1, cstate: 'Connected', role: 'Primary', peerRole: 'Secondary', disk: 'UpToDate', peerDisk: 'UpToDate', protocol: 'C', flags: 'r-----', oos: 0, sync: null }),
    ]);
    expect(p.resources[0]?.counters).toMatchObject({ ns: 0, nr: 0, dw: 0, dr: 0, al: 0, bm: 0, ep: 1, wo: 'f' });
  });

  it('returns an empty result for empty input', () => {
    expect(parseProcDrbd('')).toEqual({ version: null, api: null, proto: null, build: null, resources: [] });
  });
});
