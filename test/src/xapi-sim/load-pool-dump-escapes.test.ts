import { describe, expect, it } from 'vitest';
import { loadPoolDump } from './load-pool-dump.js';
import { sexprOf, writePoolDump, type DumpRow } from './dump-writer/write-pool-dump.js';

/**
 * Dumps of pools with the default templates, written as xapi's serializer writes them
 * (dump-writer/), must load back to exactly the values that went in: the templates' `disks`
 * provision XML (double quotes: escaped before CP-54827, bare after), names with quotes and
 * backslashes, whitespace that Xml_spaces protects.
 */
const provision = '<provision><disk device="0" size="10737418240" sr="" bootable="true" type="system" ionice="0"/></provision>';
const awkward = ["it's", 'C:\\Users\\', 'ends with a backslash \\', "\\'both\\'", 'tab\there', 'two  spaces', 'new\nline', '50% off %. %_ %%', 'say "hi"', '(not a list)', "('looks like one')"];

function templates(): DumpRow[] {
  return [
    { ref: 'OpaqueRef:t1', fields: { uuid: 't1', name_label: 'Debian Bookworm 12', is_a_template: 'true', other_config: { default_template: 'true', disks: provision, 'install-methods': 'cdrom,nfs,http,ftp', linux_template: 'true' } } },
    { ref: 'OpaqueRef:t2', fields: { uuid: 't2', name_label: 'Windows Server 2022 (64-bit)', is_a_template: 'true', other_config: { default_template: 'true', disks: provision.replace('10737418240', '34359738368'), 'install-methods': 'cdrom' }, tags: ['Windows', "O'Reilly"] } },
    ...awkward.map((text, i): DumpRow => ({ ref: `OpaqueRef:vm${i}`, fields: { uuid: `vm${i}`, name_label: text, is_a_template: 'false', other_config: { note: text, [text]: 'as a key' }, tags: [text, 'plain'] } })),
    // A string field the loader has no type for, whose text starts like a list but is none: a string, not "bad s-expression".
    { ref: 'OpaqueRef:odd', fields: { uuid: 'odd', name_label: 'odd', is_a_template: 'false', PV_bootloader_args: "('tis the season" } },
  ];
}

function dump(escapeDoubleQuote: boolean): string {
  return writePoolDump(
    {
      pool: [{ ref: 'OpaqueRef:p', fields: { uuid: 'p', name_label: 'pool with templates', master: 'OpaqueRef:h', other_config: {} } }],
      host: [{ ref: 'OpaqueRef:h', fields: { uuid: 'h', name_label: 'xcp-ng-1', other_config: { agent_start_time: '1700000000.' } } }],
      VM: templates(),
    },
    { escapeDoubleQuote },
  );
}

describe("xapi's dump escapes", () => {
  it('the writer writes what xapi writes (one row by hand from SExpr.string_of, Xml_spaces and Xmlm)', () => {
    // (('a b' 'it\'s') ('c' 'x\\y')) -> protect: spaces %. -> Xmlm: nothing to escape here.
    expect(sexprOf({ 'a b': "it's", c: 'x\\y' })).toBe("(('a b' 'it\\'s') ('c' 'x\\\\y'))");
    const xml = dump(true);
    expect(xml).toContain("other_config=\"(('default_template'%.'true')%.('disks'%.'&lt;provision&gt;&lt;disk%.device=\\&quot;0\\&quot;");
    expect(dump(false)).toContain("('disks'%.'&lt;provision&gt;&lt;disk%.device=&quot;0&quot;");
  });

  for (const escapeDoubleQuote of [true, false]) {
    it(`loads every value back exactly (double quotes ${escapeDoubleQuote ? 'escaped, before CP-54827' : 'bare, after'})`, () => {
      const db = loadPoolDump(dump(escapeDoubleQuote));
      expect(db.getRecord('VM', 'OpaqueRef:t1')['other_config']).toEqual({ default_template: 'true', disks: provision, 'install-methods': 'cdrom,nfs,http,ftp', linux_template: 'true' });
      expect(db.getRecord('VM', 'OpaqueRef:t2')['tags']).toEqual(['Windows', "O'Reilly"]);
      expect(db.getRecord('VM', 'OpaqueRef:odd')['PV_bootloader_args']).toBe("('tis the season");
      awkward.forEach((text, i) => {
        const vm = db.getRecord('VM', `OpaqueRef:vm${i}`);
        expect(vm['name_label'], text).toBe(text);
        expect(vm['other_config'], text).toEqual({ note: text, [text]: 'as a key' });
        expect(vm['tags'], text).toEqual([text, 'plain']);
      });
    });
  }
});
