import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '@xsctl/common/errors/index';
import { DrbdSyntax, type DrbdResourceSpec } from '@xsctl/proto/gen/xsctl/agent/v1/drbd';
import { accepts, acceptedProbes } from '@xsctl/test/probes/value-probes';
import { drbdKeywords } from '../validate/validators.js';
import { normalizeDrbdSpecs, type DrbdResourceConfig } from './drbd-spec.js';
import { representativeVersion } from './drbdadm-args.js';
import { renderDrbdConf } from './render-drbd-conf.js';

/**
 * Every value the DRBD validators allow, rendered into drbd.conf, must read back unchanged through
 * the installed drbdadm (drbd-utils 9.22: its 8.3, 8.4 and 9 parsers) as `drbdadm dump` prints it.
 */
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'xsctl-drbdrt-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const syntaxes = [
  ['8.3', DrbdSyntax.DRBD_SYNTAX_V83],
  ['8.4', DrbdSyntax.DRBD_SYNTAX_V84],
  ['9', DrbdSyntax.DRBD_SYNTAX_V9],
] as const;

async function dump(syntax: DrbdSyntax, text: string) {
  const file = join(dir, `drbd-${syntax}-${Math.random().toString(16).slice(2)}.conf`);
  await writeFile(file, text);
  const r = await execa('drbdadm', ['-c', file, 'dump'], {
    reject: false,
    env: { DRBD_DRIVER_VERSION_OVERRIDE: representativeVersion[syntax] ?? '', __DRBD_NODE__: 'XCP1' },
    extendEnv: true,
    timeout: 60_000,
  });
  const stderr = r.stderr
    .split('\n')
    .filter((l) => l.trim() !== '' && !/PRETENDING|found __DRBD_NODE__/.test(l))
    .join('\n');
  return { exitCode: r.exitCode, stdout: r.stdout, stderr };
}

/** A word as `drbdadm dump` prints it: bare, or in double quotes with \" and \\ escaped. */
const unquote = (w: string) => (w.startsWith('"') ? w.slice(1, -1).replace(/\\(.)/g, '$1') : w);

interface Dumped {
  name: string;
  secret: string;
  hosts: { host: string; disk: string; address: string }[];
}

/** The resources of a `drbdadm dump`, with the values the probes vary. */
function parseDump(text: string): Dumped[] {
  const out: Dumped[] = [];
  let cur: Dumped | null = null;
  let host: Dumped['hosts'][number] | null = null;
  const word = '("(?:[^"\\\\]|\\\\.)*"|[^\\s;{]+)';
  for (const line of text.split('\n')) {
    let m = new RegExp(`^resource ${word} \\{`).exec(line);
    if (m) {
      cur = { name: unquote(m[1]!), secret: '', hosts: [] };
      out.push(cur);
      continue;
    }
    if (cur === null) continue;
    if ((m = new RegExp(`^\\s+on ${word} \\{`).exec(line))) {
      host = { host: unquote(m[1]!), disk: '', address: '' };
      cur.hosts.push(host);
    } else if ((m = new RegExp(`^\\s+shared-secret\\s+${word};`).exec(line))) cur.secret = unquote(m[1]!);
    else if (host && (m = new RegExp(`^\\s+disk\\s+${word};`).exec(line))) host.disk = unquote(m[1]!);
    else if (host && (m = /^\s+address\s+(ipv4 |ipv6 )?\[?([^\]\s;]+?)\]?:(\d+);/.exec(line))) host.address = m[2]!;
  }
  return out;
}

const spec = (i: number): DrbdResourceSpec => ({
  name: `res${i}`,
  minor: i,
  nodes: [
    { hostname: 'XCP1', disk: `/dev/xsvg/local${i}`, address: '127.0.0.1', port: 7000 + i },
    { hostname: `peer${i}`, disk: `/dev/xsvg/remote${i}`, address: `10.${(i >> 8) & 255}.${i & 255}.2`, port: 7000 + i },
  ],
  protocol: 'C',
  afterSb0pri: '',
  afterSb1pri: '',
  afterSb2pri: '',
  sharedSecret: `Secret${i}`,
  cramHmacAlg: 'sha1',
  resyncRate: '',
  quorum: '',
  onNoQuorum: '',
});

type Patch = (s: DrbdResourceSpec, v: string) => void;
const peer = (s: DrbdResourceSpec) => s.nodes[1]!;
/** The fields the probes vary, each checked the way the agent checks it: the whole spec through normalizeDrbdSpecs. */
const fields: { name: string; base: string; set: Patch }[] = [
  { name: 'name', base: 'iscsi01', set: (s, v) => (s.name = v) },
  { name: 'hostname', base: 'xcp-host.lan', set: (s, v) => (peer(s).hostname = v) },
  { name: 'disk', base: '/dev/xsvg/drbd_backing', set: (s, v) => (peer(s).disk = v) },
  { name: 'sharedSecret', base: 'PUTyourSECREThere', set: (s, v) => (s.sharedSecret = v) },
];
const specAccepts = (set: Patch) => (v: string) => {
  const s = spec(1);
  set(s, v);
  normalizeDrbdSpecs([s]);
};

function probeSpecs(): DrbdResourceSpec[] {
  const specs: DrbdResourceSpec[] = [];
  const add = (set: Patch, v: string) => {
    const s = spec(specs.length + 1);
    set(s, v);
    specs.push(s);
  };
  for (const f of fields) for (const v of acceptedProbes(f.base, specAccepts(f.set))) add(f.set, v);
  const setAddress: Patch = (s, v) => (peer(s).address = v);
  for (const v of fc.sample(fc.ipV4(), { numRuns: 20, seed: 2010 })) add(setAddress, v);
  for (const v of fc.sample(fc.ipV6(), { numRuns: 200, seed: 2011 }).filter((a) => accepts(specAccepts(setAddress), a)).slice(0, 40)) add(setAddress, v);
  for (const v of ['fd00::2', '::ffff:10.1.2.3', '1:2:3:4:5:6:7:8', '2001:db8::', '::2']) add(setAddress, v);
  const longHost = `${'h'.repeat(62)}.b`; // 64, the longest uname -n
  add((s, v) => (peer(s).hostname = v), longHost);
  add((s, v) => (s.sharedSecret = v), 'S'.repeat(63));
  add((s, v) => (peer(s).disk = v), `/dev/xsvg/${'d'.repeat(70)}`); // 80, the 8.3 lexer's longest STRING
  add((s, v) => (s.sharedSecret = v), 'a');
  return specs;
}

describe('drbd.conf values through the real drbdadm', () => {
  const specs = probeSpecs();
  const resources = normalizeDrbdSpecs(specs);

  it('has probes for every field (a validator that refused everything would make the round trip vacuous)', () => {
    for (const f of fields) expect(acceptedProbes(f.base, specAccepts(f.set)).length, f.name).toBeGreaterThan(25);
  });

  it.each(syntaxes)('DRBD %s: drbdadm dump prints every allowed name, host, disk, address and secret unchanged', async (_name, syntax) => {
    // drbdadm's hash tables hold a few hundred resources: 100 per file.
    const got: Dumped[] = [];
    for (let i = 0; i < resources.length; i += 100) {
      const d = await dump(syntax, renderDrbdConf(resources.slice(i, i + 100), syntax));
      expect({ exitCode: d.exitCode, stderr: d.stderr.slice(0, 400) }).toEqual({ exitCode: 0, stderr: '' });
      got.push(...parseDump(d.stdout));
    }
    expect(got.length).toBe(resources.length);
    const want = resources.map((r) => ({ name: r.name, secret: r.sharedSecret, hosts: r.nodes.map((n) => ({ host: n.hostname, disk: n.disk, address: n.address })) }));
    const byName = new Map(got.map((g) => [g.name, g]));
    for (const w of want) expect(byName.get(w.name) ?? { missing: w.name }).toEqual(w);
  }, 120_000);

  it('refuses, naming the field, what drbdadm would read as something else (and drbdadm agrees)', async () => {
    const refuse = (patch: Patch, v: string, field: string) => {
      const s = spec(1);
      patch(s, v);
      let err: unknown;
      try {
        normalizeDrbdSpecs([s]);
      } catch (e) {
        err = e;
      }
      expect(err, v).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).field).toBe(`resources[0].${field}`);
      return s;
    };
    for (const k of drbdKeywords) {
      refuse((s, v) => (peer(s).hostname = v), k, 'nodes[1].hostname');
      if (/^[a-z][a-z0-9_-]*$/.test(k)) refuse((s, v) => (s.name = v), k, 'name');
    }
    for (const v of ['12', '12345678', '12s', '10M', '10.1.2.3']) refuse((s, x) => (peer(s).hostname = x), v, 'nodes[1].hostname');
    refuse((s, v) => (peer(s).hostname = v), `${'h'.repeat(63)}.b`, 'nodes[1].hostname');
    refuse((s, v) => (peer(s).disk = v), `/dev/xsvg/${'d'.repeat(71)}`, 'nodes[1].disk');
    for (const v of ['/dev/disk/by-path/pci-0000:00:1f.2-ata-1', '/dev/mapper/a+b']) refuse((s, x) => (peer(s).disk = x), v, 'nodes[1].disk');
    for (const v of ['1::1.2.3.4', 'fe80::1%eth0']) refuse((s, x) => (peer(s).address = x), v, 'nodes[1].address');
    for (const v of ['a b', 'a"b', 'a;b', 'a#b', '-abc', 'x'.repeat(64)]) refuse((s, x) => (s.sharedSecret = x), v, 'sharedSecret');

    // The refusals match drbdadm: a keyword host, a numeric host, a colon in a disk path and a
    // dotted IPv6 tail all fail its parser (rendered here without our validation).
    const r0 = normalizeDrbdSpecs([spec(1)])[0]!;
    const cases: [string, DrbdResourceConfig][] = [
      ['keyword host', { ...r0, nodes: [r0.nodes[0]!, { ...r0.nodes[1]!, hostname: 'disk' }] }],
      ['numeric host', { ...r0, nodes: [r0.nodes[0]!, { ...r0.nodes[1]!, hostname: '12345' }] }],
      ['colon in disk', { ...r0, nodes: [r0.nodes[0]!, { ...r0.nodes[1]!, disk: '/dev/disk/by-path/pci-0000:00:1f.2' }] }],
      ['dotted IPv6', { ...r0, nodes: [r0.nodes[0]!, { ...r0.nodes[1]!, address: '1::1.2.3.4' }] }],
      ['keyword resource', { ...r0, name: 'net' }],
    ];
    for (const [what, patched] of cases) {
      const d = await dump(DrbdSyntax.DRBD_SYNTAX_V84, renderDrbdConf([patched], DrbdSyntax.DRBD_SYNTAX_V84));
      expect({ what, failed: d.exitCode !== 0 }).toEqual({ what, failed: true });
    }
  }, 60_000);
});
