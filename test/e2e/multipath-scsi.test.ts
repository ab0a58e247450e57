import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulatedPool, type SimulatedPool } from '../src/demo/start-simulated-pool.js';
import { tempDir } from '@xsctl/common/testing/temp-dir';

// Issue 3 end to end through the real parts: `npx xsctl` -> controller (mTLS) -> agent (mTLS) on
// a sandbox root -> real `multipath -t` in a private mount namespace (the agent's Node helper
// under `unshare`), and the real SCSI decoders over sysfs bytes.
// Simulated, because this machine has no SAN: the sysfs tree of one DELL MD36xxi LUN with two
// paths (INQUIRY as in the seed blog's `sg_inq`: TPGS=0 while the array runs IOSHIP), and the
// kernel's rdac lines in /var/log/kern.log (format of the seed's /var/log/messages).
// Writing needs root (mount namespaces): only those steps skip when not root.

const repo = join(import.meta.dirname, '..', '..');
const demoPool = join(repo, 'test', 'fixtures', 'demo-pool.yaml');
const isRoot = process.getuid?.() === 0;
let pool: SimulatedPool;

// `npx xsctl` exactly as an admin runs it from the repo root.
const xsctl = (args: string[], env: Record<string, string>) =>
  execa('npx', ['--no-install', 'xsctl', ...args], { cwd: repo, env: { ...env, PATH: process.env['PATH'] ?? '' }, extendEnv: false, reject: false });

// A XenServer 7 multipath.conf edited by hand: comments, defaults, an unrelated blacklist and an
// unrelated device. `replace_wwid_whitespace` is a 0.4.9 keyword that this machine's
// multipath-tools rejects: a known issue before and after the apply, never a new one.
const blacklistSection = [
  '# HA-Lizard: never multipath the DRBD devices or the local disk.',
  'blacklist {',
  '\tdevnode "^(ram|raw|loop|fd|md|dm-|sr|scd|st|nbd|drbd)[0-9]*"\t! DRBD and friends',
  '\twwid "SATA_demo_xs-demo-1"',
  '\tdevice {',
  '\t\tvendor\t"HP"',
  '\t\tproduct\t"LOGICAL VOLUME"',
  '\t}',
  '}',
  '',
].join('\n');
const xs7Conf = [
  '# /etc/multipath.conf on xs-demo-1 (XenServer 7.1). Edited by hand: keep these comments.',
  '# The SR LUNs come from a DELL MD3600i; its stanza is managed by xsctl.',
  'defaults {',
  '\tuser_friendly_names\tno',
  '\treplace_wwid_whitespace\tyes',
  '\tdev_loss_tmo\t30',
  '}',
  '',
  blacklistSection,
  'devices {',
  '\t# The local RAID controller, unrelated to the SAN.',
  '\tdevice {',
  '\t\tvendor\t"ACME"',
  '\t\tproduct\t"2.5"" SSD"',
  '\t\tpath_grouping_policy\tfailover',
  '\t}',
  '}',
  '',
].join('\n');

// DELL MD36xxi standard INQUIRY (74 bytes), as `sg_inq` prints it in the seed blog: version 5,
// NormACA HiSUP RDF=2, TPGS=0, 3PC, EncServ MultiP, WBus16 Sync CmdQue.
const md36Inquiry = (() => {
  const b = Buffer.alloc(74);
  b.set([0x00, 0x00, 0x05, 0x32, 0x45, 0x08, 0x50, 0x32]);
  b.write('DELL    MD36xxi         0784', 8, 'latin1');
  return b;
})();
const naa = '6782bcb0002c039d00005f7851dd65de';
const wwid = `3${naa}`;
// VPD 0x83 with one designator: NAA (type 3), binary, associated with the logical unit.
const md36Vpd83 = Buffer.concat([Buffer.from([0x00, 0x83, 0x00, 0x14, 0x01, 0x03, 0x00, 0x10]), Buffer.from(naa, 'hex')]);
// sdb reaches the LUN through the non-owning controller, sdc through the owning one.
const lunPaths = [
  { dev: 'sdb', hctl: '9:0:0:0', accessState: 'active/non-optimized', owned: false },
  { dev: 'sdc', hctl: '10:0:0:0', accessState: 'active/optimized', owned: true },
];

async function prepareXs7Root(root: string): Promise<void> {
  await mkdir(join(root, 'etc/multipath'), { recursive: true });
  await writeFile(join(root, 'etc/multipath.conf'), xs7Conf);
  for (const p of lunPaths) {
    const dev = join(root, 'sys/block', p.dev, 'device');
    await mkdir(join(dev, 'scsi_device', p.hctl), { recursive: true });
    await writeFile(join(dev, 'inquiry'), md36Inquiry);
    await writeFile(join(dev, 'vpd_pg83'), md36Vpd83);
    await writeFile(join(dev, 'access_state'), `${p.accessState}\n`);
    await writeFile(join(dev, 'dh_state'), 'rdac\n');
    await mkdir(join(root, 'sys/block/dm-0/slaves', p.dev), { recursive: true });
  }
  await mkdir(join(root, 'sys/block/dm-0/dm'), { recursive: true });
  await writeFile(join(root, 'sys/block/dm-0/dm/name'), `${wwid}\n`);
  await writeFile(join(root, 'sys/block/dm-0/dm/uuid'), `mpath-${wwid}\n`);
  await mkdir(join(root, 'var/log'), { recursive: true });
  await writeFile(
    join(root, 'var/log/kern.log'),
    lunPaths.map((p, i) => `Mar 11 09:45:4${6 + i} xs-demo-1 kernel: [   7${1 + i}.385835] scsi ${p.hctl}: rdac: LUN 0 (IOSHIP) (${p.owned ? 'owned' : 'unowned'})\n`).join(''),
  );
}

const confOf = (hostname: string) => join(pool.hosts.find((h) => h.hostname === hostname)?.root ?? '/nonexistent', 'etc/multipath.conf');
const backupsOf = (hostname: string) =>
  readdir(join(pool.hosts.find((h) => h.hostname === hostname)?.root ?? '/nonexistent', 'var/lib/xsctl-agent/backups/multipath')).catch(() => [] as string[]);
const apply = ['multipath', 'apply', '--profile', 'dell-md36xx-alua', '--host', 'xs-demo-1'];

interface ApplyJson {
  ok: boolean;
  hosts: { host: string; skipped: boolean; error?: { code: string }; result?: { targetPath: string; changed: boolean; dryRun: boolean; diff: string; backupPath: string; validation?: { ok: boolean; issues: string[]; newIssues: string[]; mode: string } } }[];
}

beforeAll(async () => {
  const dir = await tempDir('xsctl-e2e-mpscsi-');
  pool = await startSimulatedPool({
    dir,
    source: { pool: demoPool },
    agentPort: 17643,
    prepareRoot: async (hostname, root) => {
      if (hostname === 'xs-demo-1') await prepareXs7Root(root);
    },
  });
}, 120_000);

afterAll(async () => {
  await pool?.stop();
});

describe('xsctl multipath and scsi through the controller and agents', () => {
  it('lists the profiles offline and, for a host, translated for its multipath-tools', async () => {
    const offline = await xsctl(['multipath', 'profiles', '--json'], pool.viewerEnv);
    expect(offline.exitCode, offline.stderr).toBe(0);
    const names = (JSON.parse(offline.stdout) as { profiles: { name: string }[] }).profiles.map((p) => p.name);
    expect(names).toEqual(expect.arrayContaining(['euronas-essm', 'starwind', 'hp-p4000', 'dell-md36xx-rdac', 'dell-md36xx-alua', 'emc-dgc', 'netapp']));

    const forHost = await xsctl(['multipath', 'profiles', '--host', 'xs-demo-1', '--json'], pool.viewerEnv);
    expect(forHost.exitCode, forHost.stderr).toBe(0);
    const res = JSON.parse(forHost.stdout) as { host: string; result: { platform: { flavor: string; productVersion: string }; profiles: { name: string; notes: { key: string; action: string }[] }[] } };
    expect(res.host).toBe('xs-demo-1');
    expect(res.result.platform).toMatchObject({ flavor: 'xs7-0.4.9', productVersion: '7.1.0' });
    expect(res.result.profiles.map((p) => p.name)).toEqual(names);
  });

  it('shows the hand-edited file and no profile in place yet', async () => {
    const r = await xsctl(['multipath', 'show', '--host', 'xs-demo-1', '--json'], pool.viewerEnv);
    expect(r.exitCode, r.stderr).toBe(0);
    const host = (JSON.parse(r.stdout) as { hosts: { host: string; config: { files: { path: string; content: string }[]; devices: { vendor: string; product: string }[]; appliedProfiles: string[] } }[] }).hosts[0];
    expect(host?.config.files.find((f) => f.path === '/etc/multipath.conf')?.content).toBe(xs7Conf);
    expect(host?.config.devices.map((d) => [d.vendor, d.product])).toEqual([['ACME', '2.5" SSD']]);
    expect(host?.config.appliedProfiles).toEqual([]);
  });

  it('without --yes prints the diff and writes nothing', async () => {
    const r = await xsctl(apply, pool.operatorEnv);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('== xs-demo-1: /etc/multipath.conf (XenServer 7.x');
    expect(r.stdout).toContain('dry run (nothing written; --yes applies)');
    expect(r.stdout).toMatch(/^\+\t\tvendor "DELL"$/m);
    expect(r.stdout).toMatch(/^\+\t\tproduct "MD36xx\(i\|f\)"$/m);
    expect(r.stdout).toMatch(/^\+\t\tprio rdac$/m);
    expect(r.stdout).not.toMatch(/^-[^-]/m);
    expect(await readFile(confOf('xs-demo-1'), 'utf8')).toBe(xs7Conf);
    expect(await backupsOf('xs-demo-1')).toEqual([]);
  });

  it("refuses a viewer's apply (PERMISSION_DENIED), dry run or not, and writes nothing", async () => {
    for (const args of [[...apply, '--yes'], apply]) {
      const r = await xsctl(args, pool.viewerEnv);
      expect(r.exitCode).not.toBe(0);
      expect(r.stderr).toMatch(/PERMISSION_DENIED: demo-viewer \(viewer\) is not allowed: needs the operator role/);
      expect(r.stdout).toBe('');
    }
    expect(await readFile(confOf('xs-demo-1'), 'utf8')).toBe(xs7Conf);
    expect(await backupsOf('xs-demo-1')).toEqual([]);
  });

  it.skipIf(!isRoot)('with --yes merges the stanza, keeps everything else byte-for-byte, keeps a backup; validated by the real multipath -t', async () => {
    const r = await xsctl([...apply, '--yes', '--json'], pool.operatorEnv);
    expect(r.exitCode, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout) as ApplyJson;
    expect(res.ok).toBe(true);
    const out = res.hosts[0]?.result;
    expect(out).toMatchObject({ targetPath: '/etc/multipath.conf', changed: true, dryRun: false });
    // The real multipath -t read the sandbox file: it flags the 0.4.9 keyword on line 5, before and after.
    expect(out?.validation).toMatchObject({ ok: true, newIssues: [], mode: 'namespace' });
    expect(out?.validation?.issues.join('\n')).toMatch(/\/etc\/multipath\.conf line 5, invalid keyword.*: replace_wwid_whitespace/);

    const after = await readFile(confOf('xs-demo-1'), 'utf8');
    // Only lines were added, in one block, inside the existing devices section.
    const diffLines = (out?.diff ?? '').split('\n');
    expect(diffLines.filter((l) => l.startsWith('-') && !l.startsWith('---'))).toEqual([]);
    const added = diffLines.filter((l) => l.startsWith('+') && !l.startsWith('+++')).map((l) => `${l.slice(1)}\n`).join('');
    expect(added).toMatch(/^\tdevice \{\n\t\tvendor "DELL"\n\t\tproduct "MD36xx\(i\|f\)"\n/);
    expect(added).toContain('\t\thardware_handler "1 rdac"\n');
    expect(added).toContain('\t\tdetect_prio yes\n\t\tretain_attached_hw_handler yes\n');
    expect(after).toContain(added);
    expect(after.replace(added, '')).toBe(xs7Conf);
    // Comments and the unrelated blacklist section, byte for byte.
    expect(after.startsWith(xs7Conf.slice(0, xs7Conf.indexOf('devices {')))).toBe(true);
    expect(after).toContain(blacklistSection);
    expect(after).toContain('\t# The local RAID controller, unrelated to the SAN.\n\tdevice {\n\t\tvendor\t"ACME"\n\t\tproduct\t"2.5"" SSD"\n');
    expect(after.indexOf('vendor "DELL"')).toBeGreaterThan(after.indexOf('devices {'));

    // The backup holds the old bytes.
    expect(out?.backupPath).toMatch(/^\/var\/lib\/xsctl-agent\/backups\/multipath\/multipath\.conf\./);
    const hostRoot = pool.hosts.find((h) => h.hostname === 'xs-demo-1')?.root ?? '';
    expect(await readFile(join(hostRoot, out?.backupPath ?? ''), 'utf8')).toBe(xs7Conf);
    expect(await backupsOf('xs-demo-1')).toHaveLength(1);
    // Nothing was staged next to the file, and the other hosts are untouched.
    expect((await readdir(join(hostRoot, 'etc'))).filter((n) => n.includes('multipath'))).toEqual(['multipath', 'multipath.conf']);
    await expect(readFile(confOf('xs-demo-2'), 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });

    // A second --yes finds nothing to change.
    const again = await xsctl([...apply, '--yes'], pool.operatorEnv);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).toContain('no change: the profile is already applied');
    expect(await readFile(confOf('xs-demo-1'), 'utf8')).toBe(after);
    expect(await backupsOf('xs-demo-1')).toHaveLength(1);

    // show reads it back through the agent.
    const show = await xsctl(['multipath', 'show', '--host', 'xs-demo-1', '--json'], pool.viewerEnv);
    expect(show.exitCode, show.stderr).toBe(0);
    const host = (JSON.parse(show.stdout) as { hosts: { config: { files: { path: string; content: string }[]; devices: { file: string; vendor: string; product: string; entries: { key: string; value: string }[] }[]; appliedProfiles: string[] } }[] }).hosts[0];
    expect(host?.config.files.find((f) => f.path === '/etc/multipath.conf')?.content).toBe(after);
    expect(host?.config.appliedProfiles).toContain('dell-md36xx-alua');
    const dell = host?.config.devices.find((d) => d.vendor === 'DELL');
    expect(dell).toMatchObject({ file: '/etc/multipath.conf', product: 'MD36xx(i|f)' });
    expect(dell?.entries).toEqual(expect.arrayContaining([{ key: 'prio', value: 'rdac' }, { key: 'hardware_handler', value: '1 rdac' }, { key: 'detect_prio', value: 'yes' }]));
    expect(host?.config.devices.map((d) => d.vendor)).toEqual(['ACME', 'DELL']);
  }, 90_000); // three multipath -t runs in a namespace now (baseline, the candidate before it goes live, after the write)

  it('scsi alua: the MD36xxi LUN runs IOSHIP with TPGS=0, sdc optimized, sdb not (sysfs and kernel log)', async () => {
    const r = await xsctl(['scsi', 'alua', '--host', 'xs-demo-1', '--json'], pool.viewerEnv);
    expect(r.exitCode, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout) as {
      hosts: { host: string; result: { warnings: string[]; luns: { name: string; wwid: string; vendor: string; product: string; mode: string; aluaInUse: boolean; tpgs: number; optimizedPaths: string[]; nonOptimizedPaths: string[]; evidence: string[]; paths: Record<string, unknown>[] }[] } }[];
    };
    expect(res.hosts.map((h) => h.host)).toEqual(['xs-demo-1']);
    const luns = res.hosts[0]?.result.luns ?? [];
    expect(luns).toHaveLength(1);
    expect(luns[0]).toMatchObject({ name: wwid, wwid, vendor: 'DELL', product: 'MD36xxi', mode: 'IOSHIP', aluaInUse: true, tpgs: 0, optimizedPaths: ['sdc'], nonOptimizedPaths: ['sdb'] });
    expect(luns[0]?.evidence).toEqual(expect.arrayContaining(['INQUIRY TPGS=0 (no ALUA reported)', 'kernel: scsi 9:0:0:0: rdac: LUN 0 (IOSHIP) (unowned)']));
    const byDev = Object.fromEntries((luns[0]?.paths ?? []).map((p) => [p['device'], p]));
    expect(byDev['/dev/sdc']).toMatchObject({ hctl: '10:0:0:0', accessState: 'active/optimized', aluaState: 'active/optimized', aluaStateSource: 'sysfs', dhState: 'rdac', vpd83: { naa }, kernelLog: { owned: true, mode: 'IOSHIP' } });
    expect(byDev['/dev/sdb']).toMatchObject({ hctl: '9:0:0:0', accessState: 'active/non-optimized', aluaState: 'active/non-optimized', aluaStateSource: 'sysfs', kernelLog: { owned: false, mode: 'IOSHIP' } });
    expect(res.hosts[0]?.result.warnings).toContain(`maps from sysfs (dm/uuid mpath-*): ${wwid}; no path groups to check`);

    // The same LUN named by its map, and the table an admin reads.
    const one = await xsctl(['scsi', 'alua', '--host', 'xs-demo-1', '--device', `/dev/mapper/${wwid}`], pool.viewerEnv);
    expect(one.exitCode, one.stderr).toBe(0);
    expect(one.stdout).toContain('mode: IOSHIP  ALUA in use: yes  TPGS: 0');
    expect(one.stdout).toContain('optimized: sdc   other: sdb');
    expect(one.stdout).toMatch(/\/dev\/sdc\s+10:0:0:0\s+active\/optimized\s+sysfs/);

    // A device path outside the allow-list never reaches a tool.
    const bad = await xsctl(['scsi', 'alua', '--host', 'xs-demo-1', '--device', '/dev/sda;reboot', '--json'], pool.viewerEnv);
    expect(bad.exitCode).not.toBe(0);
    expect(`${bad.stdout}${bad.stderr}`).toMatch(/VALIDATION_FAILED/);
  });
});
