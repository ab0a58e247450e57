import { copyFile, open, readFile, readdir, writeFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { execa } from 'execa';
import { ClientError, createClient, Status } from 'nice-grpc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostServiceDefinition, PoolRole } from '@xsctl/proto/gen/xsctl/agent/v1/host';
import { TrustServiceDefinition } from '@xsctl/proto/gen/xsctl/agent/v1/trust';
import { pkiLayout, revokeCertificate, type TlsMaterial } from '@xsctl/common/pki/index';
import { mtlsChannel } from '@xsctl/common/grpc/index';
import { makeTestPki } from '@xsctl/common/testing/make-test-pki';
import { makeHostRoot } from '../src/demo/make-host-root.js';
import { spawnReadyExecutable, type ReadyProcess } from '../src/demo/spawn-ready.js';
import { baseCapabilities, dom0Iptables, makeEl7Root, type El7Root } from '../src/packaging/el7-root.js';
import { tempDir } from '@xsctl/common/testing/temp-dir';

/**
 * The agent RPM as a dom0 gets it: built with the real rpmbuild around Bun's baseline runtime,
 * checked against the CentOS 7.5 floor (symbol versions, requirements), installed with rpm into
 * a scratch root whose database provides only the CentOS 7.5 base capabilities (no --nodeps),
 * run from there over mTLS, upgraded and erased.
 */

const repo = join(import.meta.dirname, '..', '..');
const version = (JSON.parse(await readFile(join(repo, 'agent', 'package.json'), 'utf8')) as { version: string }).version;
let rpm1: string;
let rpm2: string;
let el7: El7Root;
let agent: ReadyProcess | undefined;

async function buildRpm(args: string[]): Promise<{ rpm: string; payload: string }> {
  const r = await execa(process.execPath, [join(repo, 'packaging', 'build-agent-rpm.mjs'), ...args]);
  return JSON.parse(r.stdout) as { rpm: string; payload: string };
}

beforeAll(async () => {
  const out = await tempDir('xsctl-rpm-test-');
  const first = await buildRpm(['--out', out]);
  rpm1 = first.rpm;
  rpm2 = (await buildRpm(['--out', out, '--payload', first.payload, '--release', '2'])).rpm;
  el7 = await makeEl7Root();
}, 1_800_000);

afterAll(async () => {
  await agent?.stop();
});

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) if (!e.isDirectory()) out.push(join(e.parentPath, e.name));
  return out;
}

async function isElf(file: string): Promise<boolean> {
  const fh = await open(file, 'r');
  try {
    const b = Buffer.alloc(4);
    await fh.read(b, 0, 4, 0);
    return b.toString('latin1') === '\x7fELF';
  } finally {
    await fh.close();
  }
}

const cmpVersion = (a: string, b: string) => {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
};

describe('agent RPM: the CentOS 7.5 floor', () => {
  it('is named xsctl-agent-VERSION-RELEASE.x86_64.rpm and needs no nodejs', async () => {
    expect(rpm1.endsWith(`/xsctl-agent-${version}-1.x86_64.rpm`)).toBe(true);
    expect((await execa('rpm', ['-qp', '--requires', rpm1])).stdout).not.toMatch(/node/i);
  });

  it('gate 1: every ELF in the payload needs at most GLIBC_2.17 (and GLIBCXX_3.4.19 / CXXABI_1.3.7 if any)', async () => {
    const dir = await tempDir('xsctl-rpm-payload-');
    await execa('sh', ['-c', 'rpm2cpio "$1" | cpio -idm --quiet', 'sh', rpm1], { cwd: dir });
    const elves: string[] = [];
    for (const f of await filesUnder(dir)) if ((await stat(f)).isFile() && (await isElf(f))) elves.push(f);
    expect(elves.map((f) => relative(dir, f))).toContain('usr/bin/xsctl-agent');
    const limits: Record<string, string> = { GLIBC: '2.17', GLIBCXX: '3.4.19', CXXABI: '1.3.7' };
    for (const f of elves) {
      const dyn = (await execa('objdump', ['-T', f])).stdout;
      const needed = [...dyn.matchAll(/\b(GLIBC|GLIBCXX|CXXABI)_([0-9.]+)\b/g)].map((m) => [m[1] ?? '', m[2] ?? ''] as const);
      expect(needed.length, `${f} has no versioned symbols: objdump read nothing`).toBeGreaterThan(0);
      const over = needed.filter(([lib, v]) => cmpVersion(v, limits[lib] ?? '0') > 0).map(([lib, v]) => `${lib}_${v}`);
      expect([...new Set(over)], relative(dir, f)).toEqual([]);
    }
  });

  it('gate 2: rpm -qpR names only capabilities of a CentOS 7.5 base install', async () => {
    const { provides, rpmlib } = await baseCapabilities();
    const reqs = (await execa('rpm', ['-qpR', rpm1])).stdout.split('\n').map((l) => l.trim()).filter((l) => l !== '');
    expect(reqs.length).toBeGreaterThan(5);
    const unmet = reqs.filter((r) => {
      if (r.startsWith('config(xsctl-agent)')) return false; // the package's own config capability
      const lib = /^(rpmlib\([^)]+\)) <= (\S+)$/.exec(r);
      if (lib !== null) {
        const max = rpmlib.get(lib[1] ?? '');
        return max === undefined || cmpVersion((lib[2] ?? '').split('-')[0] ?? '', max.split('-')[0] ?? '') > 0;
      }
      return !provides.includes(r);
    });
    expect(unmet).toEqual([]);
  });

  it('rpmlint: clean apart from the findings explained in packaging/rpm/rpmlint.toml', async () => {
    const r = await execa('rpmlint', ['-c', join(repo, 'packaging', 'rpm', 'rpmlint.toml'), rpm1], { reject: false });
    expect(r.stdout).toMatch(/0 errors, 0 warnings/);
  }, 120_000);
});

/** The Environment= settings of the installed unit (systemd 219 syntax: one NAME=value per line here). */
async function unitEnvironment(): Promise<Record<string, string>> {
  const unit = await readFile(join(el7.root, 'usr/lib/systemd/system/xsctl-agent.service'), 'utf8');
  return Object.fromEntries([...unit.matchAll(/^Environment=([A-Za-z_][A-Za-z0-9_]*)=(\S*)$/gm)].map((m) => [m[1] ?? '', m[2] ?? '']));
}

describe('agent RPM installed into a CentOS 7.5 stand-in root (rpm without --nodeps)', () => {
  it('gate 3: installs; presets the unit; opens the agent port once, before the dom0 REJECT', async () => {
    const r = await el7.rpm('-i', rpm1);
    // A failing %post does not fail `rpm -i`: its stderr is the witness.
    expect(r.stderr.trim()).toBe('');
    expect(r.exitCode).toBe(0);
    expect((await el7.rpm('-q', 'xsctl-agent')).stdout.trim()).toBe(`xsctl-agent-${version}-1.x86_64`);
    expect(await el7.systemctlCalls()).toEqual(['preset xsctl-agent.service']);
    const ipt = (await readFile(join(el7.root, 'etc/sysconfig/iptables'), 'utf8')).split('\n');
    const ours = '-A RH-Firewall-1-INPUT -p tcp -m conntrack --ctstate NEW -m tcp --dport 7443 -m comment --comment xsctl-agent -j ACCEPT';
    expect(ipt.filter((l) => l.includes('xsctl-agent'))).toEqual([ours]);
    expect(ipt.indexOf(ours)).toBe(ipt.indexOf('-A RH-Firewall-1-INPUT -j REJECT --reject-with icmp-host-prohibited') - 1);
    expect(ipt.filter((l) => l !== ours)).toEqual(dom0Iptables.split('\n'));
    expect((await stat(join(el7.root, 'etc/xsctl/agent.yaml'))).mode & 0o777).toBe(0o600);
  }, 300_000);

  it('gate 4: the installed /usr/bin/xsctl-agent answers GetFacts over mTLS', async () => {
    const pki = await makeTestPki();
    await pki.issue({ kind: 'agent', name: 'xs-rpm', ipAddresses: ['127.0.0.1'] });
    const host = await makeHostRoot(await tempDir('xsctl-rpm-host-'), {
      hostname: 'xs-rpm', productBrand: 'XCP-ng', productVersion: '8.2.1', buildNumber: 'release/yangtze/master/58',
      installationUuid: 'b1c2', controlDomainUuid: 'd3e4', poolConf: { slaveOf: '10.0.0.1' }, uptimeSeconds: 1234,
    });
    // From a directory with nothing of the repo around it.
    // With the environment the installed unit gives it, as systemd starts it.
    agent = await spawnReadyExecutable(join(el7.root, 'usr/bin/xsctl-agent'), ['serve', '--listen', '127.0.0.1:0', '--root', host, '--tls-ca', join(pki.dir, 'ca', 'ca.crt'), '--tls-cert', join(pki.dir, 'xs-rpm.crt'), '--tls-key', join(pki.dir, 'xs-rpm.key')], { cwd: tmpdir(), timeoutMs: 60_000, env: await unitEnvironment() });
    const channel = mtlsChannel(`127.0.0.1:${String(agent.ready['port'])}`, await pki.issue({ kind: 'controller', name: 'ctl' }), { kind: 'agent' });
    const { facts } = await createClient(HostServiceDefinition, channel).getFacts({}, { signal: AbortSignal.timeout(10_000) });
    channel.close();
    expect(facts?.productBrand).toBe('XCP-ng');
    expect(facts?.poolRole).toBe(PoolRole.POOL_ROLE_SLAVE);
    expect(facts?.masterAddress).toBe('10.0.0.1');
    expect(facts?.agentVersion).toBe(version);
    // The unit runs the runtime without its JIT (packaging/agent/xsctl-agent.service): no page of
    // the root daemon is writable and executable (a JIT's code area is).
    expect((await unitEnvironment())['BUN_JSC_useJIT']).toBe('0');
    const maps = await readFile(`/proc/${String(agent.child.pid)}/maps`, 'utf8');
    expect(maps.split('\n').filter((l) => / rwx[ps] /.test(l))).toEqual([]);
    await agent.stop();
    agent = undefined;
  }, 90_000);

  it('the installed agent holding a revocation list refuses the revoked controller, and enforces the newer list a controller sends (both verified by the runtime\'s own crypto)', async () => {
    const pki = await makeTestPki();
    await pki.issue({ kind: 'agent', name: 'xs-crl', ipAddresses: ['127.0.0.1'] });
    const ctl = await pki.issue({ kind: 'controller', name: 'ctl' });
    const spare = await pki.issue({ kind: 'controller', name: 'ctl-spare' });
    const old = await pki.issue({ kind: 'controller', name: 'ctl-old' });
    await revokeCertificate(pki.dir, { name: 'ctl-old' }, 'keyCompromise');
    const host = await makeHostRoot(await tempDir('xsctl-rpm-host-'), {
      hostname: 'xs-crl', productBrand: 'XCP-ng', productVersion: '8.2.1', buildNumber: 'release/yangtze/master/58',
      installationUuid: 'b1c2', controlDomainUuid: 'd3e4', poolConf: 'master', uptimeSeconds: 1234,
    });
    // The list installed with the agent (config tls.crl): number 2, ctl-old revoked.
    const installed = join(host, 'crl-installed.pem');
    await copyFile(pkiLayout(pki.dir).crl, installed);
    agent = await spawnReadyExecutable(join(el7.root, 'usr/bin/xsctl-agent'), ['serve', '--listen', '127.0.0.1:0', '--root', host, '--tls-ca', join(pki.dir, 'ca', 'ca.crt'), '--tls-cert', join(pki.dir, 'xs-crl.crt'), '--tls-key', join(pki.dir, 'xs-crl.key'), '--tls-crl', installed], { cwd: tmpdir(), timeoutMs: 60_000, env: await unitEnvironment() });
    const address = `127.0.0.1:${String(agent.ready['port'])}`;
    const facts = async (tls: TlsMaterial): Promise<string> => {
      const channel = mtlsChannel(address, tls, { kind: 'agent' });
      try {
        await createClient(HostServiceDefinition, channel).getFacts({}, { signal: AbortSignal.timeout(10_000) });
        return 'OK';
      } catch (err) {
        return err instanceof ClientError ? Status[err.code] : String(err);
      } finally {
        channel.close();
      }
    };
    const push = async (tls: TlsMaterial, crlPem: string): Promise<string> => {
      const channel = mtlsChannel(address, tls, { kind: 'agent' });
      try {
        const r = await createClient(TrustServiceDefinition, channel).putRevocationList({ crlPem }, { signal: AbortSignal.timeout(10_000) });
        return `installed ${String(r.installed)} number ${String(r.number)}`;
      } catch (err) {
        return err instanceof ClientError ? Status[err.code] : String(err);
      } finally {
        channel.close();
      }
    };
    expect(await facts(old)).toBe('UNAUTHENTICATED');
    expect(await facts(ctl)).toBe('OK');
    // A newer list (number 3) that also revokes ctl, sent by ctl itself as a controller does.
    await revokeCertificate(pki.dir, { name: 'ctl' }, 'superseded');
    const third = await readFile(pkiLayout(pki.dir).crl, 'utf8');
    // Tampered (one bit of the signed part flipped): refused, nothing changes.
    const der = Buffer.from(third.replace(/-----[A-Z0-9 ]+-----|\s/g, ''), 'base64');
    der[40] = (der[40] ?? 0) ^ 0x01;
    expect(await push(spare, `-----BEGIN X509 CRL-----\n${der.toString('base64')}\n-----END X509 CRL-----\n`)).not.toMatch(/^installed/);
    expect(await facts(ctl)).toBe('OK');
    expect(await push(ctl, third)).toBe('installed true number 3');
    expect(await facts(ctl)).toBe('UNAUTHENTICATED');
    expect(await facts(old)).toBe('UNAUTHENTICATED');
    expect(await facts(spare)).toBe('OK');
    await agent.stop();
    agent = undefined;
  }, 90_000);

  // The agent's end-to-end suites with every agent spawned from the RPM's /usr/bin/xsctl-agent
  // (XSCTL_E2E_AGENT_BIN): the pool harness and the storage nodes run it instead of the dev build.
  // XSCTL_E2E_PACKAGED_SUITES picks them (comma list, or `all`); the default keeps this file within
  // its CI share, `npm run test:packaged` runs all of them.
  const packagedSuites = ['multipath-scsi', 'storage-controller', 'precheck-cli', 'storage-failover', 'storage-peer-view'];
  const chosen = process.env['XSCTL_E2E_PACKAGED_SUITES'] ?? 'multipath-scsi,storage-controller,precheck-cli';
  const suites = chosen === 'all' ? packagedSuites : chosen.split(',').filter((x) => x !== '');
  it(`the ${suites.join(', ')} end-to-end suites pass against the installed binary`, async () => {
    for (const suite of suites) expect(packagedSuites).toContain(suite);
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST')));
    // One run, the files in parallel as in the main suite.
    const r = await execa('npx', ['vitest', 'run', ...suites.map((x) => `test/e2e/${x}.test.ts`)], {
      cwd: repo,
      // Every packaged agent inherits the installed unit's environment, as under systemd.
      env: { ...env, ...(await unitEnvironment()), XSCTL_E2E_AGENT_BIN: join(el7.root, 'usr/bin/xsctl-agent') },
      extendEnv: false,
      reject: false,
      all: true,
    });
    const out = stripVTControlCharacters(String(r.all));
    expect(r.exitCode, out.slice(-6000)).toBe(0);
    for (const suite of suites) expect(out).toMatch(new RegExp(`✓ test/e2e/${suite}\\.test\\.ts`));
    expect(out).toMatch(/Tests\s+.*\d+ passed/);
    expect(out).not.toMatch(/skipped/);
  }, 1_200_000);

  it('an upgrade keeps the admin\'s config and the one firewall rule, and restarts the agent', async () => {
    const conf = join(el7.root, 'etc/xsctl/agent.yaml');
    await writeFile(conf, `${await readFile(conf, 'utf8')}# edited by the admin\n`);
    const r = await el7.rpm('-U', rpm2);
    expect(r.stderr.trim()).toBe('');
    expect(r.exitCode).toBe(0);
    expect((await el7.rpm('-q', 'xsctl-agent')).stdout.trim()).toBe(`xsctl-agent-${version}-2.x86_64`);
    expect(await readFile(conf, 'utf8')).toMatch(/# edited by the admin\n$/);
    expect((await el7.systemctlCalls()).slice(1)).toEqual(['daemon-reload', 'try-restart xsctl-agent.service']);
    expect((await readFile(join(el7.root, 'etc/sysconfig/iptables'), 'utf8')).split('\n').filter((l) => l.includes('xsctl-agent'))).toHaveLength(1);
  }, 300_000);

  it('an erase stops and disables the agent, closes the port and leaves only the edited config', async () => {
    const before = new Set(await filesUnder(el7.root));
    const owned = (await el7.rpm('-ql', 'xsctl-agent')).stdout.split('\n').filter((l) => l !== '');
    const r = await el7.rpm('-e', 'xsctl-agent');
    expect(r.stderr).toMatch(/^warning: \/etc\/xsctl\/agent.yaml saved as \/etc\/xsctl\/agent.yaml.rpmsave$/m);
    expect(r.exitCode).toBe(0);
    expect((await el7.systemctlCalls()).slice(3)).toEqual(['--no-reload disable xsctl-agent.service', 'stop xsctl-agent.service', 'daemon-reload']);
    expect(await readFile(join(el7.root, 'etc/sysconfig/iptables'), 'utf8')).toBe(dom0Iptables);
    const after = await filesUnder(el7.root);
    const left = owned.filter((p) => after.includes(join(el7.root, p)));
    expect(left).toEqual([]);
    const added = after.filter((f) => !before.has(f) && !f.includes('/var/lib/rpm') && !f.includes('/.rpmdb/') && !f.endsWith('systemctl.calls')).map((f) => relative(el7.root, f));
    expect(added).toEqual(['etc/xsctl/agent.yaml.rpmsave']);
    expect(await readFile(join(el7.root, 'etc/xsctl/agent.yaml.rpmsave'), 'utf8')).toMatch(/# edited by the admin/);
  }, 120_000);
});

describe('the firewall helper on its own', () => {
  const helper = join(repo, 'packaging', 'agent', 'firewall.sh');
  it('opens once however often it runs, replaces another port of its own, and closes to the original file', async () => {
    const file = join(await tempDir('xsctl-fw-'), 'iptables');
    await writeFile(file, dom0Iptables);
    const env = { XSCTL_IPTABLES_FILE: file, PATH: '/usr/bin:/bin' };
    await execa('sh', [helper, 'open', '7443'], { env });
    await execa('sh', [helper, 'open', '7443'], { env });
    let lines = (await readFile(file, 'utf8')).split('\n').filter((l) => l.includes('xsctl-agent'));
    expect(lines).toEqual(['-A RH-Firewall-1-INPUT -p tcp -m conntrack --ctstate NEW -m tcp --dport 7443 -m comment --comment xsctl-agent -j ACCEPT']);
    await execa('sh', [helper, 'open', '8443'], { env });
    lines = (await readFile(file, 'utf8')).split('\n').filter((l) => l.includes('xsctl-agent'));
    expect(lines).toEqual(['-A RH-Firewall-1-INPUT -p tcp -m conntrack --ctstate NEW -m tcp --dport 8443 -m comment --comment xsctl-agent -j ACCEPT']);
    await execa('sh', [helper, 'close'], { env });
    await execa('sh', [helper, 'close'], { env });
    expect(await readFile(file, 'utf8')).toBe(dom0Iptables);
    // iptables-restore parses what we wrote (the real iptables, as the dom0 loads the file at boot).
    await execa('sh', [helper, 'open', '7443'], { env });
    await expect(execa('iptables-restore', ['--test', file])).resolves.toMatchObject({ exitCode: 0 });
    expect((await execa('sh', [helper, 'open', '74x3'], { env, reject: false })).exitCode).toBe(64);
  });
});
