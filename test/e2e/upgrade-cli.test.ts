import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XapiClient } from '@xsctl/controller/xapi/index';
import { startSimulatedPool, type SimulatedPool } from '../src/demo/start-simulated-pool.js';
import { tempDir } from '@xsctl/common/testing/temp-dir';

/** `xsctl upgrade` through the controller's UpgradeService, against the simulated pool. */
const repo = join(import.meta.dirname, '..', '..');
const xsctlBin = join(repo, 'cli', 'bin', 'xsctl.js');
let pool: SimulatedPool;
let xapi: XapiClient;

const xsctl = (args: string[], env: Record<string, string> = pool.operatorEnv) => execa(process.execPath, [xsctlBin, ...args], { env, reject: false });
const runArgs = (version: string) => ['upgrade', '--rolling', '--pool', 'demo', '--action', 'simulated', '--action-option', `version=${version}`, '--override', 'VM_REQUIRES_SR', '--poll-interval', '50', '--yes', '--json'];

/** Starts a run in the background and resolves when an event matches (the process is wrapped: it is a thenable). */
async function startUntil(version: string, match: (e: Record<string, unknown>) => boolean): Promise<{ proc: ResultPromise }> {
  const proc = execa(process.execPath, [xsctlBin, ...runArgs(version)], { env: pool.operatorEnv, reject: false });
  await new Promise<void>((resolve, reject) => {
    const rl = createInterface({ input: proc.stdout as NodeJS.ReadableStream });
    rl.on('line', (line) => {
      try {
        if (match(JSON.parse(line) as Record<string, unknown>)) resolve();
      } catch {
        // not an event line
      }
    });
    void proc.then((r) => reject(new Error(`the run ended before the expected event: ${r.stderr}`)));
  });
  return { proc };
}

/** The simulator's own knob (not XAPI): slows its operations down so a CLI call lands mid-run. */
async function simSpeed(timeFactor: number): Promise<void> {
  await (xapi.call.bind(xapi) as unknown as (m: string, a: unknown[]) => Promise<unknown>)('simulator.configure_upgrade', [{ timeFactor }]);
}

async function status(): Promise<Array<{ id: string; state: string; error: string; resultJson: string }>> {
  const r = await xsctl(['upgrade', 'status', '--pool', 'demo', '--json']);
  expect(r.exitCode, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { workflows: Array<{ id: string; state: string; error: string; resultJson: string }> }).workflows;
}

async function hostsState(): Promise<{ versions: string[]; enabled: boolean[] }> {
  const hosts = [...(await xapi.getAllRecords('host')).values()];
  return { versions: hosts.map((h) => h.software_version['product_version'] ?? ''), enabled: hosts.map((h) => h.enabled) };
}

beforeAll(async () => {
  process.env['XSCTL_SIM_CLOCK_FACTOR'] = '300';
  const dir = await tempDir('xsctl-e2e-upgrade-cli-');
  pool = await startSimulatedPool({ dir, source: { pool: join(repo, 'test', 'fixtures', 'demo-pool.yaml') }, agentPort: 20000 + ((process.pid + 7) % 20000) });
  xapi = await XapiClient.connect({ url: pool.xapiUrl, user: 'root', password: 'demo-password', allowPlainHttp: true });
}, 120_000);

afterAll(async () => {
  await xapi?.close();
  await pool?.stop();
  delete process.env['XSCTL_SIM_CLOCK_FACTOR'];
});

describe('xsctl upgrade', () => {
  it('--plan --json: the plan with the documented names; blocked without the override', async () => {
    const blocked = await xsctl(['upgrade', '--rolling', '--pool', 'demo', '--plan', '--json']);
    expect(blocked.exitCode).toBe(1);
    const plan = JSON.parse(blocked.stdout) as { runnable: boolean; hosts: Array<{ name: string; role: string; order: number }>; blockers: Array<{ vm: string; code: string; host: string }>; totals: { migratedBytes: number; lowerBoundBytes: number } };
    expect(plan.runnable).toBe(false);
    expect(plan.hosts[0]).toMatchObject({ name: 'xs-demo-1', role: 'master', order: 1 });
    expect(plan.blockers).toContainEqual(expect.objectContaining({ vm: 'ci-scratch-1', code: 'VM_REQUIRES_SR', host: 'xs-demo-3' }));
    const ok = await xsctl(['upgrade', '--rolling', '--pool', 'demo', '--plan', '--json', '--override', 'VM_REQUIRES_SR']);
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect((JSON.parse(ok.stdout) as { totals: { migratedBytes: number } }).totals.migratedBytes).toBeGreaterThan(0);
  });

  it('changes nothing without --yes, and refuses a viewer', async () => {
    const dry = await xsctl(['upgrade', '--rolling', '--pool', 'demo', '--override', 'VM_REQUIRES_SR']);
    expect(dry.exitCode).toBe(1);
    expect(dry.stderr).toMatch(/add --yes/);
    expect(await status()).toEqual([]);
    const viewer = await xsctl(runArgs('9.9.9'), pool.viewerEnv);
    // 3: refused (docs/CLI.md exit codes).
    expect(viewer.exitCode).toBe(3);
    expect(viewer.stderr).toMatch(/PERMISSION_DENIED|operator/);
    expect(await status()).toEqual([]);
  });

  it('pause at a host boundary, a second run refused meanwhile, resume to the end', { timeout: 120_000 }, async () => {
    await simSpeed(20);
    const { proc: run } = await startUntil('7.1.1', (e) => e['kind'] === 'host-started' && e['host'] === 'xs-demo-1');
    const paused = await xsctl(['upgrade', 'pause', '--pool', 'demo']);
    expect(paused.exitCode, `${paused.stderr} ${JSON.stringify(await status())}`).toBe(0);
    const r = await run;
    // 6: the workflow paused.
    expect(r.exitCode, String(r.stderr)).toBe(6);
    const [w] = await status();
    expect(w?.state).toBe('paused');
    expect((await hostsState()).versions.filter((v) => v === '7.1.1')).toHaveLength(1);
    await simSpeed(300);
    const second = await xsctl(runArgs('7.1.9'));
    // 5: conflict, another workflow is active on the pool.
    expect(second.exitCode).toBe(5);
    expect(second.stderr).toMatch(/WORKFLOW_CONFLICT|already has an active workflow/);
    const resumed = await xsctl(['upgrade', 'resume', '--pool', 'demo']);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/DONE/);
    expect(resumed.stdout).toMatch(/What moved where/);
    expect((await status())[0]?.state).toBe('done');
    expect(await hostsState()).toEqual({ versions: ['7.1.1', '7.1.1', '7.1.1'], enabled: [true, true, true] });
  });

  it('abort: the run stops, the disabled host is enabled again', { timeout: 120_000 }, async () => {
    await simSpeed(20);
    const { proc: run } = await startUntil('7.1.2', (e) => e['kind'] === 'step-done' && String(e['step']).endsWith(':disable'));
    const aborted = await xsctl(['upgrade', 'abort', '--pool', 'demo']);
    // 4: the workflow ended failed or aborted.
    expect(aborted.exitCode).toBe(4);
    expect(aborted.stdout).toMatch(/ABORTED/);
    await run;
    await simSpeed(300);
    expect((await status())[0]?.state).toBe('aborted');
    expect((await hostsState()).enabled).toEqual([true, true, true]);
  });
});
