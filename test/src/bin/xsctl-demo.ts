#!/usr/bin/env node
import { rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { startSimulatedPool } from '../demo/start-simulated-pool.js';

const require = createRequire(import.meta.url);
const repo = resolve(join(require.resolve('@xsctl/test/package.json'), '..', '..'));
const xsctl = join(repo, 'cli', 'bin', 'xsctl.js');
const say = (s: string) => process.stderr.write(`\n== ${s}\n`);

/**
 * Resolves on the first SIGINT or SIGTERM (the demo then stops everything it started). The
 * listeners stay installed: execa's exit handler re-raises a signal that nobody else listens to,
 * which would kill the demo before it stopped its children.
 */
function stopSignal(): Promise<string> {
  return new Promise((resolve) => {
    const on = (sig: string) => () => resolve(sig);
    process.on('SIGINT', on('SIGINT'));
    process.on('SIGTERM', on('SIGTERM'));
  });
}

async function main(): Promise<void> {
  const serve = process.argv.includes('--serve');
  const stopped = serve ? stopSignal() : undefined;
  const dir = resolve(process.env['XSCTL_DEMO_DIR'] ?? join(repo, '.demo'));
  await rm(dir, { recursive: true, force: true });
  // The simulator's upgrade operations run 300x faster (a 3 min reboot takes 0.6 s).
  process.env['XSCTL_SIM_CLOCK_FACTOR'] ??= '300';
  say(`starting a simulated 3-host pool in ${dir} (XAPI simulator, 3 agents, controller; mTLS everywhere)`);
  // XSCTL_DEMO_AGENT_PORT lets a test run the demo beside another one (agents share 127.0.0.11-13).
  const agentPort = Number(process.env['XSCTL_DEMO_AGENT_PORT'] ?? 17443);
  const starting = startSimulatedPool({ dir, source: { pool: join(repo, 'test', 'fixtures', 'demo-pool.yaml') }, http: true, agentPort });
  if (stopped !== undefined) {
    // A signal while starting: exit; execa's cleanup ends the children already started.
    void stopped.then((sig) => {
      process.stderr.write(`${sig} while starting: stopping\n`);
      void starting.then((p) => p.stop()).finally(() => process.exit(0));
    });
  }
  const pool = await starting;
  const run = async (args: string[]) => {
    process.stderr.write(`$ xsctl ${args.join(' ')}\n`);
    const r = await execa(process.execPath, [xsctl, ...args], { env: pool.operatorEnv, stdout: 'inherit', stderr: 'inherit', reject: false });
    if (r.exitCode !== 0) throw new Error(`xsctl ${args.join(' ')} exited ${r.exitCode}`);
  };
  const demo = async (): Promise<void> => {
    say(`controller at ${pool.controllerAddress}, XAPI simulator at ${pool.xapiUrl}`);
    if (serve) {
      // A one-time link for a browser without a client certificate; the CA to trust is pki/ca/ca.crt.
      const link = await execa(process.execPath, [xsctl, 'dashboard', 'open', '--json'], { env: pool.operatorEnv });
      const { url } = JSON.parse(link.stdout) as { url: string };
      process.stdout.write(`dashboard: ${url}\n`);
      process.stderr.write(`(the dashboard's certificate is issued by ${join(pool.pkiDir, 'ca', 'ca.crt')}; see docs/DASHBOARD.md to trust it)\n`);
    }
    await run(['hosts']);
    say('rolling upgrade of the whole pool: master first, each VM moved as little as possible, ci-scratch-1 (local SR) shut down while its host reboots');
    await run(['upgrade', '--rolling', '--pool', pool.poolName, '--action', 'simulated', '--override', 'VM_REQUIRES_SR', '--poll-interval', '100', '--yes']);
    if (serve) say('serving: the pool, agents and controller keep running; Ctrl-C (SIGINT) or SIGTERM stops them');
  };
  try {
    if (stopped === undefined) {
      await demo();
    } else {
      // Serving: a signal at any point (even mid-upgrade) stops everything; the demo itself
      // finishing just leaves things running.
      const running = demo();
      running.catch((err: unknown) => process.stderr.write(`demo step failed: ${err instanceof Error ? err.message : String(err)}\n`));
      const sig = await stopped;
      say(`${sig}: stopping the controller, agents and XAPI simulator`);
    }
  } finally {
    await pool.stop();
  }
  say('demo finished');
  if (serve) process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
