import { chmod, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { removeWhenFileEnds } from '@xsctl/common/testing/temp-dir';

export interface ReparseResult {
  tool: string;
  ok: boolean;
  /** Values of the request that the file holds but the tool did not read back unchanged. */
  changed: string[];
  detail: string;
}

/** Every string leaf of a request, for finding the ones a written config holds. */
export function stringLeaves(v: unknown, out: string[] = []): string[] {
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) for (const x of v) stringLeaves(x, out);
  else if (v !== null && typeof v === 'object' && !Buffer.isBuffer(v)) for (const x of Object.values(v)) stringLeaves(x, out);
  return out;
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Request values the file holds as a whole word (3+ characters, so `1` in `iqn...1` does not count). */
export function valuesInFile(text: string, request: unknown): string[] {
  const values = [...new Set(stringLeaves(request))].filter((v) => v.length >= 3 && !/\s/.test(v));
  return values.filter((v) => new RegExp(`(^|[\\s"'=;{}])${escapeRe(v)}($|[\\s"';{}])`, 'm').test(text));
}

let scratch: Promise<string> | undefined;
// One scratch dir per test file (this module is evaluated afresh for each), removed when the file ends.
const scratchDir = () => (scratch ??= mkdtemp(join(tmpdir(), 'xsctl-fuzz-reparse-')).then((d) => (removeWhenFileEnds(d), d)));

/**
 * targets.conf through the real tgt-admin (--pretend -e prints the tgtadm commands it would run
 * through /bin/sh), those lines run by /bin/sh with tgtadm a function recording its argv: every
 * request value the file holds must come out as one argv element (or an `--opt=VALUE` value).
 */
export async function reparseTargetsConf(text: string, request: unknown): Promise<ReparseResult> {
  const dir = await scratchDir();
  const bin = join(dir, 'bin');
  await mkdir(bin, { recursive: true });
  await writeFile(join(bin, 'tgtadm'), '#!/bin/sh\nexit 0\n');
  await chmod(join(bin, 'tgtadm'), 0o755);
  // tgt-admin skips a LUN whose backing store does not exist here (a /dev/drbdN of the fuzzed
  // host): each is swapped for a scratch file, so the LUN's other values are read back too.
  const stores = [...new Set([...text.matchAll(/<backing-store ([^>\s]+)>/g)].map((m) => m[1] ?? ''))];
  let substituted = text;
  for (const [i, path] of stores.entries()) {
    const file = join(dir, `store-${i}.img`);
    await writeFile(file, '');
    substituted = substituted.split(`<backing-store ${path}>`).join(`<backing-store ${file}>`);
  }
  const conf = join(dir, `targets-${process.pid}.conf`);
  await writeFile(conf, substituted);
  const pretend = await execa('/usr/sbin/tgt-admin', ['--pretend', '-e', '-c', conf], { env: { PATH: bin, LANG: 'C' }, extendEnv: false, reject: false, timeout: 60_000 });
  if (pretend.exitCode !== 0) return { tool: 'tgt-admin', ok: false, changed: [], detail: `tgt-admin --pretend exited ${pretend.exitCode}: ${pretend.stderr.slice(0, 300)}` };
  const lines = pretend.stdout.split('\n').filter((l) => l.startsWith('tgtadm '));
  const script = [`tgtadm() { printf '\\036'; printf '%s\\037' "$@"; }`, 'PATH=/nonexistent', ...lines, ''].join('\n');
  const sh = await execa('/bin/sh', ['-s'], { input: script, env: { PATH: '/nonexistent' }, extendEnv: false, reject: false, stripFinalNewline: false, timeout: 60_000 });
  if (sh.exitCode !== 0 || sh.stderr !== '') return { tool: 'tgt-admin+sh', ok: false, changed: [], detail: `sh: exit ${sh.exitCode} ${sh.stderr.slice(0, 300)}` };
  // An element is a value, `--opt=VALUE`, or tgtadm's `--params k=v,k=v` list.
  const argv = new Set(
    sh.stdout
      .split('\x1e')
      .flatMap((c) => c.split('\x1f'))
      .flatMap((a) => [a, ...a.split(',')])
      .flatMap((a) => [a, a.includes('=') ? a.slice(a.indexOf('=') + 1) : a]),
  );
  const changed = valuesInFile(text, request).filter((v) => !argv.has(v) && !stores.includes(v));
  return { tool: 'tgt-admin', ok: changed.length === 0, changed, detail: changed.length === 0 ? '' : `not an argv element after tgt-admin and sh: ${JSON.stringify(changed.slice(0, 5))}` };
}

/** A word as `drbdadm dump` prints it: bare, or in double quotes with \" and \\ escaped. */
const unquote = (w: string) => (w.startsWith('"') && w.endsWith('"') ? w.slice(1, -1).replace(/\\(.)/g, '$1') : w);

/**
 * drbd.conf through the installed drbdadm's parser (`drbdadm -c FILE dump`, as the round-trip test
 * runs it) with each representative kernel version, the first that parses counting: every request
 * value the file holds must be a word of the dump.
 */
export async function reparseDrbdConf(text: string, request: unknown, versions: readonly string[]): Promise<ReparseResult> {
  const dir = await scratchDir();
  const conf = join(dir, `drbd-${process.pid}.conf`);
  await writeFile(conf, text);
  const node = /\bon\s+([A-Za-z0-9_.-]+)/.exec(text)?.[1] ?? 'xs-demo-1';
  let last = '';
  for (const version of versions) {
    const r = await execa('drbdadm', ['-c', conf, 'dump'], { reject: false, env: { DRBD_DRIVER_VERSION_OVERRIDE: version, __DRBD_NODE__: node }, extendEnv: true, timeout: 60_000 });
    if (r.exitCode !== 0) {
      last = `drbdadm dump (${version}) exited ${r.exitCode}: ${r.stderr.split('\n').filter((l) => !/PRETENDING|__DRBD_NODE__/.test(l)).join(' ').slice(0, 300)}`;
      continue;
    }
    const words = new Set(r.stdout.split(/[\s;]+/).map((w) => unquote(w)));
    const changed = valuesInFile(text, request).filter((v) => !words.has(v) && !words.has(v.replace(/^.*:/, '')));
    return { tool: 'drbdadm', ok: changed.length === 0, changed, detail: changed.length === 0 ? '' : `not a word of drbdadm dump: ${JSON.stringify(changed.slice(0, 5))}` };
  }
  return { tool: 'drbdadm', ok: false, changed: [], detail: last };
}
