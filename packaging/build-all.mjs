// npm run package: every installable artifact into dist/packages/.
//   xsctl-agent-VERSION-RELEASE.x86_64.rpm        the dom0 agent with its own runtime
//   xsctl-controller_VERSION-RELEASE_amd64.deb     the controller for Debian/Ubuntu
//   xsctl-controller-VERSION-RELEASE.x86_64.rpm    the controller for EL9
//   xsctl-cli-VERSION.tgz                          the CLI: npm install -g ./xsctl-cli-VERSION.tgz
// Prints one JSON object naming each artifact.
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(repo, 'dist', 'packages');
const run = (script, args = []) => JSON.parse(execFileSync(process.execPath, [join(repo, 'packaging', script), '--out', out, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }));

const agent = run('build-agent-rpm.mjs');
const rest = run('build-controller-cli.mjs');
process.stdout.write(`${JSON.stringify({ agentRpm: agent.rpm, agentRuntime: agent.runtime, controllerDeb: rest.deb, controllerRpm: rest.rpm, controllerNode: rest.nodeMajors, cli: rest.cli }, null, 2)}\n`);
