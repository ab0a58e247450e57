// Builds the controller packages (.deb, and an RPM for EL9) and the CLI's npm tarball.
//   node packaging/build-controller-cli.mjs [--out DIR] [--release N]
// The controller is one esbuild bundle plus better-sqlite3, compiled once per supported Node ABI:
// the build's own Node (node_modules) and each pinned runtime of packaging/node-runtimes.json
// (22, 24). They sit where the `bindings` loader looks first for the running Node,
// lib/binding/node-v<ABI>-linux-x64/, so one package runs on every one of those majors. The CLI is
// one bundle with no dependencies, packed with `npm pack` so `npm install -g ./xsctl-cli-VERSION.tgz`
// works offline. Prints {"deb", "rpm", "cli", "nodeMajors", "abis", "glibc", "glibcxx"} on stdout.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ensureRuntimes } from './node-runtimes.mjs';
import { rpmbuild } from './rpmbuild.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opts } = parseArgs({ options: { out: { type: 'string', default: join(repo, 'dist', 'packages') }, release: { type: 'string', default: '1' } } });
const out = resolve(opts.out);
const work = mkdtempSync(join(tmpdir(), 'xsctl-ctl-build-'));
mkdirSync(out, { recursive: true });
const version = JSON.parse(readFileSync(join(repo, 'controller', 'package.json'), 'utf8')).version;
const buildMajor = Number(process.versions.node.split('.')[0]);
const runtimes = [{ major: buildMajor, abi: process.versions.modules, betterSqlite3: join(repo, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node') }, ...ensureRuntimes()];
const nodeMajors = runtimes.map((r) => r.major);
const abis = runtimes.map((r) => r.abi);
// Packages accept the oldest supported major up to (not including) the next after the newest.
const nodeMin = Math.min(...nodeMajors);
const nodeBelow = Math.max(...nodeMajors) + 1;
const banner = "import { createRequire as __xsctlCreateRequire } from 'node:module';\nconst require = __xsctlCreateRequire(import.meta.url);";
// better-sqlite3 loads its addon on the first open; say which Node majors the package carries
// before that, instead of the `bindings` loader's list of paths it tried.
const abiGuard = `if (!${JSON.stringify(abis)}.includes(process.versions.modules)) { process.stderr.write('xsctl-controller: Node ' + process.version + ' is not supported; this package runs on Node ${nodeMajors.join(', ')}\\n'); process.exit(1); }`;

const versionOf = (ws) => JSON.parse(readFileSync(join(repo, ws, 'package.json'), 'utf8')).version;
// Bundled modules that read their package.json at run time get the version defined instead.
const define = { __XSCTL_CLI_VERSION__: JSON.stringify(versionOf('cli')), __XSCTL_AGENT_VERSION__: JSON.stringify(versionOf('agent')) };

/**
 * `upgrade --plan --from-dump` imports the dump harness (the simulator with the dump loaded, read
 * through the controller's XapiClient) by a computed name, so that the CLI of the source tree runs
 * without the test package; the packaged CLI carries it: make the import literal.
 */
const bundleDumpLoader = {
  name: 'bundle-dump-loader',
  setup(b) {
    b.onLoad({ filter: /[\\/]cli[\\/]dist[\\/]commands[\\/]upgrade[\\/]rolling\.js$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      if (!text.includes('import(harness)')) throw new Error('rolling.js no longer imports the dump harness as import(harness): update packaging/build-controller-cli.mjs');
      return { contents: text.replace('import(harness)', "import('@xsctl/test/sim-harness/open-dump')"), loader: 'js', resolveDir: dirname(args.path) };
    });
    // The loader reads xapi's datamodel from test/fixtures at run time; the bundle carries it.
    b.onLoad({ filter: /[\\/]test[\\/]dist[\\/]xapi-sim[\\/]datamodel\.js$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      const read = "readFileSync(join(testFixturesDir, 'xapi-datamodel.json'), 'utf8')";
      if (!text.includes(read)) throw new Error('datamodel.js no longer reads the datamodel as expected: update packaging/build-controller-cli.mjs');
      const json = readFileSync(join(repo, 'test', 'fixtures', 'xapi-datamodel.json'), 'utf8');
      return { contents: text.replace(read, JSON.stringify(json)), loader: 'js', resolveDir: dirname(args.path) };
    });
  },
};

async function bundle(entry, outfile, external = [], extraBanner = '') {
  await build({ entryPoints: [entry], outfile, bundle: true, platform: 'node', target: 'node20', format: 'esm', external, define, plugins: [bundleDumpLoader], banner: { js: `${banner}${extraBanner}` }, logLevel: 'warning' });
  chmodSync(outfile, 0o755);
}

/** /usr/lib/xsctl/controller: the bundle and better-sqlite3 (one addon per ABI) with its one runtime dependency. */
async function controllerTree(root) {
  const lib = join(root, 'usr', 'lib', 'xsctl', 'controller');
  mkdirSync(join(lib, 'node_modules'), { recursive: true });
  await bundle(join(repo, 'controller', 'dist', 'bin', 'xsctl-controller.js'), join(lib, 'xsctl-controller.mjs'), ['better-sqlite3'], `\n${abiGuard}`);
  const mod = (name) => join(repo, 'node_modules', name);
  const bs = join(lib, 'node_modules', 'better-sqlite3');
  cpSync(join(mod('better-sqlite3'), 'lib'), join(bs, 'lib'), { recursive: true });
  for (const f of ['package.json', 'LICENSE']) copyFileSync(join(mod('better-sqlite3'), f), join(bs, f));
  for (const r of runtimes) {
    const dir = join(bs, 'lib', 'binding', `node-v${r.abi}-linux-x64`);
    mkdirSync(dir, { recursive: true });
    copyFileSync(r.betterSqlite3, join(dir, 'better_sqlite3.node'));
    chmodSync(join(dir, 'better_sqlite3.node'), 0o755);
  }
  for (const dep of ['bindings', 'file-uri-to-path']) cpSync(mod(dep), join(lib, 'node_modules', dep), { recursive: true });
  writeFileSync(join(lib, 'runtime.json'), `${JSON.stringify({ node: nodeMajors, abi: abis, controller: version })}\n`);
  const put = (from, to, mode) => {
    mkdirSync(dirname(join(root, to)), { recursive: true });
    copyFileSync(join(repo, 'packaging', from), join(root, to));
    chmodSync(join(root, to), mode);
  };
  mkdirSync(join(root, 'usr', 'bin'), { recursive: true });
  writeFileSync(join(root, 'usr', 'bin', 'xsctl-controller'), '#!/bin/sh\nexec node /usr/lib/xsctl/controller/xsctl-controller.mjs "$@"\n', { mode: 0o755 });
  put('controller/xsctl-controller.service', 'usr/lib/systemd/system/xsctl-controller.service', 0o644);
  put('controller/controller.yaml', 'etc/xsctl/controller.yaml', 0o640);
  put('controller/README', 'usr/share/doc/xsctl-controller/README', 0o644);
  mkdirSync(join(root, 'var', 'lib', 'xsctl'), { recursive: true });
}

/** Debian/Ubuntu: dpkg-deb over the same tree, maintainer scripts below. */
function deb(tree) {
  const dir = join(tree, 'DEBIAN');
  mkdirSync(dir, { recursive: true });
  const size = Number(execFileSync('du', ['-sk', '--exclude=DEBIAN', tree], { encoding: 'utf8' }).split('\t')[0]);
  writeFileSync(join(dir, 'control'), [
    'Package: xsctl-controller',
    `Version: ${version}-${opts.release}`,
    'Architecture: amd64',
    'Maintainer: xsctl <xsctl@localhost>',
    `Depends: nodejs (>= ${nodeMin}), nodejs (<< ${nodeBelow}), libc6 (>= ${floor.glibc}), libstdc++6 (>= ${floor.gcc}), adduser`,
    `Installed-Size: ${size}`,
    'Section: admin',
    'Priority: optional',
    'Description: xsctl controller for XenServer / XCP-ng pools',
    ' Rolling upgrades, multipath rollout and storage failover, driven through XAPI and the',
    ' xsctl agents. gRPC 7444 and HTTPS 8443, both with mutual TLS.',
    '',
  ].join('\n'));
  writeFileSync(join(dir, 'conffiles'), '/etc/xsctl/controller.yaml\n');
  writeFileSync(join(dir, 'postinst'), readFileSync(join(repo, 'packaging', 'controller', 'postinst.sh'), 'utf8'), { mode: 0o755 });
  writeFileSync(join(dir, 'prerm'), '#!/bin/sh\nset -e\nif [ "$1" = remove ]; then systemctl stop xsctl-controller.service >/dev/null 2>&1 || true; systemctl disable xsctl-controller.service >/dev/null 2>&1 || true; fi\n', { mode: 0o755 });
  writeFileSync(join(dir, 'postrm'), '#!/bin/sh\nset -e\nsystemctl daemon-reload >/dev/null 2>&1 || true\n', { mode: 0o755 });
  const file = join(out, `xsctl-controller_${version}-${opts.release}_amd64.deb`);
  execFileSync('dpkg-deb', ['--root-owner-group', '-Zxz', '-z1', '--build', tree, file], { stdio: ['ignore', 'ignore', 'inherit'] });
  return file;
}

function rpm(tree) {
  return rpmbuild({ spec: 'xsctl-controller.spec', version, release: opts.release, payload: tree, work, out, defines: { xsctl_node_min: nodeMin, xsctl_node_below: nodeBelow } });
}

async function cliTarball() {
  const pkg = join(work, 'cli');
  mkdirSync(pkg, { recursive: true });
  await bundle(join(repo, 'cli', 'dist', 'bin', 'xsctl.js'), join(pkg, 'xsctl.mjs'));
  const cliVersion = JSON.parse(readFileSync(join(repo, 'cli', 'package.json'), 'utf8')).version;
  writeFileSync(join(pkg, 'package.json'), `${JSON.stringify({ name: 'xsctl-cli', version: cliVersion, description: 'xsctl command line: XenServer / XCP-ng pool operations through the xsctl controller', type: 'module', bin: { xsctl: 'xsctl.mjs' }, engines: { node: '>=20.19' }, files: ['xsctl.mjs', 'README.md'], license: 'UNLICENSED' }, null, 2)}\n`);
  copyFileSync(join(repo, 'packaging', 'cli', 'README.md'), join(pkg, 'README.md'));
  const name = execFileSync('npm', ['pack', '--pack-destination', out, pkg], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n').at(-1);
  return join(out, name);
}

/**
 * The newest glibc and libstdc++ symbol versions the addons need (objdump -T), for the .deb's
 * Depends (rpmbuild derives the RPM's from the ELF files itself). GLIBCXX_3.4.N -> the GCC whose
 * libstdc++ first has it (libstdc++'s ABI policy table).
 */
function nativeFloor(files) {
  const versions = (re) => files.flatMap((f) => [...execFileSync('objdump', ['-T', f], { encoding: 'utf8' }).matchAll(re)].map((m) => m[1]));
  const max = (list) => list.sort((a, b) => a.localeCompare(b, 'en', { numeric: true })).at(-1);
  const glibc = max(versions(/\(GLIBC_([0-9.]+)\)/g));
  const glibcxx = max(versions(/\(GLIBCXX_([0-9.]+)\)/g));
  const gccOf = { '3.4.19': '4.8', '3.4.20': '4.9', '3.4.21': '5', '3.4.22': '6', '3.4.23': '7', '3.4.24': '7', '3.4.25': '8', '3.4.26': '9', '3.4.27': '9', '3.4.28': '10', '3.4.29': '11', '3.4.30': '12', '3.4.31': '13', '3.4.32': '14', '3.4.33': '14' };
  const gcc = gccOf[glibcxx];
  if (gcc === undefined) throw new Error(`GLIBCXX_${glibcxx}: add it to the table in nativeFloor`);
  return { glibc, glibcxx, gcc };
}

const tree = join(work, 'tree');
await controllerTree(tree);
const floor = nativeFloor(runtimes.map((r) => r.betterSqlite3));
const rpmFile = rpm(tree);
const debFile = deb(tree);
const cli = await cliTarball();
process.stdout.write(`${JSON.stringify({ deb: debFile, rpm: rpmFile, cli, nodeMajors, abis, nodeRuntimes: runtimes, glibc: floor.glibc, glibcxx: floor.glibcxx })}\n`);
