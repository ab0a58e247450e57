import { createRequire } from 'node:module';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Journal } from '@xsctl/controller/journal/journal';
import { WorkflowStore, type WorkflowRow } from '@xsctl/controller/workflows/engine/workflow-store';
import { asRef, XapiClient } from '@xsctl/controller/xapi/index';
import { startSimulatedPool, type SimulatedPool } from '../src/demo/start-simulated-pool.js';
import { spawnReady, type ReadyProcess } from '../src/demo/spawn-ready.js';
import { tempDir } from '@xsctl/common/testing/temp-dir';

/**
 * The real thing: simulator, agents and controller as separate processes, the CLI starting the
 * upgrade. The controller SIGKILLs itself right after its Nth journal write
 * (XSCTL_TEST_KILL_AFTER_JOURNAL_WRITE) and is started again on the same journal; it resumes by
 * itself. For every N the pool must end fully upgraded, every host enabled, every VM running once,
 * HA on as before, and exactly one reboot per host.
 * XSCTL_E2E_KILL_STRIDE=k tries every k-th boundary (default 1: all of them).
 */
const require = createRequire(import.meta.url);
const repo = join(require.resolve('@xsctl/test/package.json'), '..', '..');
const controllerBin = join(repo, 'controller', 'dist', 'bin', 'xsctl-controller.js');
const xsctl = join(repo, 'cli', 'bin', 'xsctl.js');
const stride = Math.max(1, Number(process.env['XSCTL_E2E_KILL_STRIDE'] ?? '1'));
const password = 'demo-password';

let pool: SimulatedPool;
let dir: string;
let xapi: XapiClient;

beforeAll(async () => {
  // The simulator reads this: a 180 s reboot takes 0.3 s.
  process.env['XSCTL_SIM_CLOCK_FACTOR'] = '600';
  dir = await tempDir('xsctl-e2e-sigkill-');
  pool = await startSimulatedPool({ dir, source: { pool: join(repo, 'test', 'fixtures', 'demo-pool.yaml') }, agentPort: 20000 + (process.pid % 20000) });
  xapi = await XapiClient.connect({ url: pool.xapiUrl, user: 'root', password, allowPlainHttp: true });
}, 120_000);

afterAll(async () => {
  await xapi?.close();
  await pool?.stop();
  delete process.env['XSCTL_SIM_CLOCK_FACTOR'];
});

async function startController(journal: string, killAfter?: number): Promise<{ proc: ReadyProcess; address: string }> {
  const proc = await spawnReady(controllerBin, ['--config', join(dir, 'controller.yaml'), '--journal', journal, '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0'], {
    logFile: join(dir, 'logs', 'sigkill-controller.log'),
    env: killAfter === undefined ? { XSCTL_TEST_KILL_AFTER_JOURNAL_WRITE: '' } : { XSCTL_TEST_KILL_AFTER_JOURNAL_WRITE: String(killAfter) },
  });
  return { proc, address: `127.0.0.1:${String(proc.ready['port'])}` };
}

const untyped = (): ((method: string, args: unknown[]) => Promise<unknown>) => xapi.call.bind(xapi) as unknown as (method: string, args: unknown[]) => Promise<unknown>;

async function poolState(): Promise<{ versions: string[]; enabled: boolean[]; live: boolean[]; running: Map<string, number>; ha: boolean; reboots: number }> {
  const [hosts, metrics, vms, pools] = await Promise.all([xapi.getAllRecords('host'), xapi.getAllRecords('host_metrics'), xapi.getAllRecords('VM'), xapi.getAllRecords('pool')]);
  const running = new Map<string, number>();
  for (const vm of vms.values()) if (!vm.is_control_domain && !vm.is_a_template && vm.power_state === 'Running') running.set(vm.name_label, (running.get(vm.name_label) ?? 0) + 1);
  const stats = (await untyped()('simulator.configure_upgrade', [{}])) as { reboots: number };
  return {
    versions: [...hosts.values()].map((h) => h.software_version['product_version'] ?? ''),
    enabled: [...hosts.values()].map((h) => h.enabled),
    live: [...hosts.values()].map((h) => metrics.get(h.metrics)?.live ?? false),
    running,
    ha: [...pools.values()][0]?.ha_enabled ?? false,
    reboots: stats.reboots,
  };
}

async function ensureHa(): Promise<void> {
  const p = [...(await xapi.getAllRecords('pool')).values()][0];
  if (p?.ha_enabled === true) return;
  const sr = [...(await xapi.getAllRecords('SR')).entries()].find(([, s]) => s.name_label === 'iscsi-shared')?.[0];
  await xapi.callAsync('pool.enable_ha', [[asRef<'SR'>(String(sr))], {}]);
}

/** One rolling upgrade to `version`, the controller killed after journal write `killAfter` and restarted until the workflow ends. */
async function runWithKill(version: string, killAfter: number | undefined): Promise<{ row: WorkflowRow; restarts: number; writes: number }> {
  const journalFile = join(dir, `journal-${version}.sqlite`);
  let ctl = await startController(journalFile, killAfter);
  const cli = execa(process.execPath, [xsctl, 'upgrade', '--rolling', '--pool', 'demo', '--action', 'simulated', '--action-option', `version=${version}`, '--yes', '--override', 'VM_REQUIRES_SR', '--poll-interval', '50', '--host-boot-timeout', '120', '--json'], {
    env: { ...pool.operatorEnv, XSCTL_CONTROLLER: ctl.address },
    reject: false,
  });
  const journal = new Journal(journalFile);
  const store = new WorkflowStore(journal.db);
  let restarts = 0;
  try {
    for (;;) {
      await new Promise((r) => setTimeout(r, 100));
      const row = store.list({ limit: 1 })[0];
      if (row !== undefined && ['done', 'failed', 'aborted'].includes(row.state)) {
        await cli;
        const writes = store.steps(row.id).reduce((n, s) => n + 2 * Number(s.intent['attempts'] ?? 1), 0);
        return { row, restarts, writes };
      }
      if (ctl.proc.child.exitCode !== null || ctl.proc.child.signalCode !== null) {
        // Killed: start it again on the same journal, without the hook. It resumes by itself.
        restarts++;
        ctl = await startController(journalFile);
      }
    }
  } finally {
    journal.close();
    await ctl.proc.stop();
  }
}

describe('rolling upgrade with the controller SIGKILLed at every journal write', () => {
  it('ends in the same state from every boundary', { timeout: 3_600_000 }, async () => {
    await ensureHa();
    const initial = await poolState();
    expect([...initial.running.values()].every((n) => n === 1)).toBe(true);

    // A clean run tells how many boundaries there are.
    const clean = await runWithKill('7.2.0', undefined);
    expect(clean.row.error).toBe('');
    expect(clean.row.state).toBe('done');
    const afterClean = await poolState();
    expect(afterClean.reboots - initial.reboots).toBe(3);
    expect(afterClean.ha).toBe(true);
    const total = clean.writes;
    expect(total).toBeGreaterThan(60);

    let reboots = afterClean.reboots;
    for (let n = 1; n <= total; n += stride) {
      await ensureHa();
      const version = `7.3.${n}`;
      const { row, restarts } = await runWithKill(version, n);
      expect(restarts, `boundary ${n}`).toBe(1);
      expect(row.error, `boundary ${n}`).toBe('');
      expect(row.state, `boundary ${n}`).toBe('done');
      const s = await poolState();
      expect(s.versions, `boundary ${n}`).toEqual([version, version, version]);
      expect(s.enabled.every(Boolean) && s.live.every(Boolean), `boundary ${n}`).toBe(true);
      expect([...s.running.keys()].sort(), `boundary ${n}`).toEqual([...initial.running.keys()].sort());
      expect([...s.running.values()].every((c) => c === 1), `boundary ${n}`).toBe(true);
      expect(s.ha, `boundary ${n}`).toBe(true);
      expect(s.reboots - reboots, `boundary ${n}: one reboot per host`).toBe(3);
      reboots = s.reboots;
    }
  });
});
