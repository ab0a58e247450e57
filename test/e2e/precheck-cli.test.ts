import { lstat, mkdir, readFile, readlink, stat, symlink, truncate, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedDumpFile } from '../src/xapi-sim/fixture-paths.js';
import { loadPoolDumpFile } from '../src/xapi-sim/load-pool-dump.js';
import { serializePoolDump } from '../src/xapi-sim/methods/precheck/index.js';
import { startSimulatedPool, type SimulatedPool } from '../src/demo/start-simulated-pool.js';
import { tempDir } from '@xsctl/common/testing/temp-dir';

/**
 * `xsctl precheck`, `xsctl blobs` and `xsctl-agent precheck` as an admin runs them: the XAPI
 * simulator serving boston-db.xml (its hosts moved to loopback addresses so agents can listen),
 * one agent per host on a sandbox root, the controller, all over mTLS. Host trees get a Dell
 * utility partition (a sparse image partitioned by sfdisk), hotfix records and message blobs.
 */

const repo = join(import.meta.dirname, '..', '..');
const day = 86_400_000;
let pool: SimulatedPool;
let dir: string;
let outsideFile: string;

// XSCTL_E2E_AGENT_BIN: `xsctl-agent` is the packaged agent (e.g. the RPM's /usr/bin/xsctl-agent); the pool's agents are too.
const packagedAgent = process.env['XSCTL_E2E_AGENT_BIN'] ?? '';
const run = (bin: string, args: string[], env: Record<string, string> = {}) =>
  bin === 'xsctl-agent' && packagedAgent !== ''
    ? execa(packagedAgent, args, { cwd: tmpdir(), env: { ...env, PATH: process.env['PATH'] ?? '' }, extendEnv: false, reject: false })
    : execa('npx', ['--no-install', bin, ...args], { cwd: repo, env: { ...env, PATH: process.env['PATH'] ?? '' }, extendEnv: false, reject: false });
const xsctl = (args: string[], env: Record<string, string>) => run('xsctl', args, env);

const root = (name: string): string => pool.hosts.find((h) => h.nameLabel === name)!.root;

async function sfdiskImage(file: string, sizeBytes: number, script: string): Promise<void> {
  await mkdir(join(file, '..'), { recursive: true });
  await writeFile(file, '');
  await truncate(file, sizeBytes);
  await execa('sfdisk', ['--no-reread', '--no-tell-kernel', '-q', file], { input: script });
}

beforeAll(async () => {
  dir = await tempDir('xsctl-e2e-precheck-');
  // The real dump, with the hosts' addresses moved to loopback.
  const db = await loadPoolDumpFile(sharedDumpFile('boston-db.xml'));
  db.update('host', db.refByName('host', 'inflames'), { address: '127.0.0.81' });
  db.update('host', db.refByName('host', 'incubus'), { address: '127.0.0.82' });
  const dump = join(dir, 'boston-loopback.xml');
  await writeFile(dump, serializePoolDump(db));
  pool = await startSimulatedPool({ dir, poolName: 'boston', source: { dump }, agentPort: 20000 + ((process.pid + 7) % 20000) });

  // incubus boots from a disk with Dell's five-sector utility partition at sector 63.
  await sfdiskImage(join(root('incubus'), 'dev/disk/by-id/scsi-SATA_demo_incubus'), 60 * 2 ** 30, 'label: dos\nstart=63, size=5, type=de\nstart=2048, size=8388608, type=83, bootable\nstart=8390656, size=8388608, type=83\nstart=16779264, type=8e\n');
  // inflames has the XenServer 7 layout, a hotfix incubus lacks, and old message blobs.
  await sfdiskImage(
    join(root('inflames'), 'dev/disk/by-id/scsi-SATA_demo_inflames'),
    146163105792,
    'label: gpt\nstart=46139392, size=37748736, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7\nstart=8390656, size=37748736, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7\nstart=87033856, size=198440927, type=E6D6D379-F507-44C2-A23C-238F2A3DF928\nstart=83888128, size=1048576, type=21686148-6449-6E6F-744E-656564454649\nstart=2048, size=8388608, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7\nstart=84936704, size=2097152, type=0657FD6D-A4AB-43C4-84E5-0933C84B4F4F\n',
  );
  const applied = join(root('inflames'), 'var/update/applied');
  await mkdir(applied, { recursive: true });
  await writeFile(
    join(applied, '12acfd0a-0246-4fa7-ba00-2d0e474b3650'),
    '<update name-label="XS70E002" uuid="12acfd0a-0246-4fa7-ba00-2d0e474b3650" key="test@dev.null.com" after-apply-guidance="" guidance-mandatory="false">\n<name-description>Hotfix description</name-description>\n</update>\n',
  );
  const blobs = join(root('inflames'), 'var/lib/xcp/blobs/messages');
  await mkdir(join(blobs, 'uuid'), { recursive: true });
  const t0 = Date.now();
  for (let i = 0; i < 300; i++) {
    const name = ((t0 - (200 + i) * day) / 1000).toFixed(5);
    await writeFile(join(blobs, name), `<message><name>HA_POOL_OVERCOMMITTED</name></message>`);
    await symlink(`/var/lib/xcp/blobs/messages/${name}`, join(blobs, 'uuid', `m-${i}`));
  }
  outsideFile = join(root('inflames'), 'etc/xensource/db.conf');
  await mkdir(join(outsideFile, '..'), { recursive: true });
  await writeFile(outsideFile, '[/var/lib/xcp/state.db]\n');
  await utimes(outsideFile, new Date(t0 - 900 * day), new Date(t0 - 900 * day));
  await symlink('/etc/xensource/db.conf', join(blobs, 'uuid', 'outside'));
}, 180_000);

afterAll(async () => {
  await pool?.stop();
});

interface JsonReport {
  pool: string;
  ok: boolean;
  blockers: number;
  hosts: Array<{ host: string; master: boolean; agentOk: boolean }>;
  findings: Array<{ scope: string; host: string; id: string; severity: string; summary: string; fix: string; details?: Record<string, unknown> }>;
}

describe('xsctl precheck', () => {
  it('reports pool and host blockers in one JSON report and exits 1', async () => {
    const r = await xsctl(['precheck', '--pool', 'boston', '--json'], pool.viewerEnv);
    expect(r.exitCode, r.stderr).toBe(1);
    const report = JSON.parse(r.stdout) as JsonReport;
    expect(report).toMatchObject({ pool: 'boston', ok: false });
    expect(report.hosts.map((h) => [h.host, h.master, h.agentOk])).toEqual([
      ['inflames', true, true],
      ['incubus', false, true],
    ]);
    const find = (scope: string, host: string, id: string) => report.findings.find((f) => f.scope === scope && f.host === host && f.id === id);
    // Host checks, by the documented ids.
    for (const host of ['inflames', 'incubus']) {
      for (const id of ['hotfixes', 'dell-utility-partition', 'partition-layout', 'blobs', 'disk-space', 'rc-local', 'clock']) expect(find('host', host, id), `${host} ${id}`).toBeDefined();
    }
    expect(find('host', 'incubus', 'dell-utility-partition')).toMatchObject({ severity: 'blocker' });
    expect(find('host', 'incubus', 'dell-utility-partition')?.fix).toContain('fdisk /dev/disk/by-id/scsi-SATA_demo_incubus');
    expect(find('host', 'inflames', 'dell-utility-partition')).toMatchObject({ severity: 'info' });
    expect(find('host', 'inflames', 'partition-layout')?.details).toMatchObject({ kind: 'partitionLayout', layout: 'xs7-gpt' });
    expect(find('host', 'incubus', 'partition-layout')?.details).toMatchObject({ kind: 'partitionLayout', layout: 'legacy-4g' });
    expect(find('host', 'inflames', 'blobs')?.details).toMatchObject({ kind: 'blobs', files: 300, externalLinks: 1 });
    // Pool checks: the dump's Demo VM on local storage, the hotfix only inflames has, no metadata backup.
    expect(find('pool', 'inflames', 'evacuation')?.summary).toMatch(/Demo \(VM_REQUIRES_SR\)/);
    expect(find('pool', '', 'hotfix-uniformity')).toMatchObject({ severity: 'blocker', summary: expect.stringContaining('incubus lacks XS70E002') });
    expect(find('pool', '', 'metadata-backup')).toMatchObject({ severity: 'blocker' });
    expect(find('pool', '', 'ha')).toMatchObject({ severity: 'info' });
  });

  it('prints one table for people, with the fixes, and viewers may not take a backup', async () => {
    const r = await xsctl(['precheck', '--pool', 'boston'], pool.viewerEnv);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/^SCOPE\s+CHECK\s+SEVERITY\s+SUMMARY/);
    expect(r.stdout).toMatch(/incubus\s+dell-utility-partition\s+BLOCKER/);
    expect(r.stdout).toMatch(/pool\/inflames\s+evacuation\s+BLOCKER/);
    expect(r.stdout).toMatch(/fix: delete \S+1 before upgrading, as the field report did/);
    expect(r.stdout).toMatch(/blocker\(s\).*do not upgrade yet/);
    const denied = await xsctl(['precheck', '--pool', 'boston', '--backup-metadata'], pool.viewerEnv);
    // 3: refused (docs/CLI.md exit codes).
    expect(denied.exitCode).toBe(3);
    expect(denied.stderr).toMatch(/PERMISSION_DENIED/);
  });

  it('takes a metadata backup through /pool/xmldbdump as an operator', async () => {
    const r = await xsctl(['precheck', '--pool', 'boston', '--backup-metadata', '--json'], pool.operatorEnv);
    expect(r.stderr).toMatch(/saved \d+ bytes to .*metadata-backups\/boston\/pool-\d{8}T\d{6}Z\.xml/);
    const report = JSON.parse(r.stdout) as JsonReport;
    expect(report.findings.find((f) => f.id === 'metadata-backup')).toMatchObject({ severity: 'info' });
    const file = /saved \d+ bytes to (\S+)/.exec(r.stderr)![1]!;
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readFile(file, 'utf8')).toContain('name__label="Demo"');
  });
});

describe('xsctl blobs', () => {
  it('scans, cleans (dry run first, operators only) and undoes, never touching the link out of the tree', async () => {
    const linkPath = join(root('inflames'), 'var/lib/xcp/blobs/messages/uuid/outside');
    const before = { content: await readFile(outsideFile, 'utf8'), mtime: (await stat(outsideFile)).mtimeMs, link: await readlink(linkPath) };
    const scan = await xsctl(['blobs', 'scan', '--host', 'inflames'], pool.viewerEnv);
    expect(scan.exitCode, scan.stderr).toBe(0);
    expect(scan.stdout).toMatch(/300 files/);
    expect(scan.stdout).toMatch(/1 leaving the tree/);

    const dry = await xsctl(['blobs', 'clean', '--host', 'inflames', '--older-than', '90d'], pool.operatorEnv);
    expect(dry.stdout).toMatch(/dry run: would move 300 message file\(s\) older than 90 days .* and 300 link\(s\)/);
    expect((await lstat(join(root('inflames'), 'var/lib/xcp/blobs/messages/uuid/m-0'))).isSymbolicLink()).toBe(true);

    const denied = await xsctl(['blobs', 'clean', '--host', 'inflames', '--yes'], pool.viewerEnv);
    expect(denied.exitCode).toBe(3);

    const done = await xsctl(['blobs', 'clean', '--host', 'inflames', '--older-than', '90d', '--yes', '--json'], pool.operatorEnv);
    expect(done.exitCode, done.stderr).toBe(0);
    const res = JSON.parse(done.stdout) as { host: string; result: { quarantineId: string; files: number; skippedExternalLinks: number } };
    expect(res.result).toMatchObject({ files: 300, skippedExternalLinks: 1 });
    await expect(lstat(join(root('inflames'), 'var/lib/xcp/blobs/messages/uuid/m-0'))).rejects.toThrow();
    expect(await readlink(linkPath)).toBe(before.link);
    expect(await readFile(outsideFile, 'utf8')).toBe(before.content);

    const undo = await xsctl(['blobs', 'undo', '--host', 'inflames', '--id', res.result.quarantineId, '--yes'], pool.operatorEnv);
    expect(undo.exitCode, undo.stderr).toBe(0);
    expect(undo.stdout).toMatch(/put back 600 entries; quarantine removed/);
    expect((await lstat(join(root('inflames'), 'var/lib/xcp/blobs/messages/uuid/m-0'))).isSymbolicLink()).toBe(true);
    expect(await readlink(linkPath)).toBe(before.link);
    expect(await readFile(outsideFile, 'utf8')).toBe(before.content);
    expect((await stat(outsideFile)).mtimeMs).toBe(before.mtime);
  }, 120_000);
});

describe('xsctl-agent precheck', () => {
  it('runs the host checks locally on a tree and a disk image, without a server', async () => {
    const image = join(root('incubus'), 'dev/disk/by-id/scsi-SATA_demo_incubus');
    const r = await run('xsctl-agent', ['precheck', '--root', root('inflames'), '--boot-disk', image, '--json']);
    expect(r.exitCode, r.stderr).toBe(1);
    const out = JSON.parse(r.stdout) as { root: string; blockers: number; findings: Array<{ id: string; severity: string; details?: Record<string, unknown> }> };
    expect(out.root).toBe(root('inflames'));
    expect(out.findings.map((f) => f.id)).toEqual(['hotfixes', 'dell-utility-partition', 'partition-layout', 'blobs', 'disk-space', 'rc-local', 'clock', 'customisations']);
    expect(out.findings.find((f) => f.id === 'dell-utility-partition')).toMatchObject({ severity: 'blocker', details: { kind: 'dellUtility', blocksBootloader: true } });
    expect(out.findings.find((f) => f.id === 'hotfixes')?.details).toMatchObject({ kind: 'hotfixes', hotfixes: [{ nameLabel: 'XS70E002', uuid: '12acfd0a-0246-4fa7-ba00-2d0e474b3650' }] });

    const text = await run('xsctl-agent', ['precheck', '--root', root('inflames'), '--checks', 'hotfixes,clock']);
    expect(text.exitCode).toBe(0);
    expect(text.stdout).toMatch(/INFO\s+hotfixes\s+1 hotfix\(es\) applied: XS70E002/);
    expect(text.stderr).toContain('no blockers');
  });
});
