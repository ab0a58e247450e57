import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '@xsctl/common/errors/index';
import type { TargetSpec } from '@xsctl/proto/gen/xsctl/agent/v1/target';
import { acceptedProbes } from '@xsctl/test/probes/value-probes';
import { initiatorAddress, scsiIdentity, tgtBackingStore, tgtParamText } from '../validate/validators.js';
import { renderTargetsConf } from './render-targets-conf.js';
import { normalizeTargetSpecs, type TargetConfig } from './target-spec.js';

/**
 * Every value the target validators allow, written into targets.conf, read by the real tgt-admin
 * (Debian's tgt 1.0.85: Config::General, then command strings run by Perl's system() through
 * /bin/sh), must reach tgtadm's argv unchanged, one argument each, and nothing else may run.
 *
 * The commands tgt-admin prints with --pretend are run by dash and by bash (CentOS's /bin/sh) with
 * tgtadm as a shell function that records its argv and PATH pointing nowhere; a sample is also run
 * the real way (tgt-admin -e, a recording tgtadm first on PATH).
 */
const tgtAdmin = '/usr/sbin/tgt-admin';

let dir: string;
let fakeBin: string;
let log: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'xsctl-tgtrt-'));
  fakeBin = join(dir, 'bin');
  await mkdir(fakeBin);
  log = join(dir, 'tgtadm.log');
  // \036 starts a call, \037 ends each argument: no allowed value holds a control character.
  await writeFile(join(fakeBin, 'tgtadm'), `#!/bin/sh\n{ printf '\\036'; printf '%s\\037' "$@"; } >> "$TGTADM_LOG"\n`);
  await chmod(join(fakeBin, 'tgtadm'), 0o755);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const base = (i: number): TargetSpec => ({
  tid: i + 1,
  iqn: `iqn.2024-01.com.example:t${i}`,
  luns: [{ lun: 1, backingStore: '', scsiId: `XSID${i}`, scsiSn: `SN${i}`, vendorId: 'XSCTL', productId: 'RT-LUN', bsType: 'rdwr' }],
  initiatorAddresses: ['10.0.0.0/24'],
  initiatorNames: [],
  incomingUser: { user: `ux${i}x`, password: `Secret${i}-abcdefgh` },
});

type Patch = (spec: TargetSpec, value: string) => void;
const lun0 = (s: TargetSpec) => s.luns[0]!;

/** The fields the probes vary, each checked the way the agent checks it: the whole spec through normalizeTargetSpecs. */
const fields: { name: string; base: string; set: Patch }[] = [
  { name: 'incomingUser.password', base: 'Abcdefgh1234', set: (s, v) => (s.incomingUser = { user: s.incomingUser!.user, password: v }) },
  { name: 'incomingUser.user', base: 'userxyz', set: (s, v) => (s.incomingUser = { user: v, password: s.incomingUser!.password }) },
  { name: 'iqn', base: 'iqn.2024-01.com.example:probe', set: (s, v) => (s.iqn = v) },
  { name: 'initiatorNames', base: 'iqn.1994-05.com.redhat:init', set: (s, v) => (s.initiatorNames = [v]) },
  { name: 'scsiId', base: 'XSCTL-ID-01', set: (s, v) => (lun0(s).scsiId = v) },
  { name: 'scsiSn', base: 'XS0000000001', set: (s, v) => (lun0(s).scsiSn = v) },
  { name: 'vendorId', base: 'VENDOR', set: (s, v) => (lun0(s).vendorId = v) },
  { name: 'productId', base: 'PRODUCT-LUN', set: (s, v) => (lun0(s).productId = v) },
  { name: 'initiatorAddresses', base: '10.20.30.0/24', set: (s, v) => (s.initiatorAddresses = [v]) },
];
const specAccepts = (set: Patch, backingStore = '/dev/drbd1') => (v: string) => {
  const s = base(0);
  lun0(s).backingStore = backingStore;
  set(s, v);
  normalizeTargetSpecs([s], { lunFileDirs: [dir] });
};

/** What tgt-admin 1.0.85 runs for one target (add_targets, add_backing_direct, add_params, process_options). */
function expectedCalls(t: TargetConfig): string[][] {
  const c = ['-C', '0', '--lld', 'iscsi'];
  const tid = String(t.tid);
  const calls: string[][] = [[...c, '--op', 'new', '--mode', 'target', '--tid', tid, '-T', t.iqn]];
  for (const l of t.luns) {
    calls.push([...c, '--op', 'new', '--mode', 'logicalunit', '--tid', tid, '--lun', String(l.lun), '-b', l.backingStore, '--bstype', l.bsType]);
    for (const [k, v] of [['scsi_id', l.scsiId], ['scsi_sn', l.scsiSn], ['vendor_id', l.vendorId], ['product_id', l.productId]] as const) {
      calls.push([...c, '--op', 'update', '--mode', 'logicalunit', '--tid', tid, `--lun=${l.lun}`, '--params', `${k}=${v}`]);
    }
  }
  if (t.chap !== null) {
    calls.push([...c, '--mode', 'account', '--op', 'new', `--user=${t.chap.user}`, `--password=${t.chap.password}`]);
    calls.push([...c, '--mode', 'account', '--op', 'bind', `--tid=${tid}`, `--user=${t.chap.user}`]);
  }
  for (const a of t.initiatorAddresses) calls.push([...c, '--op', 'bind', '--mode', 'target', '--tid', tid, '-I', a]);
  for (const n of t.initiatorNames) calls.push([...c, '--op', 'bind', '--mode', 'target', '--tid', tid, '-Q', n]);
  return calls;
}

function parseCalls(recorded: string): string[][] {
  return recorded
    .split('\x1e')
    .slice(1)
    .map((r) => r.split('\x1f').slice(0, -1))
    .filter((argv) => !(argv.includes('--op') && argv[argv.indexOf('--op') + 1] === 'show'));
}

const key = (argv: readonly string[]) => JSON.stringify(argv);
const sorted = (calls: readonly string[][]) => calls.map(key).sort();

/** Every probe target: a base target with one field set to one allowed probe value. */
async function probeTargets(): Promise<{ specs: TargetSpec[]; probes: { field: string; value: string }[] }> {
  const specs: TargetSpec[] = [];
  const probes: { field: string; value: string }[] = [];
  const add = (field: string, value: string, set?: Patch) => {
    const s = base(specs.length);
    lun0(s).backingStore = join(dir, 'lun.img');
    set?.(s, value);
    specs.push(s);
    probes.push({ field, value });
  };
  await writeFile(join(dir, 'lun.img'), Buffer.alloc(4096));
  for (const f of fields) for (const v of acceptedProbes(f.base, specAccepts(f.set))) add(f.name, v, f.set);
  // Backing stores: each allowed file name must exist, or tgt-admin skips the LUN.
  const images = join(dir, 'images');
  await mkdir(images, { recursive: true });
  const setStore: Patch = (s, v) => (lun0(s).backingStore = `${images}/${v}.img`);
  const paths = new Set(acceptedProbes('lunfile', specAccepts(setStore)).map((v) => `${images}/${v}.img`));
  for (const path of paths) {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, Buffer.alloc(4096));
    add('luns[0].backingStore', path, (s) => (lun0(s).backingStore = path));
  }
  // Lengths and mixes no single-character probe reaches, from a fixed seed.
  const secretChars = fc.constantFrom(...'ABCXYZabcxyz0189_.:@%+/=-'.split(''));
  const secrets = fc.sample(
    fc.tuple(fc.constantFrom('A', 'z', '7'), fc.string({ unit: secretChars, minLength: 11, maxLength: 63 })).map(([h, t]) => h + t),
    { numRuns: 40, seed: 1010 },
  );
  for (const v of [...secrets, 'A'.repeat(12), `A${'='.repeat(63)}`, `9${'%'.repeat(63)}`]) add('incomingUser.password', v, (s, x) => (s.incomingUser = { user: s.incomingUser!.user, password: x }));
  for (const v of fc.sample(fc.ipV4(), { numRuns: 15, seed: 1011 })) add('initiatorAddresses', v, (s, x) => (s.initiatorAddresses = [x]));
  for (const v of fc.sample(fc.ipV6(), { numRuns: 15, seed: 1012 }).filter((a) => !a.includes('.'))) add('initiatorAddresses', v, (s, x) => (s.initiatorAddresses = [x]));
  return { specs, probes };
}

describe('targets.conf values through the real tgt-admin (Config::General, Perl, /bin/sh)', () => {
  it('refuses, naming the field, every value the shell or Config::General would change', () => {
    for (const bad of ['Passw0rd;touch${IFS}/x', 'Passw0rd#comment', 'Passw0rd$(id)xx', 'Passw0rd`id`xx', 'Passw0rd|idxxx', 'Passw0rd&&idxx', 'Passw0rd{a,b}x', 'Passw0rd>/tmp/x', '-Passw0rdxxxxx', 'Passw0rd xxxxx', 'Passw0rd\\xxxx', 'Passw0rd"xxxxx', "Passw0rd'xxxxx", 'Passw0rd,xxxxx']) {
      const spec = base(0);
      spec.incomingUser = { user: 'xsinit', password: bad };
      spec.luns[0]!.backingStore = '/dev/drbd1';
      let err: unknown;
      try {
        normalizeTargetSpecs([spec]);
      } catch (e) {
        err = e;
      }
      expect(err, bad).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).field).toBe('targets[0].incomingUser.password');
    }
    for (const [validate, v] of [
      [(x: string) => tgtParamText('v', x, 8), 'IET Corp'],
      [(x: string) => tgtParamText('v', x, 16), 'LUN '],
      [(x: string) => tgtParamText('v', x, 16), '-LUN'],
      [(x: string) => scsiIdentity('s', x, 24), 'A"B'],
      [(x: string) => initiatorAddress('a', x), 'fe80::1%eth0'],
      [(x: string) => tgtBackingStore('b', x), '/tmp/a b.img'],
      [(x: string) => tgtBackingStore('b', x), '/tmp/a$(id).img'],
    ] as const) {
      expect(() => validate(v), v).toThrow(ValidationError);
    }
  });

  it('carries every allowed value to tgtadm unchanged under dash, bash and tgt-admin -e', async () => {
    const { specs, probes } = await probeTargets();
    // Each field contributes values (a refusal of everything would make this test vacuous).
    for (const f of fields) expect(probes.filter((p) => p.field === f.name).length, f.name).toBeGreaterThan(20);
    const targets = normalizeTargetSpecs(specs, { lunFileDirs: [dir] });
    const conf = join(dir, 'targets.conf');
    await writeFile(conf, renderTargetsConf(targets, { redactSecrets: false }));

    // PATH holds only the recording tgtadm: no lsof (tgt-admin then skips its in-use probe), nothing else.
    const env = { PATH: fakeBin, TGTADM_LOG: join(dir, 'show.log'), LANG: 'C' };
    const pretend = await execa(tgtAdmin, ['--pretend', '-e', '-c', conf], { env, extendEnv: false, reject: false, timeout: 120_000 });
    expect(pretend.exitCode).toBe(0);
    const lines = pretend.stdout.split('\n').filter((l) => l.startsWith('tgtadm '));
    const expected = targets.flatMap(expectedCalls);
    expect(lines.length).toBe(expected.length);

    // The printed lines as /bin/sh would run them, tgtadm a function, nothing else on PATH.
    const script = [`tgtadm() { printf '\\036'; printf '%s\\037' "$@"; }`, 'PATH=/nonexistent', ...lines, ''].join('\n');
    for (const shell of ['/bin/dash', '/bin/bash']) {
      const r = await execa(shell, ['-s'], { input: script, env: { PATH: '/nonexistent' }, extendEnv: false, reject: false, stripFinalNewline: false, timeout: 120_000 });
      expect({ shell, stderr: r.stderr, exitCode: r.exitCode }).toEqual({ shell, stderr: '', exitCode: 0 });
      const got = sorted(parseCalls(r.stdout));
      const want = sorted(expected);
      const gotSet = new Set(got);
      const wantSet = new Set(want);
      const missing = want.filter((k) => !gotSet.has(k));
      const extra = got.filter((k) => !wantSet.has(k));
      expect(got.length).toBe(want.length);
      expect({ shell, missing: missing.slice(0, 5), extra: extra.slice(0, 5) }).toEqual({ shell, missing: [], extra: [] });
    }

    // A sample the real way: tgt-admin -e runs every command with Perl's system().
    const sample = targets.filter((_, i) => i % Math.ceil(targets.length / 12) === 0);
    const sampleConf = join(dir, 'sample.conf');
    await writeFile(sampleConf, renderTargetsConf(sample, { redactSecrets: false }));
    await writeFile(log, '');
    const real = await execa(tgtAdmin, ['-e', '-c', sampleConf], { env: { ...env, TGTADM_LOG: log }, extendEnv: false, reject: false, timeout: 120_000 });
    expect({ exitCode: real.exitCode, stderr: real.stderr }).toEqual({ exitCode: 0, stderr: '' });
    expect(sorted(parseCalls(await readFile(log, 'utf8')))).toEqual(sorted(sample.flatMap(expectedCalls)));
  }, 180_000);
});
