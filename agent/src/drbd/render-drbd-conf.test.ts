import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '@xsctl/common/errors/index';
import { DrbdSyntax, type DrbdResourceSpec } from '@xsctl/proto/gen/xsctl/agent/v1/drbd';
import { normalizeDrbdSpec } from './drbd-spec.js';
import { drbdadmArgs, representativeVersion } from './drbdadm-args.js';
import { redactDrbdSecrets, renderDrbdConf } from './render-drbd-conf.js';

// The how-to's resource, with node 1 on loopback: `drbdadm dump` insists the local address exists.
const spec: DrbdResourceSpec = {
  name: 'iscsi1',
  minor: 1,
  nodes: [
    { hostname: 'XCP1', disk: '/dev/sdb', address: '127.0.0.1', port: 7789 },
    { hostname: 'XCP2', disk: '/dev/sdb', address: '10.10.10.2', port: 7789 },
  ],
  protocol: 'C',
  afterSb0pri: 'discard-zero-changes',
  afterSb1pri: 'consensus',
  afterSb2pri: 'disconnect',
  sharedSecret: 'PUTyourSECREThere',
  cramHmacAlg: 'sha1',
  resyncRate: '100M',
  quorum: '',
  onNoQuorum: '',
};

const syntaxes = [
  ['8.3', DrbdSyntax.DRBD_SYNTAX_V83],
  ['8.4', DrbdSyntax.DRBD_SYNTAX_V84],
  ['9', DrbdSyntax.DRBD_SYNTAX_V9],
] as const;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'xsctl-drbdconf-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The installed drbdadm, pretending to run on `node` with a kernel of the given syntax. */
async function drbdadm(syntax: DrbdSyntax, node: string, args: readonly string[]) {
  const r = await execa('drbdadm', args, {
    reject: false,
    env: { DRBD_DRIVER_VERSION_OVERRIDE: representativeVersion[syntax] ?? '', __DRBD_NODE__: node },
    extendEnv: true,
    timeout: 20_000,
  });
  const stderr = r.stderr
    .split('\n')
    .filter((l) => l.trim() !== '' && !/PRETENDING|found __DRBD_NODE__/.test(l))
    .join('\n');
  return { exitCode: r.exitCode, stdout: r.stdout, stderr };
}

async function confFile(syntax: DrbdSyntax, s: DrbdResourceSpec = spec): Promise<string> {
  const file = join(dir, `drbd-${syntax}-${Math.random().toString(16).slice(2)}.conf`);
  await writeFile(file, renderDrbdConf([normalizeDrbdSpec(s)], syntax));
  return file;
}

describe('renderDrbdConf', () => {
  it('puts protocol and the resync rate where each version wants them', () => {
    const r = normalizeDrbdSpec(spec);
    const v83 = renderDrbdConf([r], DrbdSyntax.DRBD_SYNTAX_V83);
    expect(v83).toMatch(/resource iscsi1 \{\n {2}protocol C;\n {2}net \{/);
    expect(v83).toContain('  syncer {\n    rate 100M;\n  }');
    const v84 = renderDrbdConf([r], DrbdSyntax.DRBD_SYNTAX_V84);
    expect(v84).toContain('  net {\n    protocol C;');
    expect(v84).not.toContain('syncer');
    expect(v84).toContain('resync-rate 100M;');
    const v9 = renderDrbdConf([r], DrbdSyntax.DRBD_SYNTAX_V9);
    expect(v9).toContain('    node-id   0;');
    expect(v9).toContain('    node-id   1;');
    expect(v9).toContain('  connection-mesh {\n    hosts XCP1 XCP2;\n  }');
    expect(v9).toContain('    quorum off;');
    expect(v9).toContain('    auto-promote no;');
    expect(v9).not.toContain('syncer');
  });

  it('refuses more than two nodes before DRBD 9', () => {
    const three = { ...spec, nodes: [...spec.nodes, { hostname: 'XCP3', disk: '/dev/sdb', address: '10.10.10.3', port: 7789 }] };
    expect(() => renderDrbdConf([normalizeDrbdSpec(three)], DrbdSyntax.DRBD_SYNTAX_V84)).toThrow(ValidationError);
    expect(renderDrbdConf([normalizeDrbdSpec(three)], DrbdSyntax.DRBD_SYNTAX_V9)).toContain('hosts XCP1 XCP2 XCP3;');
  });

  it('redacts the shared secret from config text and drbdsetup command lines', () => {
    const text = renderDrbdConf([normalizeDrbdSpec(spec)], DrbdSyntax.DRBD_SYNTAX_V84);
    expect(redactDrbdSecrets(text)).not.toContain('PUTyourSECREThere');
    expect(redactDrbdSecrets('drbdsetup-84 connect iscsi1 a b --shared-secret=PUTyourSECREThere --x')).toBe('drbdsetup-84 connect iscsi1 a b --shared-secret=[redacted] --x');
    expect(redactDrbdSecrets('        shared-secret    PUTyourSECREThere;')).toBe('        shared-secret    [redacted];');
  });

  it.each(syntaxes)('DRBD %s: the real drbdadm dump and sh-nop accept it on both nodes', async (_name, syntax) => {
    const file = await confFile(syntax);
    const dump = await drbdadm(syntax, 'XCP1', ['-c', file, 'dump']);
    expect(dump.stderr).toBe('');
    expect(dump.exitCode).toBe(0);
    expect(dump.stdout).toMatch(/resource iscsi1 \{/);
    expect(dump.stdout).toMatch(/address\s+ipv4 10\.10\.10\.2:7789;/);
    expect(dump.stdout).toMatch(/after-sb-0pri\s+discard-zero-changes;/);
    expect(dump.stdout).toMatch(/shared-secret\s+PUTyourSECREThere;/);
    if (syntax === DrbdSyntax.DRBD_SYNTAX_V9) expect(dump.stdout).toMatch(/node-id 1;/);
    for (const node of ['XCP1', 'XCP2']) {
      const nop = await drbdadm(syntax, node, ['-c', file, 'sh-nop']);
      expect({ node, exitCode: nop.exitCode, stderr: nop.stderr }).toEqual({ node, exitCode: 0, stderr: '' });
    }
  });

  it('8.4 syntax is not 8.3 syntax: drbdadm 8.3 rejects `protocol` inside net {}', async () => {
    const file = await confFile(DrbdSyntax.DRBD_SYNTAX_V84);
    const r = await drbdadm(DrbdSyntax.DRBD_SYNTAX_V83, 'XCP1', ['-c', file, 'sh-nop']);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/Parse error: 'an option keyword' expected,\s+but got 'protocol'/);
  });

  it('renders the how-to resource the way drbdadm 8.3 reads the how-to file', async () => {
    const block = await readFile(new URL('./__fixtures__/howto-drbd.conf', import.meta.url), 'utf8');
    const howto = join(dir, 'howto.conf');
    await writeFile(howto, block.replace('/dev/cciss/c0d1', '/dev/sdb').replaceAll('/dev/cciss/c0d1', '/dev/sdb').replace('10.10.10.1:7789', '127.0.0.1:7789'));
    const theirs = await drbdadm(DrbdSyntax.DRBD_SYNTAX_V83, 'XCP1', ['-c', howto, 'dump', 'iscsi1']);
    const ours = await drbdadm(DrbdSyntax.DRBD_SYNTAX_V83, 'XCP1', ['-c', await confFile(DrbdSyntax.DRBD_SYNTAX_V83), 'dump', 'iscsi1']);
    expect(theirs.exitCode).toBe(0);
    expect(ours.exitCode).toBe(0);
    const settings = (dump: string) =>
      dump
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => /^(protocol|device|disk|address|meta-disk|after-sb-[01]pri|cram-hmac-alg|shared-secret)\s/.test(l))
        .sort();
    expect(settings(ours.stdout)).toEqual(settings(theirs.stdout));
    // The how-to sets the rate in `common { syncer {} }`; ours sits in the resource.
    expect(block).toContain('syncer { rate 100M; }');
    expect(ours.stdout).toMatch(/syncer \{\s+rate\s+100M;/);
  });
});

describe('drbdadm dry runs (-d) of the commands the agent issues', () => {
  const dry = async (syntax: DrbdSyntax, args: readonly string[]) => {
    const r = await drbdadm(syntax, 'XCP1', ['-c', await confFile(syntax), '-d', ...args]);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    return r.stdout.trim().split('\n');
  };

  it('8.4 up: new-resource, new-minor, attach, then connect with protocol C in the net options', async () => {
    const lines = await dry(DrbdSyntax.DRBD_SYNTAX_V84, drbdadmArgs.up('iscsi1'));
    expect(lines[0]).toBe('drbdsetup-84 new-resource iscsi1');
    expect(lines[1]).toBe('drbdsetup-84 new-minor iscsi1 1 0');
    expect(lines).toContain('drbdsetup-84 attach 1 /dev/sdb /dev/sdb internal --resync-rate=100M');
    expect(lines.at(-1)).toMatch(/^drbdsetup-84 connect iscsi1 ipv4:127\.0\.0\.1:7789 ipv4:10\.10\.10\.2:7789 --protocol=C .*--after-sb-1pri=consensus/);
  });

  // drbd-net-timers.ts's fast-failover keep-alive reaches drbdsetup, as the kernel (and the lab's
  // simulator, which reads these options) gets it: the real drbdadm parses the file we write.
  it.each(syntaxes)('DRBD %s up: drbdsetup gets ping-int 1, ping-timeout 5, timeout 9, connect-int 10, ko-count 47', async (_name, syntax) => {
    const lines = await dry(syntax, drbdadmArgs.up('iscsi1'));
    const net = lines.find((l) => / net | new-peer |^drbdsetup-84 connect /.test(l)) ?? '';
    for (const o of ['--ping-int=1', '--ping-timeout=5', '--timeout=9', '--connect-int=10', '--ko-count=47']) expect(net.split(' '), `${o} in ${net}`).toContain(o);
  });

  it('9 up: a peer with node-id, a path, attach, connect', async () => {
    const lines = await dry(DrbdSyntax.DRBD_SYNTAX_V9, drbdadmArgs.up('iscsi1'));
    expect(lines[0]).toBe('drbdsetup new-resource iscsi1 0 --quorum=off --auto-promote=no');
    expect(lines).toContain('drbdsetup new-path iscsi1 1 ipv4:127.0.0.1:7789 ipv4:10.10.10.2:7789');
    expect(lines.find((l) => l.startsWith('drbdsetup new-peer'))).toMatch(/^drbdsetup new-peer iscsi1 1 --_name=XCP2 .*--protocol=C/);
    expect(lines.at(-1)).toBe('drbdsetup connect iscsi1 1');
  });

  it('8.3 up: disk, syncer and net on the minor', async () => {
    const lines = await dry(DrbdSyntax.DRBD_SYNTAX_V83, drbdadmArgs.up('iscsi1'));
    expect(lines).toContain('drbdsetup-83 1 disk /dev/sdb /dev/sdb internal --set-defaults --create-device');
    expect(lines).toContain('drbdsetup-83 1 syncer --set-defaults --create-device --rate=100M');
    expect(lines.find((l) => l.includes(' net '))).toMatch(/^drbdsetup-83 1 net ipv4:127\.0\.0\.1:7789 ipv4:10\.10\.10\.2:7789 C /);
  });

  it('promote and demote never force', async () => {
    expect(await dry(DrbdSyntax.DRBD_SYNTAX_V84, drbdadmArgs.primary('iscsi1'))).toEqual(['drbdsetup-84 primary 1']);
    expect(await dry(DrbdSyntax.DRBD_SYNTAX_V9, drbdadmArgs.primary('iscsi1'))).toEqual(['drbdsetup primary iscsi1']);
    expect(await dry(DrbdSyntax.DRBD_SYNTAX_V9, drbdadmArgs.secondary('iscsi1'))).toEqual(['drbdsetup secondary iscsi1']);
  });

  it("initial sync is the only forced promotion, in each version's words", async () => {
    expect(await dry(DrbdSyntax.DRBD_SYNTAX_V83, drbdadmArgs.initialSyncPrimary(DrbdSyntax.DRBD_SYNTAX_V83, 'iscsi1'))).toEqual(['drbdsetup-83 1 primary --overwrite-data-of-peer']);
    expect(await dry(DrbdSyntax.DRBD_SYNTAX_V84, drbdadmArgs.initialSyncPrimary(DrbdSyntax.DRBD_SYNTAX_V84, 'iscsi1'))).toEqual(['drbdsetup-84 primary 1 --force']);
    expect(await dry(DrbdSyntax.DRBD_SYNTAX_V9, drbdadmArgs.initialSyncPrimary(DrbdSyntax.DRBD_SYNTAX_V9, 'iscsi1'))).toEqual(['drbdsetup primary iscsi1 --force']);
  });

  it('the split-brain victim connects with --discard-my-data: `-- --discard-my-data connect` on 8.3', async () => {
    const v83 = await dry(DrbdSyntax.DRBD_SYNTAX_V83, drbdadmArgs.connectDiscardMyData(DrbdSyntax.DRBD_SYNTAX_V83, 'iscsi1'));
    expect(v83.at(-1)).toMatch(/^drbdsetup-83 1 net .* --discard-my-data$/);
    const v84 = await dry(DrbdSyntax.DRBD_SYNTAX_V84, drbdadmArgs.connectDiscardMyData(DrbdSyntax.DRBD_SYNTAX_V84, 'iscsi1'));
    expect(v84.at(-1)).toMatch(/^drbdsetup-84 connect iscsi1 .* --discard-my-data$/);
    expect(await dry(DrbdSyntax.DRBD_SYNTAX_V9, drbdadmArgs.connectDiscardMyData(DrbdSyntax.DRBD_SYNTAX_V9, 'iscsi1'))).toEqual(['drbdsetup connect iscsi1 1 --discard-my-data']);
  });

  it('drbdadm 8.3 does not take the 8.4 form `connect --discard-my-data`', async () => {
    const r = await drbdadm(DrbdSyntax.DRBD_SYNTAX_V83, 'XCP1', ['-c', await confFile(DrbdSyntax.DRBD_SYNTAX_V83), '-d', ...drbdadmArgs.connectDiscardMyData(DrbdSyntax.DRBD_SYNTAX_V84, 'iscsi1')]);
    expect(r.exitCode).not.toBe(0);
  });
});
