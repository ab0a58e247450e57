import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '@xsctl/common/errors/index';
import { CommandRunner } from '../exec/command-runner.js';
import { flavorById, parseMultipathVersion, upstreamFlavor, type FlavorId } from './flavors.js';
import { renderDeviceFile } from './merge-stanza.js';
import { renderKeyValue } from './multipath-conf.js';
import { multipathProfiles } from './profiles.js';
import { translateStanza } from './translate-stanza.js';
import { namespaceHelper } from './validate-config.js';

/**
 * The values xsctl writes into multipath.conf come from its profile table, never from a request;
 * they must still read back unchanged through the real `multipath -t` (multipath-tools on this
 * machine, in the private mount namespace helper), and the writer refuses anything the tokenizer
 * would read otherwise.
 */
const runner = new CommandRunner({ logger: pino({ level: 'silent' }) });
const isRoot = process.getuid?.() === 0;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'xsctl-mprt-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The user `device {}` entries `multipath -t` prints after the built-in table, key -> value. */
function printedDevices(stdout: string): Map<string, string>[] {
  const out: Map<string, string>[] = [];
  let cur: Map<string, string> | null = null;
  for (const line of stdout.split('\n')) {
    if (/^\tdevice \{$/.test(line)) cur = new Map();
    else if (cur !== null && /^\t\}$/.test(line)) {
      out.push(cur);
      cur = null;
    } else if (cur !== null) {
      const m = /^\t\t(\S+) (?:"([^"]*)"|(\S+))$/.exec(line);
      if (m) cur.set(m[1]!, m[2] ?? m[3]!);
    }
  }
  return out;
}

describe('multipath.conf values', () => {
  it('every profile value, shipped and translated for every flavor, is one the writer takes', () => {
    const flavors: FlavorId[] = ['xs6-0.4.7', 'xs65-0.4.9', 'xs7-0.4.9', 'xcpng8-0.4.9', 'upstream'];
    for (const p of multipathProfiles) {
      for (const f of flavors) {
        for (const [k, v] of translateStanza(p.shipped, flavorById(f)).stanza) expect(() => renderKeyValue('', k, v), `${p.name}/${f}: ${k}`).not.toThrow();
      }
    }
  });

  it('refuses a quote, a backslash or a line break in a value, naming the key', () => {
    for (const v of ['a"b', 'a\\b', 'a\nb', 'a\rb', 'a\0b']) {
      expect(() => renderKeyValue('', 'product', v)).toThrow(ValidationError);
      try {
        renderKeyValue('', 'product', v);
      } catch (err) {
        expect((err as ValidationError).field).toBe('stanza.product');
      }
    }
    expect(() => renderKeyValue('', 'product\nblacklist', 'x')).toThrow(ValidationError);
  });

  it.skipIf(!isRoot)('multipath -t prints every profile stanza for this multipath-tools unchanged', async () => {
    const version = parseMultipathVersion((await runner.run('multipath', ['-h'], { okExitCodes: [0, 1] })).stderr);
    expect(version).not.toBeNull();
    const flavor = upstreamFlavor(version ?? '0.9.0');
    for (const p of multipathProfiles) {
      const stanza = translateStanza(p.shipped, flavor).stanza;
      const base = join(dir, p.name);
      await mkdir(join(base, 'conf.d'), { recursive: true });
      await mkdir(join(base, 'scratch'), { recursive: true });
      await writeFile(join(base, 'multipath.conf'), '');
      await writeFile(join(base, 'conf.d', `xsctl-${p.name}.conf`), renderDeviceFile([`profile ${p.name}`], stanza));
      const r = await runner.run('unshare', ['--mount', '--', process.execPath, namespaceHelper, join(base, 'multipath.conf'), join(base, 'conf.d'), join(base, 'scratch')], {
        timeoutMs: 60_000,
      });
      const issues = r.stderr.split('\n').filter((l) => l.trim() !== '');
      expect({ profile: p.name, issues }).toEqual({ profile: p.name, issues: [] });
      const ours = printedDevices(r.stdout).filter((d) => d.get('vendor') === stanza.find(([k]) => k === 'vendor')?.[1] && d.get('product') === stanza.find(([k]) => k === 'product')?.[1]);
      const last = ours.at(-1);
      expect(last, p.name).toBeDefined();
      // multipath -t prints the keywords in its own order, and merges an entry for a device its
      // built-in table knows with the built-in one: each of ours must be there, with our value.
      const printed = last ?? new Map<string, string>();
      expect({ profile: p.name, entries: Object.fromEntries(stanza.map(([k]) => [k, printed.get(k)])) }).toEqual({ profile: p.name, entries: Object.fromEntries(stanza) });
    }
  }, 120_000);
});
