// Bundles the built agent into one ESM file and wraps it in an RPM with rpmbuild.
// Prints {"rpm": path, "bundle": path} on stdout.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = process.argv[2] ?? join(repo, 'packaging', 'out');
const version = JSON.parse(readFileSync(join(repo, 'agent', 'package.json'), 'utf8')).version;
mkdirSync(out, { recursive: true });
const bundle = join(out, 'xsctl-agent.mjs');

await build({
  entryPoints: [join(repo, 'agent', 'dist', 'bin', 'xsctl-agent.js')],
  outfile: bundle,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  define: { __XSCTL_AGENT_VERSION__: JSON.stringify(version) },
  // CommonJS dependencies (grpc-js) call require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __xsctlCreateRequire } from 'node:module';\nconst require = __xsctlCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});

const top = mkdtempSync(join(tmpdir(), 'xsctl-rpm-'));
execFileSync('rpmbuild', [
  '-bb', '--nodeps',
  '--define', `_topdir ${top}`,
  '--define', `xsctl_version ${version}`,
  '--define', `xsctl_bundle ${bundle}`,
  '--define', `xsctl_unit ${join(repo, 'packaging', 'systemd', 'xsctl-agent.service')}`,
  '--define', `xsctl_config ${join(repo, 'packaging', 'systemd', 'agent.yaml')}`,
  '--define', '_rpmdir ' + out,
  '--define', '_build_id_links none',
  join(repo, 'packaging', 'rpm', 'xsctl-agent.spec'),
], { stdio: ['ignore', 'pipe', 'pipe'] });
const rpm = readdirSync(join(out, 'noarch')).find((f) => f.startsWith(`xsctl-agent-${version}-`) && f.endsWith('.rpm'));
process.stdout.write(`${JSON.stringify({ rpm: join(out, 'noarch', rpm), bundle })}\n`);
