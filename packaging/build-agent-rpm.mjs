// Builds the agent RPM with its own JavaScript runtime.
//   node packaging/build-agent-rpm.mjs [--runtime PATH] [--out DIR] [--release N]
// --runtime: Bun (default: the pinned baseline x86_64 Bun from node_modules, glibc 2.17) makes one
// executable with `bun build --compile`; a Node binary (e.g. a glibc-2.17 build of Node) is
// shipped beside the bundle with a two-line launcher. Same bundle, same RPM layout either way.
// Prints {"rpm", "payload", "bundle", "runtime"} as JSON on stdout.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { bunCompile } from './bun-compile.mjs';
import { rpmbuild } from './rpmbuild.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opts } = parseArgs({
  options: {
    runtime: { type: 'string', default: join(repo, 'node_modules', '@oven', 'bun-linux-x64-baseline', 'bin', 'bun') },
    out: { type: 'string', default: join(repo, 'dist', 'packages') },
    release: { type: 'string', default: '1' },
    work: { type: 'string' },
    // Repackage an assembled payload (another release of the same build) without rebuilding it.
    payload: { type: 'string' },
  },
  allowPositionals: true,
});
const version = JSON.parse(readFileSync(join(repo, 'agent', 'package.json'), 'utf8')).version;
const out = resolve(opts.out);
const work = opts.work ?? mkdtempSync(join(tmpdir(), 'xsctl-agent-build-'));
mkdirSync(out, { recursive: true });

/** Which runtime the path is: Bun reports process.versions.bun, Node does not. */
function identifyRuntime(path) {
  const probe = execFileSync(path, ['-e', 'console.log(JSON.stringify({ bun: process.versions.bun ?? null, node: process.versions.node }))'], { encoding: 'utf8' });
  const v = JSON.parse(probe.trim().split('\n').at(-1));
  return v.bun !== null ? { kind: 'bun', version: v.bun, path } : { kind: 'node', version: v.node, path };
}

/** One ESM file with every dependency, as both runtimes load it. */
async function bundleAgent() {
  const bundle = join(work, 'xsctl-agent.mjs');
  await build({
    entryPoints: [join(repo, 'agent', 'dist', 'bin', 'xsctl-agent-packaged.js')],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    minifySyntax: true,
    define: { __XSCTL_AGENT_VERSION__: JSON.stringify(version) },
    // CommonJS dependencies (grpc-js) call require(); give the ESM bundle one.
    banner: { js: "import { createRequire as __xsctlCreateRequire } from 'node:module';\nconst require = __xsctlCreateRequire(import.meta.url);" },
    logLevel: 'warning',
  });
  return bundle;
}

/** /usr/bin/xsctl-agent (and /usr/lib/xsctl-agent/ for a runtime beside the bundle). */
function placeExecutable(runtime, bundle, payload) {
  const bin = join(payload, 'usr', 'bin');
  const lib = join(payload, 'usr', 'lib', 'xsctl-agent');
  const share = join(payload, 'usr', 'share', 'xsctl-agent');
  mkdirSync(bin, { recursive: true });
  mkdirSync(share, { recursive: true });
  if (runtime.kind === 'bun') {
    bunCompile(runtime.path, bundle, join(bin, 'xsctl-agent'), work);
  } else {
    mkdirSync(lib, { recursive: true });
    copyFileSync(runtime.path, join(lib, 'node'));
    chmodSync(join(lib, 'node'), 0o755);
    copyFileSync(bundle, join(lib, 'xsctl-agent.mjs'));
    writeFileSync(join(bin, 'xsctl-agent'), '#!/bin/sh\nexec /usr/lib/xsctl-agent/node /usr/lib/xsctl-agent/xsctl-agent.mjs "$@"\n', { mode: 0o755 });
  }
  chmodSync(join(bin, 'xsctl-agent'), 0o755);
  writeFileSync(join(share, 'runtime.json'), `${JSON.stringify({ runtime: runtime.kind, version: runtime.version, agent: version })}\n`, { mode: 0o644 });
}

function assemblePayload(runtime, bundle) {
  const payload = join(work, 'payload');
  rmSync(payload, { recursive: true, force: true });
  placeExecutable(runtime, bundle, payload);
  const put = (from, to, mode) => {
    mkdirSync(dirname(join(payload, to)), { recursive: true });
    copyFileSync(join(repo, 'packaging', from), join(payload, to));
    chmodSync(join(payload, to), mode);
  };
  put('agent/xsctl-agent.service', 'usr/lib/systemd/system/xsctl-agent.service', 0o644);
  put('agent/agent.yaml', 'etc/xsctl/agent.yaml', 0o600);
  put('agent/firewall.sh', 'usr/libexec/xsctl-agent/firewall', 0o755);
  put('agent/README', 'usr/share/doc/xsctl-agent/README', 0o644);
  mkdirSync(join(payload, 'var', 'lib', 'xsctl-agent'), { recursive: true, mode: 0o700 });
  return payload;
}

function rpm(payload) {
  const hasLib = existsSync(join(payload, 'usr', 'lib', 'xsctl-agent'));
  return rpmbuild({ spec: 'xsctl-agent.spec', version, release: opts.release, payload, work, out, defines: hasLib ? { xsctl_libdir: 1 } : {} });
}

if (opts.payload !== undefined) {
  const rpmFile = rpm(resolve(opts.payload));
  process.stdout.write(`${JSON.stringify({ rpm: rpmFile, payload: resolve(opts.payload) })}\n`);
} else {
  const runtime = identifyRuntime(opts.runtime);
  const bundle = await bundleAgent();
  const payload = assemblePayload(runtime, bundle);
  const rpmFile = rpm(payload);
  cpSync(bundle, join(out, 'xsctl-agent.mjs'));
  process.stdout.write(`${JSON.stringify({ rpm: rpmFile, payload, bundle: join(out, 'xsctl-agent.mjs'), runtime: { kind: runtime.kind, version: runtime.version } })}\n`);
}
