import { mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulatedPool, type SimulatedPool } from '../src/demo/start-simulated-pool.js';

/**
 * The controller packages and the CLI tarball as an admin installs them: the .deb unpacked by
 * dpkg-deb into a scratch root (its control data checked), the service started the way its unit
 * says (the unit's ExecStart program from that root) against the XAPI simulator, and the CLI
 * installed with `npm install -g` into a temporary prefix and run from outside the repo.
 */

const repo = join(import.meta.dirname, '..', '..');
let built: { deb: string; rpm: string; cli: string; node: number };
let root: string;
let prefix: string;
let pool: SimulatedPool | undefined;

beforeAll(async () => {
  const out = await mkdtemp(join(tmpdir(), 'xsctl-ctl-pkg-'));
  built = JSON.parse((await execa(process.execPath, [join(repo, 'packaging', 'build-controller-cli.mjs'), '--out', out])).stdout) as typeof built;
  root = await mkdtemp(join(tmpdir(), 'xsctl-ctl-root-'));
  await execa('dpkg-deb', ['-x', built.deb, root]);
  prefix = await mkdtemp(join(tmpdir(), 'xsctl-cli-prefix-'));
  await execa('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', built.cli], { cwd: tmpdir() });
}, 600_000);

afterAll(async () => {
  await pool?.stop();
});

describe('controller packages', () => {
  it('the .deb: system service files, a 0640 conffile, a nodejs dependency of the ABI it was built for', async () => {
    const info = (await execa('dpkg-deb', ['-I', built.deb])).stdout;
    expect(info).toMatch(new RegExp(`Depends: nodejs \\(>= ${built.node}\\), nodejs \\(<< ${built.node + 1}\\)`));
    expect((await execa('dpkg-deb', ['-f', built.deb, 'Package'])).stdout.trim()).toBe('xsctl-controller');
    const contents = (await execa('dpkg-deb', ['-c', built.deb])).stdout;
    expect(contents).toMatch(/^-rw-r----- root\/root .* \.\/etc\/xsctl\/controller\.yaml$/m);
    expect(contents).toMatch(/\.\/usr\/lib\/systemd\/system\/xsctl-controller\.service$/m);
    const control = await mkdtemp(join(tmpdir(), 'xsctl-deb-control-'));
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

  it('the EL8/EL9 RPM: same files, config noreplace 0640 root:xsctl, its own user, systemd scriptlets', async () => {
    const list = (await execa('rpm', ['-qlvp', built.rpm])).stdout;
    expect(list).toMatch(/^-rw-r----- .* root +xsctl .* \/etc\/xsctl\/controller\.yaml$/m);
    expect(list).toMatch(/^drwxr-x--- .* xsctl +xsctl .* \/var\/lib\/xsctl$/m);
    expect((await execa('rpm', ['-qcp', built.rpm])).stdout.trim()).toBe('/etc/xsctl/controller.yaml');
    expect((await execa('rpm', ['-qp', '--requires', built.rpm])).stdout).toMatch(new RegExp(`^nodejs >= 1:${built.node}$`, 'm'));
    const scripts = (await execa('rpm', ['-qp', '--scripts', built.rpm])).stdout;
    expect(scripts).toMatch(/useradd -r -g xsctl/);
  });

  it('the service starts as its unit says, against the XAPI simulator, and the installed CLI answers `xsctl hosts` from outside the repo', async () => {
    const unit = await readFile(join(root, 'usr/lib/systemd/system/xsctl-controller.service'), 'utf8');
    const execStart = /^ExecStart=(\S+) (.*)$/m.exec(unit);
    expect(execStart?.[1]).toBe('/usr/bin/xsctl-controller');
    // The launcher execs node on the installed bundle; we run that bundle from the scratch root.
    const launcher = await readFile(join(root, 'usr/bin/xsctl-controller'), 'utf8');
    const bundle = /exec node (\S+) "\$@"/.exec(launcher)?.[1] ?? '';
    expect(bundle).toBe('/usr/lib/xsctl/controller/xsctl-controller.mjs');
    const dir = await mkdtemp(join(tmpdir(), 'xsctl-pkg-pool-'));
    pool = await startSimulatedPool({ dir, source: { pool: join(repo, 'test', 'fixtures', 'demo-pool.yaml') }, agentPort: 21000 + (process.pid % 20000), controllerScript: join(root, bundle) });
    const xsctl = join(prefix, 'bin', 'xsctl');
    const r = await execa(xsctl, ['hosts', '--json'], { cwd: tmpdir(), env: { ...pool.operatorEnv, PATH: process.env['PATH'] ?? '' }, extendEnv: false, reject: false });
    expect(r.exitCode, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { hosts: { xapi: Record<string, unknown>; agent: Record<string, unknown> }[] };
    expect(out.hosts.map((h) => h.xapi['nameLabel'])).toEqual(['xs-demo-1', 'xs-demo-2', 'xs-demo-3']);
    expect(out.hosts.every((h) => h.agent['state'] === 'ok')).toBe(true);
  }, 180_000);
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

  for (const name of ['XSCTL_TEST_NODE22', 'XSCTL_TEST_NODE24']) {
    const node = process.env[name] ?? '';
    it.skipIf(node === '')(`runs under the Node in ${name} (e.g. the registry's \`node\` package)`, async () => {
    const r = await execa(node, [join(prefix, 'bin', 'xsctl'), 'upgrade', '--rolling', '--plan', '--from-dump', join(repo, '..', 'shared', 'fixtures', 'xapi-db', 'boston-db.xml'), '--json'], { cwd: tmpdir(), reject: false });
    expect(r.stderr).toBe('');
    expect((JSON.parse(r.stdout) as { hosts: unknown[] }).hosts.length).toBeGreaterThan(0);
    });
  }
});
