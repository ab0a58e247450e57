import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseMultipathLl } from './parse-multipath-ll.js';
import { parseMultipathdJson } from './parse-multipathd-json.js';

// Sources of every fixture: __fixtures__/SOURCES.md.
const fixture = (name: string) => readFileSync(new URL(`./__fixtures__/${name}`, import.meta.url), 'utf8');
const devs = (m: { groups: { paths: { dev: string }[] }[] }) => m.groups.map((g) => g.paths.map((p) => p.dev));

describe('parseMultipathLl: captured outputs', () => {
  it('NetApp topology from xapi-project/sm: padded vendor, failed paths, 4-argument features', () => {
    const { maps, warnings } = parseMultipathLl(fixture('netapp-failed-paths.txt'));
    expect(warnings).toEqual([]);
    expect(maps).toHaveLength(1);
    const m = maps[0]!;
    expect(m).toMatchObject({
      name: '3600a098038303973743f486833396d44',
      wwid: '3600a098038303973743f486833396d44',
      dm: 'dm-1',
      vendor: 'NETAPP',
      product: 'LUN C-Mode',
      size: '200G',
      features: '4 queue_if_no_path pg_init_retries 50 retain_attached_hw_handle',
      hwhandler: '1 alua',
      writePolicy: 'rw',
    });
    expect(m.groups).toHaveLength(1);
    expect(m.groups[0]).toMatchObject({ policy: 'service-time 0', prio: 50, status: 'active' });
    expect(m.groups[0]!.paths).toEqual([
      { hctl: '0:0:0:4', dev: 'sdr', devt: '65:16', dmState: 'active', checkerState: 'ready', deviceState: 'running', prio: null },
      { hctl: '0:0:1:4', dev: 'sdg', devt: '8:96', dmState: 'active', checkerState: 'ready', deviceState: 'running', prio: null },
      { hctl: '7:0:0:4', dev: 'sdab', devt: '65:176', dmState: 'failed', checkerState: 'faulty', deviceState: 'running', prio: null },
      { hctl: '7:0:1:4', dev: 'sdam', devt: '66:96', dmState: 'failed', checkerState: 'faulty', deviceState: 'running', prio: null },
    ]);
  });

  it('XCP-ng 8.0 dom0 (multipath-tools 0.4.9 fork), xcp-ng/xcp#253: padded vendor, features 0, four one-path groups', () => {
    const { maps, warnings } = parseMultipathLl(fixture('xcpng80-msa2050-topology.txt'));
    expect(warnings).toEqual([]);
    expect(maps).toHaveLength(1);
    const m = maps[0]!;
    expect(m).toMatchObject({ name: '3600c0ff0003b116f2f6c495d01000000', wwid: '3600c0ff0003b116f2f6c495d01000000', dm: 'dm-0', vendor: 'HPE', product: 'MSA 2050 SAN', size: '93G', features: '0', hwhandler: '0', writePolicy: 'rw' });
    expect(m.groups.map((g) => [g.policy, g.prio, g.status])).toEqual([
      ['service-time 0', 1, 'active'],
      ['service-time 0', 1, 'enabled'],
      ['service-time 0', 1, 'enabled'],
      ['service-time 0', 1, 'enabled'],
    ]);
    expect(m.groups.map((g) => g.paths.map((p) => `${p.hctl} ${p.dev} ${p.devt} ${p.dmState} ${p.checkerState} ${p.deviceState}`))).toEqual([
      ['4:0:4:0 sdb 8:16 active ready running'],
      ['4:0:5:0 sdc 8:32 active ready running'],
      ['5:0:1:0 sdd 8:48 active ready running'],
      ['5:0:5:0 sde 8:64 active ready running'],
    ]);
  });

  it('DELL MD36xxi + LIO from insights-core: rdac handler, two groups each, a map named by its wwid', () => {
    const { maps, warnings } = parseMultipathLl(fixture('dell-md36xxi-rdac-lio.txt'));
    expect(warnings).toEqual([]);
    expect(maps.map((m) => m.name)).toEqual(['mpathg', 'mpathe', '36001405b1629f80d52a4c898f8856e43']);
    const [g, e, lio] = maps;
    expect(g).toMatchObject({ wwid: '36f01faf000da360b0000033c528fea6d', dm: 'dm-2', vendor: 'DELL', product: 'MD36xxi', size: '54T', hwhandler: '1 rdac' });
    expect(g!.features).toBe('3 queue_if_no_path pg_init_retries 50');
    expect(devs(g!)).toEqual([
      ['sdc', 'sdi', 'sdo', 'sdv'],
      ['sdf', 'sdl', 'sdr', 'sdx'],
    ]);
    expect(g!.groups.map((x) => [x.prio, x.status])).toEqual([
      [0, 'active'],
      [0, 'enabled'],
    ]);
    expect(g!.groups[1]!.paths[3]).toEqual({ hctl: '18:0:0:1', dev: 'sdx', devt: '65:112', dmState: 'active', checkerState: 'ready', deviceState: 'running', prio: null });
    expect(e!.features).toBe('3 queue_if_no_path pg_init_retries 55');
    expect(e!.groups.flatMap((x) => x.paths.map((p) => p.checkerState))).toEqual(Array(8).fill('faulty'));
    // "LIO-ORG ,block0_sdb": the vendor is padded to 8 characters; no "(wwid)" because the alias is the wwid.
    expect(lio).toMatchObject({ wwid: '36001405b1629f80d52a4c898f8856e43', dm: 'dm-5', vendor: 'LIO-ORG', product: 'block0_sdb', size: '2.0G', features: '0', hwhandler: '0' });
    expect(lio!.groups.map((x) => x.policy)).toEqual(['service-time 0', 'service-time 0']);
  });

  it('old bracket format from Checkmk: no wp, [undef] checker, a product with a space', () => {
    const { maps, warnings } = parseMultipathLl(fixture('old-bracket-format.txt'));
    expect(warnings).toEqual([]);
    expect(maps).toHaveLength(2);
    expect(maps[0]).toMatchObject({
      name: 'orabase.lun50',
      wwid: '360a9800043346937686f456f59386741',
      dm: 'dm-15',
      vendor: 'NETAPP',
      product: 'LUN',
      size: '25G',
      features: '1 queue_if_no_path',
      hwhandler: '0',
      writePolicy: null,
    });
    expect(maps[0]!.groups[0]).toMatchObject({ policy: 'round-robin 0', prio: 0, status: 'active' });
    expect(maps[0]!.groups[0]!.paths[0]).toEqual({ hctl: '1:0:3:50', dev: 'sdy', devt: '65:128', dmState: 'active', checkerState: 'undef', deviceState: null, prio: null });
    expect(maps[1]).toMatchObject({ name: 'SDDN_S2A_9900_1308xxxxxxxx', wwid: 'SDDN_S2A_9900_1308xxxxxxxx', dm: 'dm-13', vendor: 'DDN', product: 'S2A 9900', size: '7.3T', writePolicy: 'rw' });
    expect(devs(maps[1]!)).toEqual([
      ['sdaj', 'sdbh', 'sddd', 'sdeb'],
      ['sdcf', 'sdl'],
    ]);
    expect(maps[1]!.groups[0]!.paths.map((p) => p.dmState)).toEqual(['failed', 'failed', 'active', 'active']);
    expect(maps[1]!.groups[1]!.status).toBe('enabled');
  });

  it('euroNAS FAQ output: ´ as tree character, the last path at column 0', () => {
    const { maps, warnings } = parseMultipathLl(fixture('euronas-multipath-ll.txt'));
    expect(warnings).toEqual([]);
    expect(maps).toHaveLength(1);
    expect(maps[0]).toMatchObject({ name: '26530353739643236', wwid: '26530353739643236', dm: 'dm-0', vendor: 'eSSM_BIO', product: 'testdisk_0', hwhandler: '1 alua' });
    expect(maps[0]!.groups.map((g) => [g.prio, g.status, g.paths.map((p) => `${p.hctl} ${p.dev}`)])).toEqual([
      [50, 'active', ['6:0:1:0 sdc']],
      [1, 'enabled', ['6:0:0:0 sdb']],
    ]);
  });

  it('DGC VRAID from the ALUA blog: bracket format with the backslashes lost and U+00A0 spacing', () => {
    const { maps, warnings } = parseMultipathLl(fixture('dgc-vraid-blog-multipath-ll.txt'));
    expect(warnings).toEqual([]);
    expect(maps[0]).toMatchObject({ name: 'mpath2', wwid: '3600601602df02d00abe0159e5c21e111', vendor: 'DGC', product: 'VRAID', size: '100G', hwhandler: '1 alua', writePolicy: 'rw' });
    expect(maps[0]!.groups.map((g) => [g.policy, g.prio, g.status])).toEqual([
      ['round-robin 0', 50, 'active'],
      ['round-robin 0', 10, 'enabled'],
    ]);
    expect(devs(maps[0]!)).toEqual([
      ['sds', 'sdk'],
      ['sde', 'sdx'],
    ]);
    expect(maps[0]!.groups[1]!.paths[0]).toMatchObject({ hctl: '0:0:2:20', devt: '8:592', dmState: 'active', checkerState: 'ready' });
  });

  it("IBM ubiquity: timestamped warnings skipped, ' tree characters, a group line that lost its |", () => {
    const warned = parseMultipathLl(fixture('ibm-ubiquity-warnings-multipath-ll.txt'));
    expect(warned.warnings).toEqual([]);
    expect(warned.maps.map((m) => [m.name, m.vendor, m.product])).toEqual([
      ['mpathj', 'IBM', '2145'],
      ['mpathi', 'IBM', '2145'],
    ]);
    expect(devs(warned.maps[0]!)).toEqual([['sde'], ['sdd']]);
    const mangled = parseMultipathLl(fixture('ibm-ubiquity-mangled-tree-multipath-ll.txt'));
    expect(mangled.warnings).toEqual([]);
    expect(devs(mangled.maps[0]!)).toEqual([['sda'], ['sdb']]);
    expect(mangled.maps[0]!.groups.map((g) => g.prio)).toEqual([50, 10]);
  });
});

describe('parseMultipathLl: variants built from the grammar', () => {
  it('strips ANSI bold headers and skips the multipathd prompt', () => {
    const text = `multipathd> show topology\n\x1b[1mmpatha\x1b[0m (360014051234) dm-0 LIO-ORG,disk0\nsize=1.0G features='0' hwhandler='1 alua' wp=rw\n\`-+- policy='service-time 0' prio=50 status=active\n  \`- 2:0:0:0 sda 8:0 active ready running\n`;
    const { maps, warnings } = parseMultipathLl(text);
    expect(warnings).toEqual([]);
    expect(maps).toHaveLength(1);
    expect(maps[0]).toMatchObject({ name: 'mpatha', wwid: '360014051234', vendor: 'LIO-ORG', product: 'disk0' });
  });

  it('reads ghost paths, offline devices, removed paths and i/o pending', () => {
    const text = [
      'mpathb (3600a0b80005a1a0c000004d45c1f2b3e) dm-1 IBM,1814',
      "size=10G features='1 queue_if_no_path' hwhandler='1 rdac' wp=rw",
      "|-+- policy='round-robin 0' prio=6 status=active",
      '| |- 3:0:0:1 sdb 8:16  active ready  running',
      '| `- 4:0:0:1 sdd 8:48  active i/o pending running',
      "`-+- policy='round-robin 0' prio=1 status=enabled",
      '  |- 3:0:1:1 sdc 8:32  active ghost  running',
      '  |- 4:0:1:1 sde 8:64  failed faulty offline',
      '  `- #:#:#:# -   #:#   failed faulty running',
    ].join('\n');
    const { maps, warnings } = parseMultipathLl(text);
    expect(warnings).toEqual([]);
    const paths = maps[0]!.groups.flatMap((g) => g.paths);
    expect(paths.map((p) => [p.dev, p.dmState, p.checkerState, p.deviceState])).toEqual([
      ['sdb', 'active', 'ready', 'running'],
      ['sdd', 'active', 'i/o pending', 'running'],
      ['sdc', 'active', 'ghost', 'running'],
      ['sde', 'failed', 'faulty', 'offline'],
      ['-', 'failed', 'faulty', 'running'],
    ]);
    expect(paths[4]).toMatchObject({ hctl: null, devt: null });
  });

  it('takes the tree characters whatever they became (mojibake, box drawing)', () => {
    const text = [
      '3600d0231000859694d7a6a5f02b5b5e1 dm-3 IFT,DS S16F-R2840',
      "size=2.0T features='0' hwhandler='0' wp=rw",
      "Ã¢ÂÂ-+- policy='round-robin 0' prio=1 status=active",
      'Ã¢ÂÂ Â´- 1:0:0:0 sdb 8:16 active ready running',
      "└─+- policy='round-robin 0' prio=1 status=enabled",
      '  └─ 2:0:0:0 sdc 8:32 active ready running',
    ].join('\r\n');
    const { maps, warnings } = parseMultipathLl(text);
    expect(warnings).toEqual([]);
    expect(maps[0]).toMatchObject({ vendor: 'IFT', product: 'DS S16F-R2840' });
    expect(devs(maps[0]!)).toEqual([['sdb'], ['sdc']]);
  });

  it('old 0.4.5 layout: quoted features, a group without policy prio, extra brackets', () => {
    const text = ['mpath0 (3600508b4000156d700012000000b0000)', '[size=4 GB][features="1 queue_if_no_path"][hwhandler="0"]', '\\_ round-robin 0 [active][first]', ' \\_ 0:0:0:1 sda 8:0   [active][ready ]'].join('\n');
    const { maps } = parseMultipathLl(text);
    expect(maps[0]).toMatchObject({ name: 'mpath0', dm: null, vendor: null, size: '4 GB', features: '1 queue_if_no_path', hwhandler: '0' });
    expect(maps[0]!.groups[0]).toMatchObject({ policy: 'round-robin 0', prio: null, status: 'active' });
    expect(maps[0]!.groups[0]!.paths[0]).toMatchObject({ dev: 'sda', dmState: 'active', checkerState: 'ready' });
  });

  it('ignores the paths list table and timestamp chatter before a map (insights docstring layout)', () => {
    const text = [
      '===== paths list =====',
      'uuid hcil    dev dev_t pri dm_st chk_st vend/prod/rev       dev_st',
      '     0:0:0:0 sda 8:0   -1  undef ready  VMware,Virtual disk running',
      'Oct 28 14:02:44 | *word = 0, len = 1',
      fixture('dell-md36xxi-rdac-lio.txt'),
    ].join('\n');
    const { maps } = parseMultipathLl(text);
    expect(maps.map((m) => m.name)).toEqual(['mpathg', 'mpathe', '36001405b1629f80d52a4c898f8856e43']);
  });

  it('returns no maps and no crash for empty or unrelated input', () => {
    expect(parseMultipathLl('').maps).toEqual([]);
    const r = parseMultipathLl('DM multipath kernel driver not loaded\n');
    expect(r.maps).toEqual([]);
    expect(r.warnings.length).toBeGreaterThan(0);
  });
});

describe('parseMultipathdJson', () => {
  it('reads the IBM ubiquity capture (prompt lines around the JSON, padded vend/prod)', () => {
    const { maps } = parseMultipathdJson(fixture('ibm-ubiquity-multipathd-json.txt'));
    expect(maps).toEqual([
      {
        name: 'mpathp',
        wwid: '360050768029b8168e000000000006247',
        dm: 'dm-3',
        vendor: 'IBM',
        product: '2145',
        size: null,
        features: '0',
        hwhandler: '0',
        writePolicy: 'rw',
        groups: [
          {
            policy: 'round-robin 0',
            prio: 0,
            status: 'active',
            paths: [{ hctl: null, dev: 'sdb', devt: '8:16', dmState: 'failed', checkerState: 'faulty', deviceState: 'running', prio: 50 }],
          },
        ],
      },
    ]);
  });

  it('gives the same maps as multipath -ll for the same topology (built from print.h)', () => {
    const ll = parseMultipathLl(fixture('netapp-failed-paths.txt')).maps[0]!;
    const json = JSON.stringify({
      major_version: 0,
      minor_version: 1,
      maps: [
        {
          name: ll.name,
          uuid: ll.wwid,
          sysfs: 'dm-1',
          features: ll.features,
          hwhandler: ll.hwhandler,
          write_prot: 'rw',
          vend: 'NETAPP  ',
          prod: 'LUN C-Mode      ',
          path_groups: ll.groups.map((g) => ({
            selector: g.policy,
            pri: g.prio,
            dm_st: g.status,
            group: 1,
            paths: g.paths.map((p) => ({ dev: p.dev, dev_t: p.devt, dm_st: p.dmState, dev_st: p.deviceState, chk_st: p.checkerState, checker: 'tur', pri: 50 })),
          })),
        },
      ],
    });
    const fromJson = parseMultipathdJson(json).maps[0]!;
    expect({ ...fromJson, size: ll.size }).toEqual({
      ...ll,
      groups: ll.groups.map((g) => ({ ...g, paths: g.paths.map((p) => ({ ...p, hctl: null, prio: 50 })) })),
    });
  });

  it('rejects text that is not JSON', () => {
    expect(() => parseMultipathdJson('error calling out to multipathd')).toThrow(/no JSON/);
  });
});
