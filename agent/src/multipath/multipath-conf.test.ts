import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { flavorById, upstreamFlavor } from './flavors.js';
import { mergeDeviceStanza, renderDeviceFile } from './merge-stanza.js';
import { ConfSyntaxError, deviceSections, entryMap, parseMultipathConf, serializeMultipathConf, tokenizeLine } from './multipath-conf.js';
import { findProfile, multipathProfiles } from './profiles.js';
import { translateStanza } from './translate-stanza.js';
import { unifiedDiff } from './unified-diff.js';

const fixture = (name: string) => readFileSync(new URL(`./__fixtures__/${name}`, import.meta.url), 'utf8');
const profile = (name: string) => {
  const p = findProfile(name);
  if (p === undefined) throw new Error(name);
  return p;
};

describe('multipath.conf grammar', () => {
  it('round-trips byte for byte: comments, ! comments, "" quotes, tabs, CRLF, no final newline', () => {
    const samples = [
      fixture('xs7-multipath.conf'),
      fixture('xs7-multipath.conf').replace(/\n/g, '\r\n'),
      'defaults {\n\tuser_friendly_names yes  # trailing\n}',
      '',
      '# only a comment\n\n\n',
      'devices{\n device {\n  vendor "X"\n  product "Y" ! bang comment\n }\n}\n',
    ];
    for (const s of samples) expect(serializeMultipathConf(parseMultipathConf(s))).toBe(s);
  });

  it('tokenizes like multipath-tools: quoted values, "" inside quotes, # and ! outside quotes only', () => {
    expect(tokenizeLine('  product "2.5"" SSD"  # x').tokens.map((t) => t.text)).toEqual(['product', '2.5" SSD']);
    expect(tokenizeLine('  product "A#B!C"').tokens.map((t) => t.text)).toEqual(['product', 'A#B!C']);
    expect(tokenizeLine('  failback immediate!comment').tokens.map((t) => t.text)).toEqual(['failback', 'immediate']);
    expect(tokenizeLine('devices{').tokens.map((t) => t.text)).toEqual(['devices', '{']);
  });

  it('reads sections, device entries and values from the XenServer 7 layout', () => {
    const doc = parseMultipathConf(fixture('xs7-multipath.conf'));
    expect(doc.sections.map((s) => s.name)).toEqual(['defaults', 'blacklist', 'devices']);
    const devices = deviceSections(doc).map((s) => Object.fromEntries(entryMap(doc, s)));
    expect(devices.map((d) => [d['vendor'], d['product']])).toEqual([
      ['DELL', 'MD36xx(i|f)'],
      ['ACME', '2.5" SSD'],
    ]);
    expect(devices[0]!['path_selector']).toBe('round-robin 0');
    // The blacklist's device subsection is not a device entry.
    expect(doc.sections[1]!.sections.map((s) => s.name)).toEqual(['device']);
  });

  it('refuses what multipath-tools would misread, with the line number', () => {
    const bad: [string, RegExp][] = [
      [fixture('euronas-stanza-as-pasted.txt'), /line 2: "vendor" outside any section|never closed/],
      ['devices {\n device {\n  vendor "X"\n', /line 2: section "device" is never closed/],
      ['devices\n{\n}\n', /line 1: "devices" outside any section|line 2: '\{' must follow/],
      ['devices {\n}\n}\n', /line 3: '}' without an open section/],
      ['devices {\n device { vendor "X" }\n}\n', /line 2: '}' must be alone|expected "section \{"/],
      ['defaults {\n  alias_prefix "mpath\n}\n', /line 2: unterminated quoted string/],
    ];
    for (const [text, re] of bad) {
      expect(() => parseMultipathConf(text), text).toThrow(ConfSyntaxError);
      expect(() => parseMultipathConf(text), text).toThrow(re);
    }
  });
});

describe('translateStanza', () => {
  it('euroNAS for XCP-ng 8 (0.4.9 fork): getuid_callout dropped, product added, queue_if_no_path kept but flagged', () => {
    const t = translateStanza(profile('euronas-essm').shipped, flavorById('xcpng8-0.4.9'));
    expect(t.stanza).toEqual([
      ['vendor', 'eSSM*'],
      ['product', '.*'],
      ['features', '1 queue_if_no_path'],
      ['hardware_handler', '1 alua'],
      ['path_grouping_policy', 'group_by_prio'],
      ['failback', 'immediate'],
      ['rr_weight', 'uniform'],
      // Request-based multipath (XCP-ng 8's 4.19 kernel) ignores rr_min_io.
      ['rr_min_io_rq', '100'],
      ['path_checker', 'tur'],
      ['no_path_retry', 'queue'],
      ['prio', 'alua'],
    ]);
    expect(t.notes.find((n) => n.key === 'rr_min_io')?.action).toBe('translated');
    expect(t.remove.get('rr_min_io')).toMatch(/rr_min_io_rq applies/);
    expect(t.notes.find((n) => n.key === 'getuid_callout')?.action).toBe('dropped');
    expect(t.notes.find((n) => n.key === 'features')?.action).toBe('flagged');
    expect(t.notes.find((n) => n.key === 'product')?.action).toBe('added');
    expect(t.remove.has('getuid_callout')).toBe(true);
  });

  it('euroNAS for multipath-tools 0.9.4: queue_if_no_path leaves features (no_path_retry queue already there)', () => {
    const t = translateStanza(profile('euronas-essm').shipped, upstreamFlavor('0.9.4'));
    expect(t.stanza.find(([k]) => k === 'features')).toBeUndefined();
    expect(t.stanza.filter(([k]) => k === 'no_path_retry')).toEqual([['no_path_retry', 'queue']]);
    expect(t.remove.get('features')).toMatch(/no_path_retry/);
    expect(t.stanza.find(([k]) => k === 'getuid_callout')).toBeUndefined();
  });

  it('NetApp: features "1 queue_if_no_path" becomes no_path_retry queue on 0.9, and pg_init_retries survive renumbered', () => {
    const t = translateStanza(profile('netapp').shipped, upstreamFlavor('0.9.4'));
    expect(t.stanza).toContainEqual(['no_path_retry', 'queue']);
    expect(t.stanza.find(([k]) => k === 'features')).toBeUndefined();
    expect(t.stanza).toContainEqual(['prio', 'alua']);
    const custom = translateStanza([['vendor', 'X'], ['product', 'Y'], ['features', '3 queue_if_no_path pg_init_retries 50']], upstreamFlavor('0.9.4'));
    expect(custom.stanza).toEqual([
      ['vendor', 'X'],
      ['product', 'Y'],
      ['features', '2 pg_init_retries 50'],
      ['no_path_retry', 'queue'],
    ]);
  });

  it('EMC DGC (CTX132976): prio_callout mpath_prio_emc -> prio emc, product "*" -> ".*" on 0.4.9; kept on 0.4.7', () => {
    const xs7 = translateStanza(profile('emc-dgc').shipped, flavorById('xs7-0.4.9'));
    expect(xs7.stanza).toContainEqual(['prio', 'emc']);
    expect(xs7.stanza).toContainEqual(['product', '.*']);
    expect(xs7.stanza.some(([k]) => k === 'prio_callout' || k === 'getuid_callout')).toBe(false);
    const xs6 = translateStanza(profile('emc-dgc').shipped, flavorById('xs6-0.4.7'));
    expect(xs6.stanza).toContainEqual(['prio_callout', '/sbin/mpath_prio_emc /dev/%n']);
    expect(xs6.stanza).toContainEqual(['getuid_callout', '/sbin/scsi_id -g -u -s /block/%n']);
  });

  it('DELL MD36xx ALUA on XenServer 6.2 (0.4.7): prio rdac -> prio_callout, detect_prio dropped', () => {
    const t = translateStanza(profile('dell-md36xx-alua').shipped, flavorById('xs6-0.4.7'));
    expect(t.stanza).toContainEqual(['prio_callout', '/sbin/mpath_prio_rdac /dev/%n']);
    expect(t.stanza.some(([k]) => k === 'prio' || k === 'detect_prio' || k === 'retain_attached_hw_handler')).toBe(false);
    // 0.4.7 knows only rr_min_io: it stays.
    expect(t.stanza).toContainEqual(['rr_min_io', '100']);
    // XenServer 6.5, the stanza's own platform: only rr_min_io changes, for request-based multipath.
    expect(translateStanza(profile('dell-md36xx-alua').shipped, flavorById('xs65-0.4.9')).stanza).toEqual(
      profile('dell-md36xx-alua').shipped.map(([k, v]) => (k === 'rr_min_io' ? ['rr_min_io_rq', v] : [k, v])),
    );
  });

  it('rr_min_io -> rr_min_io_rq for request-based multipath (0.4.9 forks, upstream 0.5+); a stanza with its own rr_min_io_rq keeps it', () => {
    for (const f of [flavorById('xs65-0.4.9'), flavorById('xs7-0.4.9'), flavorById('xcpng8-0.4.9'), upstreamFlavor('0.9.4')]) {
      const t = translateStanza(profile('netapp').shipped, f);
      expect(t.stanza, f.id).toContainEqual(['rr_min_io_rq', '128']);
      expect(t.stanza.some(([k]) => k === 'rr_min_io'), f.id).toBe(false);
    }
    expect(translateStanza(profile('netapp').shipped, flavorById('xs6-0.4.7')).stanza).toContainEqual(['rr_min_io', '128']);
    const own = translateStanza([['vendor', 'X'], ['product', 'Y'], ['rr_min_io', '1000'], ['rr_min_io_rq', '1']], flavorById('xs7-0.4.9'));
    expect(own.stanza).toEqual([['vendor', 'X'], ['product', 'Y'], ['rr_min_io_rq', '1']]);
    expect(own.notes.find((n) => n.key === 'rr_min_io')?.action).toBe('dropped');
  });

  it('every profile translates to a stanza with vendor and product for every flavor', () => {
    const flavors = [flavorById('xs6-0.4.7'), flavorById('xs65-0.4.9'), flavorById('xs7-0.4.9'), flavorById('xcpng8-0.4.9'), upstreamFlavor('0.9.4')];
    expect(multipathProfiles.map((p) => p.name)).toEqual(
      expect.arrayContaining(['euronas-essm', 'starwind', 'hp-p4000', 'hp-p4000-alua', 'dell-md36xx-rdac', 'dell-md36xx-alua', 'emc-dgc', 'netapp']),
    );
    for (const p of multipathProfiles) {
      for (const f of flavors) {
        const keys = translateStanza(p.shipped, f).stanza.map(([k]) => k);
        expect(keys.slice(0, 2), `${p.name} ${f.id}`).toEqual(['vendor', 'product']);
        expect(new Set(keys).size, `${p.name} ${f.id} duplicate keys`).toBe(keys.length);
        if (!f.getuidCallout) expect(keys).not.toContain('getuid_callout');
        if (!f.prioCallout) expect(keys).not.toContain('prio_callout');
        else expect(keys).not.toContain('prio');
      }
    }
  });
});

describe('mergeDeviceStanza', () => {
  const dellAlua = translateStanza(profile('dell-md36xx-alua').shipped, flavorById('xs7-0.4.9'));

  it('adds the two ALUA keys to the stock DELL entry and touches nothing else', () => {
    const before = fixture('xs7-multipath.conf');
    const r = mergeDeviceStanza(before, dellAlua.stanza, { remove: dellAlua.remove });
    expect(r.action).toBe('updated');
    const added = r.content.split('\n').filter((l) => !before.split('\n').includes(l));
    // The two ALUA keys, and rr_min_io replaced by rr_min_io_rq (XenServer 7's request-based multipath ignores it).
    expect(added).toEqual([
      '                # rr_min_io               100  # xsctl: ignored by request-based multipath; rr_min_io_rq applies',
      '                rr_min_io_rq 100',
      '                detect_prio yes',
      '                retain_attached_hw_handler yes',
    ]);
    // Idempotent: the second merge changes nothing.
    const again = mergeDeviceStanza(r.content, dellAlua.stanza, { remove: dellAlua.remove });
    expect(again).toMatchObject({ changed: false, action: 'unchanged' });
    expect(again.content).toBe(r.content);
  });

  it('appends a new entry to the devices section with the file indentation, keeps the "" quote entry', () => {
    const euro = translateStanza(profile('euronas-essm').shipped, flavorById('xs7-0.4.9'));
    const r = mergeDeviceStanza(fixture('xs7-multipath.conf'), euro.stanza);
    expect(r.action).toBe('added');
    const doc = parseMultipathConf(r.content);
    const entries = deviceSections(doc).map((s) => entryMap(doc, s));
    expect(entries.map((e) => e.get('vendor'))).toEqual(['DELL', 'ACME', 'eSSM*']);
    expect(entries[1]!.get('product')).toBe('2.5" SSD');
    expect(r.content).toContain('        device {\n                vendor "eSSM*"\n                product ".*"\n');
    expect(r.content.endsWith('        }\n}\n')).toBe(true);
    expect(mergeDeviceStanza(r.content, euro.stanza).changed).toBe(false);
  });

  it('creates a devices section in a file without one, and in an empty file', () => {
    const st = translateStanza(profile('starwind').shipped, flavorById('xs7-0.4.9')).stanza;
    const r = mergeDeviceStanza('defaults {\n\tuser_friendly_names no\n}', st);
    expect(r.content).toBe(
      'defaults {\n\tuser_friendly_names no\n}\n\ndevices {\n\tdevice {\n\t\tvendor "STARWIND"\n\t\tproduct "STARWIND*"\n\t\tpath_grouping_policy multibus\n\t\tpath_checker tur\n\t\tfailback immediate\n\t\tpath_selector "round-robin 0"\n\t\trr_min_io_rq 3\n\t\trr_weight uniform\n\t\thardware_handler "1 alua"\n\t}\n}\n',
    );
    const empty = mergeDeviceStanza('', st);
    expect(empty.content.startsWith('devices {\n\tdevice {\n')).toBe(true);
    expect(parseMultipathConf(empty.content).sections.map((s) => s.name)).toEqual(['devices']);
  });

  it('fixes the pasted euroNAS entry in place: values changed keep their comments, getuid_callout commented out', () => {
    const pasted = [
      'devices {',
      '  device {',
      '    vendor "eSSM*"',
      '    getuid_callout "/sbin/scsi_id -g -u -s /block/%n"',
      '    features "1 queue_if_no_path"',
      '    path_checker readsector0   # from an old how-to',
      '  }',
      '}',
      '',
    ].join('\r\n');
    const euro = translateStanza(profile('euronas-essm').shipped, flavorById('xcpng8-0.4.9'));
    const r = mergeDeviceStanza(pasted, euro.stanza, { remove: euro.remove });
    expect(r.action).toBe('updated');
    const lines = r.content.split('\r\n');
    expect(lines).toContain('    path_checker tur   # from an old how-to');
    expect(lines).toContain('    # getuid_callout "/sbin/scsi_id -g -u -s /block/%n"  # xsctl: getuid_callout is not read here');
    expect(lines).toContain('    product ".*"');
    expect(r.content.includes('\n') && !/[^\r]\n/.test(r.content)).toBe(true);
    expect(mergeDeviceStanza(r.content, euro.stanza, { remove: euro.remove }).changed).toBe(false);
  });

  it('matches a pasted entry whose product is missing or "*" as the same device as product ".*"', () => {
    const dgc = translateStanza(profile('emc-dgc').shipped, flavorById('xs7-0.4.9'));
    const r = mergeDeviceStanza('devices {\n\tdevice {\n\t\tvendor "DGC"\n\t\tproduct "*"\n\t}\n}\n', dgc.stanza, { remove: dgc.remove });
    const doc = parseMultipathConf(r.content);
    expect(deviceSections(doc)).toHaveLength(1);
    expect(entryMap(doc, deviceSections(doc)[0]!).get('product')).toBe('.*');
  });

  it('renders a complete drop-in for conf.d', () => {
    const st = translateStanza(profile('dell-md36xx-rdac').shipped, flavorById('xcpng8-0.4.9')).stanza;
    const text = renderDeviceFile(['Written by xsctl'], st);
    const doc = parseMultipathConf(text);
    expect(Object.fromEntries(entryMap(doc, deviceSections(doc)[0]!))).toEqual(Object.fromEntries(st));
    expect(text.startsWith('# Written by xsctl\ndevices {\n\tdevice {\n\t\tvendor "DELL"\n')).toBe(true);
  });
});

describe('unifiedDiff', () => {
  it('shows only the changed lines with context, and nothing when equal', () => {
    const a = 'a\nb\nc\nd\ne\nf\ng\nh\n';
    const b = 'a\nb\nc\nd\nX\ne\nf\ng\nh\n';
    expect(unifiedDiff(a, b, '/etc/multipath.conf', '/etc/multipath.conf')).toBe('--- /etc/multipath.conf\n+++ /etc/multipath.conf\n@@ -2,6 +2,7 @@\n b\n c\n d\n+X\n e\n f\n g\n');
    expect(unifiedDiff(a, a, 'x', 'x')).toBe('');
    expect(unifiedDiff('', 'new\n', '/dev/null', '/etc/x')).toBe('--- /dev/null\n+++ /etc/x\n@@ -0,0 +1,1 @@\n+new\n');
  });
});
