import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { CommandRunner } from '../exec/command-runner.js';
import { multipathProfiles } from './profiles.js';

/**
 * Issue 13, fix 7: every profile marked verified has each key and value compared with the source
 * it names (a stanza quoted in a seed, or the real `multipath -t` hardware table); the rest are
 * marked unverified and say why.
 */
const fixture = (name: string) => readFileSync(new URL(`./__fixtures__/${name}`, import.meta.url), 'utf8');

/** `key value` lines of a pasted stanza (web-page U+00A0 spacing, quotes, no braces) as [key, value]. */
function stanzaLines(text: string): [string, string][] {
  return text
    .replace(/\u00a0/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && l !== '{' && l !== '}' && !/^device\s*\{$/.test(l))
    .map((l) => {
      const m = /^(\S+)\s+(.*)$/.exec(l);
      if (m === null) throw new Error(`not a key/value line: ${l}`);
      return [m[1] as string, (m[2] as string).replace(/^"(.*)"$/, '$1')];
    });
}

/** The device entry for `vendor` in `multipath -t` (the tool's built-in hardware table). */
async function hwtableEntry(vendor: string): Promise<[string, string][]> {
  const runner = new CommandRunner({ logger: pino({ level: 'silent' }) });
  const r = await runner.run('multipath', ['-t'], { okExitCodes: [0, 1] });
  const at = r.stdout.indexOf(`vendor "${vendor}"`);
  expect(at, `multipath -t has a ${vendor} entry`).toBeGreaterThan(0);
  const block = r.stdout.slice(at, r.stdout.indexOf('}', at));
  return stanzaLines(block);
}

const byName = (name: string) => {
  const p = multipathProfiles.find((x) => x.name === name);
  if (p === undefined) throw new Error(`no profile ${name}`);
  return p;
};

/** How each verified profile is checked; a verified profile without a check here fails the last test. */
const checks: Record<string, () => Promise<[string, string][]> | [string, string][]> = {
  'euronas-essm': () => stanzaLines(fixture('euronas-stanza-as-pasted.txt')),
  'dell-md36xx-rdac': () => stanzaLines(fixture('md36xx-stock-blog-stanza.txt')),
  'dell-md36xx-alua': () => stanzaLines(fixture('md36xx-alua-blog-stanza.txt')),
  'emc-dgc': () => stanzaLines(fixture('dgc-ctx132976-blog-stanza.txt')),
  'hp-p4000-alua': () => hwtableEntry('LEFTHAND'),
};

describe('multipath profiles are traceable to their sources', () => {
  it.each(Object.keys(checks))('%s: every key and value as the source gives it', async (name) => {
    const p = byName(name);
    expect(p.verification.verified).toBe(true);
    expect(p.shipped).toEqual(await checks[name]!());
  });

  it('StarWind, HP P4000 (SAN/iQ 9) and NetApp (XenServer 6) are marked unverified, each with the reason', () => {
    const unverified = multipathProfiles.filter((p) => !p.verification.verified);
    expect(unverified.map((p) => p.name).sort()).toEqual(['hp-p4000', 'netapp', 'starwind']);
    for (const p of unverified) expect(p.verification.note).toMatch(/^UNVERIFIED: .{40,}/);
  });

  it('no profile is marked verified without a check against its source', () => {
    expect(multipathProfiles.filter((p) => p.verification.verified).map((p) => p.name).sort()).toEqual(Object.keys(checks).sort());
  });
});
