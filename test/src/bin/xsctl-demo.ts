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

async function main(): Promise<void> {
  const dir = resolve(process.env['XSCTL_DEMO_DIR'] ?? join(repo, '.demo'));
  await rm(dir, { recursive: true, force: true });
  // The simulator's upgrade operations run 300x faster (a 3 min reboot takes 0.6 s).
  process.env['XSCTL_SIM_CLOCK_FACTOR'] ??= '300';
  say(`starting a simulated 3-host pool in ${dir} (XAPI simulator, 3 agents, controller; mTLS everywhere)`);
  const pool = await startSimulatedPool({ dir, source: { pool: join(repo, 'test', 'fixtures', 'demo-pool.yaml') }, http: true });
  const run = async (args: string[]) => {
    process.stderr.write(`$ xsctl ${args.join(' ')}\n`);
    const r = await execa(process.execPath, [xsctl, ...args], { env: pool.operatorEnv, stdout: 'inherit', stderr: 'inherit', reject: false });
    if (r.exitCode !== 0) throw new Error(`xsctl ${args.join(' ')} exited ${r.exitCode}`);
  };
  try {
    say(`controller at ${pool.controllerAddress}, XAPI simulator at ${pool.xapiUrl}`);
    await run(['hosts']);
    say('rolling upgrade of the whole pool: master first, each VM moved as little as possible, ci-scratch-1 (local SR) shut down while its host reboots');
    await run(['upgrade', '--rolling', '--pool', pool.poolName, '--action', 'simulated', '--override', 'VM_REQUIRES_SR', '--poll-interval', '100', '--yes']);
  } finally {
    await pool.stop();
  }
  say('demo finished');
}

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
