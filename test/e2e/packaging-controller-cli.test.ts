import { readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulatedPool, type SimulatedPool } from '../src/demo/start-simulated-pool.js';
import { tempDir } from '@xsctl/common/testing/temp-dir';

/**
 * The controller packages and the CLI tarball as an admin installs them: the .deb unpacked by
 * dpkg-deb into a scratch root (its control data checked), the service started the way its unit
 * says (the unit's ExecStart program from that root) against the XAPI simulator under Node 20
 * (this machine's), 22 and 24 (the pinned runtimes of packaging/node-runtimes.json, fetched and
 * checked by the build into ~/.cache/xsctl), and the CLI installed with `npm install -g` into a
 * temporary prefix and run from outside the repo under each of them.
 */

const repo = join(import.meta.dirname, '..', '..');
interface Runtime {
  major: number;
  abi: string;
  node?: string;
}
let built: { deb: string; rpm: string; cli: string; nodeMajors: number[]; nodeRuntimes: Runtime[] };
let root: string;
let prefix: string;
let pool: SimulatedPool | undefined;

beforeAll(async () => {
  const out = await tempDir('xsctl-ctl-pkg-');
  built = JSON.parse((await execa(process.execPath, [join(repo, 'packaging', 'build-controller-cli.mjs'), '--out', out])).stdout) as typeof built;
  root = await tempDir('xsctl-ctl-root-');
  await execa('dpkg-deb', ['-x', built.deb, root]);
  prefix = await tempDir('xsctl-cli-prefix-');
  await execa('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', built.cli], { cwd: tmpdir() });
}, 1_800_000); // a cold ~/.cache/xsctl compiles better-sqlite3 for Node 22 and 24

afterAll(async () => {
  await pool?.stop();
});

/** The newest GLIBC_x symbol version that the ELF files need, read with objdump -T. */
async function newestGlibc(files: string[]): Promise<string> {
  const all: string[] = [];
  for (const f of files) for (const m of (await execa('objdump', ['-T', f])).stdout.matchAll(/\(GLIBC_([0-9.]+)\)/g)) all.push(m[1] ?? '');
  return all.sort((a, b) => a.localeCompare(b, 'en', { numeric: true })).at(-1) ?? '';
}

const addons = (treeRoot: string, abis: string[]) => abis.map((abi) => join(treeRoot, `usr/lib/xsctl/controller/node_modules/better-sqlite3/lib/binding/node-v${abi}-linux-x64/better_sqlite3.node`));

describe('controller packages', () => {
  it('the .deb: system service files, a 0640 conffile, Node 20 to 24, the glibc its addons need', async () => {
    expect(built.nodeMajors).toEqual([20, 22, 24]);
    const info = (await execa('dpkg-deb', ['-I', built.deb])).stdout;
    expect(info).toMatch(/Depends: nodejs \(>= 20\), nodejs \(<< 25\), /);
    const glibc = await newestGlibc(addons(root, ['115', '127', '137']));
    expect(glibc).not.toBe('');
    expect(info).toContain(`libc6 (>= ${glibc})`);
    expect((await execa('dpkg-deb', ['-f', built.deb, 'Package'])).stdout.trim()).toBe('xsctl-controller');
    const contents = (await execa('dpkg-deb', ['-c', built.deb])).stdout;
    expect(contents).toMatch(/^-rw-r----- root\/root .* \.\/etc\/xsctl\/controller\.yaml$/m);
    expect(contents).toMatch(/\.\/usr\/lib\/systemd\/system\/xsctl-controller\.service$/m);
    const control = await tempDir('xsctl-deb-control-');
    await execa('dpkg-deb', ['-e', built.deb, control]);
    expect((await readFile(join(control, 'conffiles'), 'utf8')).trim()).toBe('/etc/xsctl/controller.yaml');
    const postinst = await readFile(join(control, 'postinst'), 'utf8');
    expect(postinst).toMatch(/useradd --system/);
    expect(postinst).toMatch(/chmod 0640 \/etc\/xsctl\/controller\.yaml/);
    await expect(execa('sh', ['-n', join(control, 'postinst')])).resolves.toMatchObject({ exitCode: 0 });
    const unit = await readFile(join(root, 'usr/lib/systemd/system/xsctl-controller.service'), 'utf8');
    expect(unit).toMatch(/^User=xsctl$/m);
    expect(unit).toMatch(/^StateDirectory=xsctl$/m);
    expect((await stat(join(root, 'etc/xsctl/controller.yaml'))).mode & 0o777).toBe(0o640);
  });

  it('the EL9 RPM: same files, config noreplace 0640 root:xsctl, its own user, systemd scriptlets, the glibc its addons need', async () => {
    const list = (await execa('rpm', ['-qlvp', built.rpm])).stdout;
    expect(list).toMatch(/^-rw-r----- .* root +xsctl .* \/etc\/xsctl\/controller\.yaml$/m);
    expect(list).toMatch(/^drwxr-x--- .* xsctl +xsctl .* \/var\/lib\/xsctl$/m);
    for (const abi of ['115', '127', '137']) expect(list).toContain(`/better-sqlite3/lib/binding/node-v${abi}-linux-x64/better_sqlite3.node`);
    expect((await execa('rpm', ['-qcp', built.rpm])).stdout.trim()).toBe('/etc/xsctl/controller.yaml');
    const requires = (await execa('rpm', ['-qp', '--requires', built.rpm])).stdout;
    expect(requires).toMatch(/^nodejs >= 1:20$/m);
    expect(requires).toMatch(/^nodejs < 1:25$/m);
    // rpmbuild's ELF dependency generator names the addons' newest glibc, so EL8 (2.28) refuses the package.
    const payload = await tempDir('xsctl-ctl-rpm-payload-');
    await execa('sh', ['-c', 'rpm2cpio "$1" | cpio -idm --quiet', 'sh', built.rpm], { cwd: payload });
    const glibc = await newestGlibc(addons(payload, ['115', '127', '137']));
    expect(requires).toMatch(new RegExp(`^libc\\.so\\.6\\(GLIBC_${glibc.replaceAll('.', '\\.')}\\)\\(64bit\\)$`, 'm'));
    const scripts = (await execa('rpm', ['-qp', '--scripts', built.rpm])).stdout;
    expect(scripts).toMatch(/useradd -r -g xsctl/);
  });

  it('the launcher runs the bundle its unit names', async () => {
    const unit = await readFile(join(root, 'usr/lib/systemd/system/xsctl-controller.service'), 'utf8');
    const execStart = /^ExecStart=(\S+) (.*)$/m.exec(unit);
    expect(execStart?.[1]).toBe('/usr/bin/xsctl-controller');
    const launcher = await readFile(join(root, 'usr/bin/xsctl-controller'), 'utf8');
    expect(/exec node (\S+) "\$@"/.exec(launcher)?.[1]).toBe('/usr/lib/xsctl/controller/xsctl-controller.mjs');
  });

  for (const major of [20, 22, 24]) {
    it(`under Node ${major}: the service starts against the XAPI simulator with its ABI's better-sqlite3, and the installed CLI answers \`xsctl hosts\``, async () => {
      const runtime = built.nodeRuntimes.find((r) => r.major === major);
      expect(runtime, `no Node ${major} among ${JSON.stringify(built.nodeRuntimes)}`).toBeDefined();
      const node = runtime?.node ?? process.execPath;
      expect((await execa(node, ['-p', 'process.versions.modules'])).stdout.trim()).toBe(runtime?.abi);
      await pool?.stop();
      const dir = await tempDir('xsctl-pkg-pool-');
      pool = await startSimulatedPool({ dir, source: { pool: join(repo, 'test', 'fixtures', 'demo-pool.yaml') }, agentPort: 21000 + ((process.pid + major) % 20000), controllerScript: join(root, 'usr/lib/xsctl/controller/xsctl-controller.mjs'), controllerRuntime: node });
      // The journal is open: the addon of this Node's ABI is mapped, no other.
      const maps = await readFile(`/proc/${String(pool.controllerPid)}/maps`, 'utf8');
      const loaded = [...new Set([...maps.matchAll(/lib\/binding\/(node-v\d+-linux-x64)\/better_sqlite3\.node/g)].map((m) => m[1]))];
      expect(loaded).toEqual([`node-v${runtime?.abi ?? ''}-linux-x64`]);
      const r = await execa(node, [join(prefix, 'bin', 'xsctl'), 'hosts', '--json'], { cwd: tmpdir(), env: { ...pool.operatorEnv, PATH: process.env['PATH'] ?? '' }, extendEnv: false, reject: false });
      expect(r.exitCode, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as { hosts: { xapi: Record<string, unknown>; agent: Record<string, unknown> }[] };
      expect(out.hosts.map((h) => h.xapi['nameLabel'])).toEqual(['xs-demo-1', 'xs-demo-2', 'xs-demo-3']);
      expect(out.hosts.every((h) => h.agent['state'] === 'ok')).toBe(true);
    }, 180_000);
  }

  it('a Node whose ABI the package lacks gets a plain refusal, not a loader stack', async () => {
    // Node 20's ABI with the addon removed stands in for an unsupported major.
    const copy = await tempDir('xsctl-ctl-noabi-');
    await execa('cp', ['-a', join(root, 'usr'), copy]);
    const bundle = join(copy, 'usr/lib/xsctl/controller/xsctl-controller.mjs');
    const text = await readFile(bundle, 'utf8');
    await writeFile(bundle, text.replace(`.includes(process.versions.modules)`, `.filter((a) => a !== '${process.versions.modules}').includes(process.versions.modules)`));
    const r = await execa(process.execPath, [bundle, '--config', '/nonexistent.yaml'], { reject: false });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toBe(`xsctl-controller: Node ${process.version} is not supported; this package runs on Node 20, 22, 24`);
  });
});

describe('CLI tarball (npm install -g ./xsctl-cli-VERSION.tgz)', () => {
  it('works outside the repo: decode, and upgrade --plan --from-dump with no controller', async () => {
    const xsctl = join(prefix, 'bin', 'xsctl');
    const env = { PATH: process.env['PATH'] ?? '', HOME: tmpdir() };
    const version = (JSON.parse(await readFile(join(repo, 'cli', 'package.json'), 'utf8')) as { version: string }).version;
    expect((await execa(xsctl, ['--version'], { cwd: tmpdir(), env, extendEnv: false })).stdout.trim()).toBe(version);
    const decoded = JSON.parse((await execa(xsctl, ['decode', 'multipath-ll', join(repo, 'agent/src/multipath/__fixtures__/old-bracket-format.txt'), '--json'], { cwd: tmpdir(), env, extendEnv: false })).stdout) as { maps: { name: string; wwid: string }[] };
    // The fixture's first map, read off the captured text.
    expect(decoded.maps[0]).toMatchObject({ name: 'orabase.lun50', wwid: '360a9800043346937686f456f59386741' });
    const plan = await execa(xsctl, ['upgrade', '--rolling', '--plan', '--from-dump', join(repo, '..', 'shared', 'fixtures', 'xapi-db', 'boston-db.xml'), '--json'], { cwd: tmpdir(), env, extendEnv: false, reject: false });
    expect(plan.stderr).not.toMatch(/SIMULATOR_MISSING/);
    const report = JSON.parse(plan.stdout) as { pool: string; hosts: { name: string }[] };
    expect(report.hosts.map((h) => h.name)).toContain('inflames');
  });

  for (const major of [22, 24]) {
    it(`upgrade --plan --from-dump under Node ${major}`, async () => {
      const node = built.nodeRuntimes.find((r) => r.major === major)?.node ?? '';
      expect(node).not.toBe('');
      const r = await execa(node, [join(prefix, 'bin', 'xsctl'), 'upgrade', '--rolling', '--plan', '--from-dump', join(repo, '..', 'shared', 'fixtures', 'xapi-db', 'boston-db.xml'), '--json'], { cwd: tmpdir(), reject: false });
      expect(r.stderr).toBe('');
      expect((JSON.parse(r.stdout) as { hosts: { name: string }[] }).hosts.map((h) => h.name)).toContain('inflames');
    });
  }
});
