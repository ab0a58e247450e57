import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseMultipathLl, type MultipathPathInfo } from './parse-multipath-ll.js';

// Sources of every fixture: __fixtures__/SOURCES.md. Expected values are read off the captures by
// eye; for the hand-written inputs they follow from the grammar in the parser's header comment,
// with the line numbers counted by hand.
const fixture = (name: string) => readFileSync(new URL(`./__fixtures__/${name}`, import.meta.url), 'utf8');
const path = (hctl: string | null, dev: string, devt: string | null, dmState: string | null, checkerState: string | null, deviceState: string | null): MultipathPathInfo => ({ hctl, dev, devt, dmState, checkerState, deviceState, prio: null });
const header = 'mpatha (360014051234) dm-0 LIO-ORG,disk0';
const props = "size=1.0G features='0' hwhandler='1 alua' wp=rw";
const group = "`-+- policy='service-time 0' prio=50 status=active";
/** The paths of the one map built from `header`, `props`, `group` and the given path line. */
const onePath = (line: string) => {
  const { maps, warnings } = parseMultipathLl([header, props, group, line].join('\n'));
  return { paths: maps[0]?.groups[0]?.paths, warnings };
};

describe('parseMultipathLl: more captured outputs', () => {
  it('SLES 15 SP2 (multipath-tools 0.8.2), opensvc/multipath-tools#12: timestamped stderr lines, `##,##` vendor, maps without path groups', () => {
    const { maps, warnings } = parseMultipathLl(fixture('sles15-opensvc12-multipath-ll.txt'));
    expect(warnings).toEqual([]);
    expect(maps).toEqual([
      {
        name: '36006016040203100d2fba8d4190de711', wwid: '36006016040203100d2fba8d4190de711', dm: 'dm-6', vendor: 'DGC', product: 'VRAID',
        size: '10G', features: '0', hwhandler: '1 alua', writePolicy: 'rw',
        groups: [
          { policy: 'service-time 0', prio: 50, status: 'active', paths: [path('1:0:1:1', 'sdg', '8:96', 'active', 'ready', 'running'), path('2:0:4:1', 'sdc', '8:32', 'active', 'ready', 'running')] },
          { policy: 'service-time 0', prio: 10, status: 'enabled', paths: [path('1:0:5:1', 'sds', '65:32', 'active', 'ready', 'running'), path('2:0:5:1', 'sdu', '65:64', 'active', 'ready', 'running')] },
        ],
      },
      { name: '36006016022f04400e3e62561e0efe3a6', wwid: '36006016022f04400e3e62561e0efe3a6', dm: 'dm-12', vendor: '##', product: '##', size: '2.0G', features: '0', hwhandler: '1 alua', writePolicy: 'rw', groups: [] },
      { name: '36006016022f0440013d6296107dfe3c7', wwid: '36006016022f0440013d6296107dfe3c7', dm: 'dm-11', vendor: '##', product: '##', size: '30G', features: '0', hwhandler: '1 emc', writePolicy: 'rw', groups: [] },
    ]);
  });

  it('IBM 2145, opensvc/multipath-tools#6: vendor and product padded, the header ending in spaces, the active group second', () => {
    const { maps, warnings } = parseMultipathLl(fixture('ibm2145-opensvc6-multipath-ll.txt'));
    expect(warnings).toEqual([]);
    expect(maps).toEqual([
      {
        name: 'DATA01', wwid: '3600507640081011a000000000000001e', dm: 'dm-4', vendor: 'IBM', product: '2145',
        size: '500G', features: '1 queue_if_no_path', hwhandler: '0', writePolicy: 'rw',
        groups: [
          { policy: 'service-time 0', prio: 50, status: 'enabled', paths: [path('8:0:1:0', 'sdj', '8:144', 'active', 'ready', 'running')] },
          { policy: 'service-time 0', prio: 50, status: 'active', paths: [path('10:0:1:0', 'sdn', '8:208', 'active', 'ready', 'running')] },
          { policy: 'service-time 0', prio: 10, status: 'enabled', paths: [path('8:0:0:0', 'sdc', '8:32', 'active', 'ready', 'running')] },
          { policy: 'service-time 0', prio: 10, status: 'enabled', paths: [path('10:0:0:0', 'sdb', '8:16', 'active', 'ready', 'running')] },
        ],
      },
    ]);
  });

  it('`multipath -l` (no checker run), openmainframeproject/feilong#439: `undef` checker, two-digit SCSI target, column-padded H:C:T:L', () => {
    const { maps, warnings } = parseMultipathLl(fixture('ibm2145-feilong439-multipath-l.txt'));
    expect(warnings).toEqual([]);
    expect(maps).toHaveLength(1);
    const m = maps[0]!;
    expect({ ...m, groups: [] }).toEqual({ name: 'mpathe', wwid: '3600507640083826de000000000004793', dm: 'dm-4', vendor: 'IBM', product: '2145', size: '1.0G', features: '1 queue_if_no_path', hwhandler: '1 alua', writePolicy: 'rw', groups: [] });
    expect(m.groups.map((g) => [g.policy, g.prio, g.status, g.paths.length])).toEqual([
      ['service-time 0', 0, 'active', 7],
      ['service-time 0', 0, 'enabled', 7],
    ]);
    expect(m.groups[0]!.paths[0]).toEqual(path('0:0:10:2', 'sdab', '65:176', 'active', 'undef', 'running'));
    expect(m.groups[1]!.paths[6]).toEqual(path('3:0:7:2', 'sdbu', '68:128', 'active', 'undef', 'running'));
  });

  it('multipath-tools 0.9.4 on this machine (`multipath -v3 -ll`, no device-mapper): monotonic-clock stamps skipped, libdevmapper\'s own lines warned', () => {
    // Lines 1-7 and 12-14 carry `SECONDS.MICROS | ` (dlog's LOGSINK_STDERR_WITH_TIME), 15 is
    // `===== no paths =====`; lines 8-11 are libdevmapper's unstamped messages, each read as a
    // map header that no map properties follow.
    const { maps, warnings } = parseMultipathLl(fixture('debian-094-v3-no-paths.txt'));
    expect(maps).toEqual([]);
    expect(warnings).toEqual([8, 9, 10, 11].map((n) => `line ${n}: ignored (no map properties follow)`));
  });
});

describe('parseMultipathLl: what does not fit is named by its line', () => {
  it('map properties with no header before them', () => {
    expect(parseMultipathLl(`${props}\n`)).toEqual({ maps: [], warnings: ['line 1: map properties without a map header'] });
  });

  it('a path after the map properties but before any path group', () => {
    const { maps, warnings } = parseMultipathLl([header, props, '`- 2:0:0:0 sda 8:0 active ready running'].join('\n'));
    expect(warnings).toEqual(['line 3: path outside a path group ignored']);
    expect(maps.map((m) => [m.name, m.groups])).toEqual([['mpatha', []]]);
  });

  it('a path before any map is dropped without a warning (the tail of a cut capture)', () => {
    expect(parseMultipathLl('  `- 2:0:0:0 sda 8:0 active ready running\n')).toEqual({ maps: [], warnings: [] });
  });

  it('a path right after a header: the header is dropped, and so is the path', () => {
    expect(parseMultipathLl([header, '`- 2:0:0:0 sda 8:0 active ready running'].join('\n'))).toEqual({ maps: [], warnings: ['line 1: ignored (no map properties follow)'] });
  });

  it('a path group before any map', () => {
    expect(parseMultipathLl(`${group}\n`)).toEqual({ maps: [], warnings: ['line 1: path group outside a map ignored'] });
  });

  it('a path group right after a header starts the map without properties', () => {
    const { maps, warnings } = parseMultipathLl([header, group, '  `- 2:0:0:0 sda 8:0 active ready running'].join('\n'));
    expect(warnings).toEqual([]);
    expect(maps).toEqual([
      {
        name: 'mpatha', wwid: '360014051234', dm: 'dm-0', vendor: 'LIO-ORG', product: 'disk0', size: null, features: null, hwhandler: null, writePolicy: null,
        groups: [{ policy: 'service-time 0', prio: 50, status: 'active', paths: [path('2:0:0:0', 'sda', '8:0', 'active', 'ready', 'running')] }],
      },
    ]);
  });

  it('two headers in a row: the first is dropped', () => {
    const { maps, warnings } = parseMultipathLl(['mpathz (3600aaaa) dm-9 X,Y', header, props].join('\n'));
    expect(warnings).toEqual(['line 1: ignored (no map properties follow)']);
    expect(maps.map((m) => m.name)).toEqual(['mpatha']);
  });

  it('the last line a header: dropped with a warning', () => {
    expect(parseMultipathLl('DM multipath kernel driver not loaded\n')).toEqual({ maps: [], warnings: ['line 1: ignored (no map properties follow)'] });
  });

  it('a tree line that is neither path nor group is quoted, trimmed, at most 80 characters', () => {
    const long = `|  ${'x'.repeat(100)}`;
    const { warnings } = parseMultipathLl([header, props, group, ` ${long}`, '| ?'].join('\n'));
    expect(warnings).toEqual([`line 4: not understood: ${long.slice(0, 80)}`, 'line 5: not understood: | ?']);
  });

  it('a tree line of brackets with neither prio nor a group status is not a group', () => {
    const { maps, warnings } = parseMultipathLl([header, props, '\\_ round-robin 0 [first]'].join('\n'));
    expect(warnings).toEqual(['line 3: not understood: \\_ round-robin 0 [first]']);
    expect(maps[0]!.groups).toEqual([]);
  });

  it('a line of spaces is blank; a line of `=` is a table rule', () => {
    const { maps, warnings } = parseMultipathLl([header, props, '    ', '===== paths list =====', group, '  `- 2:0:0:0 sda 8:0 active ready running'].join('\n'));
    expect(warnings).toEqual([]);
    expect(maps[0]!.groups[0]!.paths.map((p) => p.dev)).toEqual(['sda']);
  });

  it('a path line at column 0 inside a group is a path (tree characters lost); outside a group it is a header', () => {
    const lost = parseMultipathLl([header, props, "policy='service-time 0' prio=50 status=active", '2:0:0:0 sda 8:0 active ready running'].join('\n'));
    expect(lost.warnings).toEqual([]);
    expect(lost.maps[0]!.groups[0]!.paths).toEqual([path('2:0:0:0', 'sda', '8:0', 'active', 'ready', 'running')]);
    const outside = parseMultipathLl([header, props, '2:0:0:0 sda 8:0 active ready running'].join('\n'));
    expect(outside.warnings).toEqual(['line 3: ignored (no map properties follow)']);
    expect(outside.maps.map((m) => [m.name, m.groups.length])).toEqual([['mpatha', 0]]);
  });

  it('a bracket group line needs tree characters before it: at column 0 it is a header', () => {
    const { maps, warnings } = parseMultipathLl(['mpath0 (3600508b4000156d700012000000b0000)', '[size=4 GB][features="1 queue_if_no_path"][hwhandler="0"]', 'round-robin 0 [prio=1][active]'].join('\n'));
    expect(warnings).toEqual(['line 3: ignored (no map properties follow)']);
    expect(maps[0]!.groups).toEqual([]);
  });
});

describe('parseMultipathLl: header, properties and group fields', () => {
  it('`multipath -v2` creation lines name the map after the `create:` prefix', () => {
    const { maps } = parseMultipathLl(["create: mpathb (36001405abcdef) undef LIO-ORG,disk1", "size=2.0G features='0' hwhandler='1 alua' wp=undef", group].join('\n'));
    expect(maps[0]).toMatchObject({ name: 'mpathb', wwid: '36001405abcdef', dm: 'undef', vendor: 'LIO-ORG', product: 'disk1', writePolicy: 'undef' });
  });

  it('a blank (space-padded) vendor reads as none; a vendor without a product', () => {
    const blank = parseMultipathLl(['35000c500d9549ddf dm-3         ,OOS16000G', props].join('\n')).maps[0];
    expect([blank?.vendor, blank?.product]).toEqual([null, 'OOS16000G']);
    const alone = parseMultipathLl(['mpathx (3600abcd) dm-3 VENDORONLY', props].join('\n')).maps[0];
    expect([alone?.vendor, alone?.product]).toEqual(['VENDORONLY', null]);
  });

  it('properties without `wp=` (write policy unknown)', () => {
    const { maps, warnings } = parseMultipathLl([header, "size=1.0G features='0' hwhandler='0'", group].join('\n'));
    expect(warnings).toEqual([]);
    expect(maps[0]).toMatchObject({ size: '1.0G', features: '0', hwhandler: '0', writePolicy: null });
  });

  it('old bracket groups: prio alone, status alone, `disabled` and `undef` statuses, spaces inside the brackets', () => {
    const groups = (line: string) => parseMultipathLl(['mpath0 (3600508b4000156d700012000000b0000)', '[size=4 GB][features=0][hwhandler=0]', line].join('\n')).maps[0]?.groups.map((g) => [g.policy, g.prio, g.status]);
    expect(groups('\\_ round-robin 0 [prio=1]')).toEqual([['round-robin 0', 1, null]]);
    expect(groups('\\_ round-robin 0 [enabled]')).toEqual([['round-robin 0', null, 'enabled']]);
    expect(groups('\\_ round-robin 0 [prio=0][disabled]')).toEqual([['round-robin 0', 0, 'disabled']]);
    expect(groups('\\_ round-robin 0 [prio=0][undef]')).toEqual([['round-robin 0', 0, 'undef']]);
    expect(groups('\\_ round-robin 0 [prio=-1 ][ active ]')).toEqual([['round-robin 0', -1, 'active']]);
    expect(groups('\\_ [prio=2][active]')).toEqual([[null, 2, 'active']]);
  });
});

describe('parseMultipathLl: path states', () => {
  it('the checker state may be two words; the last word is the device state only if the kernel has it', () => {
    // The kernel's SCSI device states (drivers/scsi/scsi_sysfs.c sdev_states).
    for (const state of ['created', 'running', 'cancel', 'deleted', 'quiesce', 'offline', 'transport-offline', 'blocked', 'created-blocked']) {
      expect(onePath(`  \`- 2:0:0:0 sda 8:0 failed faulty ${state}`).paths).toEqual([path('2:0:0:0', 'sda', '8:0', 'failed', 'faulty', state)]);
    }
    expect(onePath('  `- 2:0:0:0 sda 8:0 failed i/o pending').paths).toEqual([path('2:0:0:0', 'sda', '8:0', 'failed', 'i/o pending', null)]);
  });

  it('fewer state words: two with a device state, two without, one, none', () => {
    expect(onePath('  `- 2:0:0:0 sda 8:0 failed offline').paths).toEqual([path('2:0:0:0', 'sda', '8:0', 'failed', null, 'offline')]);
    expect(onePath('  `- 2:0:0:0 sda 8:0 active ready').paths).toEqual([path('2:0:0:0', 'sda', '8:0', 'active', 'ready', null)]);
    expect(onePath('  `- 2:0:0:0 sda 8:0 running').paths).toEqual([path('2:0:0:0', 'sda', '8:0', 'running', null, null)]);
    expect(onePath('  `- 2:0:0:0 sda 8:0').paths).toEqual([path('2:0:0:0', 'sda', '8:0', null, null, null)]);
  });

  it('bracket states: fewer brackets than three', () => {
    expect(onePath(' \\_ 0:0:0:1 sda 8:0 [active]').paths).toEqual([path('0:0:0:1', 'sda', '8:0', 'active', null, null)]);
  });
});

describe('parseMultipathLl: terminal and log noise', () => {
  it('colour and charset escapes (tput sgr0 writes ESC ( B ESC [ m) are removed', () => {
    const text = [`\x1b[1;32m${header}\x1b(B\x1b[m`, props, group, '  `- 2:0:0:0 sda 8:0 active ready running'].join('\n');
    const { maps, warnings } = parseMultipathLl(text);
    expect(warnings).toEqual([]);
    expect(maps[0]).toMatchObject({ name: 'mpatha', product: 'disk0' });
  });

  it('stamped log lines in each layout are skipped, also indented (a capture pasted as a Markdown code block)', () => {
    const lines = [
      'Oct 28 14:02:44 | sda: no usable path', // multipath-tools up to 0.8.4: strftime "%b %d %H:%M:%S"
      '5347.152347 | sda: no usable path', // 0.8.5 and later: "%ld.%06ld" of the monotonic clock
      '2021-08-30T05:09:18.123456 | sda: no usable path', // an ISO stamp (the parser's third layout)
      '2021-08-30 05:09:18 | sda: no usable path',
      '    Aug 30 05:09:18 | 65:16: cannot find block device',
    ];
    const { maps, warnings } = parseMultipathLl([...lines, header, props, group, '  `- 2:0:0:0 sda 8:0 active ready running'].join('\n'));
    expect(warnings).toEqual([]);
    expect(maps.map((m) => m.name)).toEqual(['mpatha']);
  });
});
