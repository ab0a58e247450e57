import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XapiClient } from '@xsctl/controller/xapi/index';
import { startSimulatedPool, type SimulatedPool } from '../src/demo/start-simulated-pool.js';
import { spawnReady, type ReadyProcess } from '../src/demo/spawn-ready.js';
import { tempDir } from '@xsctl/common/testing/temp-dir';

/**
 * `xsctl multipath rollout` end to end: the CLI -> the controller (its workflow engine and
 * journal) -> the XAPI simulator (host.disable/enable, VM.pool_migrate, PBD.unplug/plug,
 * other_config, SM's mpath-<SCSIid> counts) and one agent per host on a sandbox root (the real
 * `multipath -t` validates each stanza in a private mount namespace: root only, as in CI).
 * The demo pool: three XenServer 7.1 hosts, eight VMs on the shared iSCSI SR, ci-scratch-1 on
 * xs-demo-3's local SR (VM_REQUIRES_SR: overridden, so it is shut down and started again).
 */
const require = createRequire(import.meta.url);
const repo = join(require.resolve('@xsctl/test/package.json'), '..', '..');
const xsctlBin = join(repo, 'cli', 'bin', 'xsctl.js');
const controllerBin = join(repo, 'controller', 'dist', 'bin', 'xsctl-controller.js');
const isRoot = process.getuid?.() === 0;
const hostnames = ['xs-demo-1', 'xs-demo-2', 'xs-demo-3'];
// The hosts' multipath.conf before the rollout: XenServer 7.1 keeps the devices in the main file.
const startConf = '# /etc/multipath.conf as XenServer 7.1 installs it, trimmed\ndefaults {\n\tuser_friendly_names\tno\n}\n';

let pool: SimulatedPool;
let dir: string;
let xapi: XapiClient;

const xsctl = (args: string[], env: Record<string, string> = pool.operatorEnv) => execa(process.execPath, [xsctlBin, ...args], { env, reject: false });
const rollout = (profile: string, ...extra: string[]) => ['multipath', 'rollout', '--pool', 'demo', '--profile', profile, '--override', 'VM_REQUIRES_SR', '--poll-interval', '50', '--path-timeout', '1', ...extra];
const confOf = (hostname: string) => readFile(join(pool.hosts.find((h) => h.hostname === hostname)?.root ?? '/nonexistent', 'etc/multipath.conf'), 'utf8');
const untyped = (method: string, args: unknown[]) => (xapi.call.bind(xapi) as unknown as (m: string, a: unknown[]) => Promise<unknown>)(method, args);

interface HostNow {
  enabled: boolean;
  multipathing: string;
  handle: string;
  /** The iSCSI SR's PBD: attached, multipathed, its LUN's counts. */
  san: { attached: boolean; multipathed: string; paths: string[] };
  localAttached: boolean | null;
}

async function hostsNow(): Promise<Record<string, HostNow>> {
  const [hosts, pbds, srs] = await Promise.all([xapi.getAllRecords('host'), xapi.getAllRecords('PBD'), xapi.getAllRecords('SR')]);
  const out: Record<string, HostNow> = {};
  for (const [ref, h] of hosts) {
    const mine = [...pbds.values()].filter((p) => p.host === ref);
    const san = mine.find((p) => srs.get(p.SR)?.name_label === 'iscsi-shared');
    const local = mine.find((p) => srs.get(p.SR)?.type === 'lvm');
    out[h.name_label] = {
      enabled: h.enabled,
      multipathing: h.other_config['multipathing'] ?? '',
      handle: h.other_config['multipathhandle'] ?? '',
      san: { attached: san?.currently_attached ?? false, multipathed: san?.other_config['multipathed'] ?? '', paths: Object.entries(san?.other_config ?? {}).filter(([k]) => k.startsWith('mpath-')).map(([, v]) => v) },
      localAttached: local === undefined ? null : local.currently_attached,
    };
  }
  return out;
}

async function runningVms(): Promise<Map<string, number>> {
  const running = new Map<string, number>();
  for (const vm of (await xapi.getAllRecords('VM')).values()) if (!vm.is_control_domain && !vm.is_a_template && vm.power_state === 'Running') running.set(vm.name_label, (running.get(vm.name_label) ?? 0) + 1);
  return running;
}

const hostRefOf = async (name: string): Promise<string> => [...(await xapi.getAllRecords('host')).entries()].find(([, h]) => h.name_label === name)?.[0] ?? '';

beforeAll(async () => {
  process.env['XSCTL_SIM_CLOCK_FACTOR'] = '600';
  dir = await tempDir('xsctl-e2e-mprollout-');
  pool = await startSimulatedPool({
    dir,
    source: { pool: join(repo, 'test', 'fixtures', 'demo-pool.yaml') },
    agentPort: 20000 + ((process.pid + 11) % 20000),
    prepareRoot: async (_hostname, root) => {
      await mkdir(join(root, 'etc/multipath'), { recursive: true });
      await writeFile(join(root, 'etc/multipath.conf'), startConf);
    },
  });
  xapi = await XapiClient.connect({ url: pool.xapiUrl, user: 'root', password: 'demo-password', allowPlainHttp: true });
}, 120_000);

afterAll(async () => {
  await xapi?.close();
  await pool?.stop();
  delete process.env['XSCTL_SIM_CLOCK_FACTOR'];
});

interface PlanJson {
  runnable: boolean;
  blockers: string[];
  hosts: Array<{ host: string; order: number; role: string; action: string; stanzaChanges: boolean; stanzaDiff: string; multipathingChanges: string[]; xapiMethod: string; moves: Array<{ vm: string; to: string }>; pinned: Array<{ vm: string; code: string }>; srs: Array<{ sr: string; type: string }> }>;
}

describe.skipIf(!isRoot)('xsctl multipath rollout', () => {
  it('--plan: each host in its turn with its stanza diff, moves and SRs; blocked without the override; nothing changes, and without --yes neither', async () => {
    const blocked = await xsctl(['multipath', 'rollout', '--pool', 'demo', '--profile', 'starwind', '--plan', '--json']);
    expect(blocked.exitCode, blocked.stderr).toBe(1);
    expect((JSON.parse(blocked.stdout) as PlanJson).blockers.join('\n')).toMatch(/ci-scratch-1.*--override VM_REQUIRES_SR/s);

    const r = await xsctl([...rollout('starwind'), '--plan', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const plan = JSON.parse(r.stdout) as PlanJson;
    expect(plan.runnable).toBe(true);
    expect(plan.hosts.map((h) => [h.host, h.order, h.role, h.action])).toEqual([
      ['xs-demo-1', 1, 'master', 'rollout'],
      ['xs-demo-2', 2, 'slave', 'rollout'],
      ['xs-demo-3', 3, 'slave', 'rollout'],
    ]);
    for (const h of plan.hosts) {
      // demo hosts come with multipathing=false and multipathhandle=dmp; XenServer 7.1 is platform 2.2: other_config.
      expect(h.multipathingChanges).toEqual(['multipathing false -> true']);
      expect(h.xapiMethod).toBe('other_config');
      expect(h.stanzaChanges).toBe(true);
      expect(h.stanzaDiff).toMatch(/^\+\s*vendor "STARWIND"$/m);
      expect(h.srs.map((s) => [s.sr, s.type])).toEqual([['iscsi-shared', 'lvmoiscsi']]);
    }
    // The master's three guests leave it first (it goes first); ci-scratch-1 stays pinned on xs-demo-3.
    expect(plan.hosts[0]?.moves.map((m) => m.vm).sort()).toEqual(['db-1', 'web-1', 'web-2']);
    expect(plan.hosts[2]?.pinned).toEqual([{ vm: 'ci-scratch-1', code: 'VM_REQUIRES_SR' }]);

    const text = await xsctl(rollout('starwind'));
    expect(text.exitCode).toBe(1);
    expect(text.stderr).toMatch(/add --yes/);
    expect(text.stdout).toMatch(/== xs-demo-1 \(rollout\)/);
    expect(text.stdout).toMatch(/VMs that left stay where they went/);
    for (const h of hostnames) expect(await confOf(h)).toBe(startConf);
    expect(Object.values(await hostsNow()).map((h) => [h.enabled, h.multipathing])).toEqual([[true, 'false'], [true, 'false'], [true, 'false']]);
  });

  it('a host short of a path pauses the rollout there, in maintenance; the same command continues once the path is back, to every host enabled, multipathed and re-plugged', { timeout: 120_000 }, async () => {
    const before = await runningVms();
    await untyped('simulator.set_failed_paths', [await hostRefOf('xs-demo-2'), 1]);
    const first = await xsctl([...rollout('starwind'), '--yes']);
    // 6: the workflow paused.
    expect(first.exitCode, first.stderr).toBe(6);
    expect(first.stderr).toMatch(/xs-demo-2: after \d+ s, 1 LUN\(s\) show fewer than 2 active paths \(iscsi-shared: mpath-\S+ \[1, 2\]\)/);
    expect(first.stderr).toMatch(/paused/);
    let now = await hostsNow();
    expect(now['xs-demo-1']).toMatchObject({ enabled: true, multipathing: 'true', handle: 'dmp', san: { attached: true, multipathed: 'true', paths: ['[2, 2]'] } });
    // Left in maintenance: disabled, multipathing on, plugged, one path short.
    expect(now['xs-demo-2']).toMatchObject({ enabled: false, multipathing: 'true', san: { attached: true, paths: ['[1, 2]'] } });
    // Not reached.
    expect(now['xs-demo-3']).toMatchObject({ enabled: true, multipathing: 'false' });
    expect(await confOf('xs-demo-3')).toBe(startConf);
    expect(await confOf('xs-demo-2')).toContain('"STARWIND"');
    const status = await xsctl(['multipath', 'rollout-status', '--pool', 'demo', '--json']);
    expect(status.exitCode, status.stderr).toBe(6);
    expect(JSON.parse(status.stdout)).toMatchObject({ state: 'paused' });

    await untyped('simulator.set_failed_paths', [await hostRefOf('xs-demo-2'), 0]);
    const second = await xsctl([...rollout('starwind'), '--yes']);
    expect(second.exitCode, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/rollout done/);
    now = await hostsNow();
    for (const h of hostnames) {
      expect(now[h], h).toMatchObject({ enabled: true, multipathing: 'true', handle: 'dmp', san: { attached: true, multipathed: 'true', paths: ['[2, 2]'] } });
      const conf = await confOf(h);
      // The admin's file kept as it was, the profile's stanza added in a devices section.
      expect(conf.startsWith(startConf)).toBe(true);
      expect(conf.slice(startConf.length)).toMatch(/^\ndevices \{\n\tdevice \{\n\t\tvendor "STARWIND"\n\t\tproduct "STARWIND\*"\n/);
    }
    // The local SR's PBD is not the rollout's: never unplugged.
    expect(now['xs-demo-3']?.localAttached).toBe(true);
    // Every guest runs once, ci-scratch-1 again too.
    expect(await runningVms()).toEqual(before);

    // Again: nothing to change on any host, nobody evacuated.
    const again = await xsctl([...rollout('starwind'), '--plan', '--json']);
    expect((JSON.parse(again.stdout) as PlanJson).hosts.map((h) => h.action)).toEqual(['done', 'done', 'done']);
  });

  it('the controller killed mid-rollout: started again on its journal it continues by itself, and the same command follows it to the end', { timeout: 180_000 }, async () => {
    const before = await runningVms();
    const journal = join(dir, 'journal-restart.sqlite');
    const startController = async (killAfter?: number): Promise<{ proc: ReadyProcess; env: Record<string, string> }> => {
      const proc = await spawnReady(controllerBin, ['--config', join(dir, 'controller.yaml'), '--journal', journal, '--listen', '127.0.0.1:0'], {
        logFile: join(dir, 'logs', 'restart-controller.log'),
        env: { XSCTL_TEST_KILL_AFTER_JOURNAL_WRITE: killAfter === undefined ? '' : String(killAfter) },
      });
      return { proc, env: { ...pool.operatorEnv, XSCTL_CONTROLLER: `127.0.0.1:${String(proc.ready['port'])}` } };
    };
    // 40 journal writes: the plan (2), xs-demo-1's recheck and ten steps (24 or more), then into xs-demo-2's turn.
    let ctl = await startController(40);
    try {
      const killed = await xsctl([...rollout('hp-p4000'), '--yes'], ctl.env);
      // 2: the controller went away under the stream (UNAVAILABLE: "cannot reach the controller").
      expect(killed.exitCode, killed.stderr).toBe(2);
      expect(killed.stderr).toMatch(/cannot reach the controller/);
      expect(ctl.proc.child.signalCode ?? (await new Promise((r) => ctl.proc.child.once('exit', (_c, s) => r(s))))).toBe('SIGKILL');
      const mid = await hostsNow();
      expect(mid['xs-demo-3']?.enabled).toBe(true);
      expect(await confOf('xs-demo-3')).not.toContain('"LEFTHAND"');

      ctl = await startController();
      const resumed = await xsctl([...rollout('hp-p4000'), '--yes'], ctl.env);
      expect(resumed.exitCode, resumed.stderr).toBe(0);
      expect(resumed.stderr).toMatch(/rollout done/);
      const status = JSON.parse((await xsctl(['multipath', 'rollout-status', '--pool', 'demo', '--json'], ctl.env)).stdout) as { state: string; steps: Array<{ step: string; host: string; status: string }> };
      expect(status.state).toBe('done');
      // One disable and one enable per host: nothing was done twice.
      for (const step of ['disable', 'unplug', 'replug', 'enable']) expect(status.steps.filter((s) => s.step === step).map((s) => s.host).sort(), step).toEqual(hostnames);
      const now = await hostsNow();
      for (const h of hostnames) {
        expect(now[h], h).toMatchObject({ enabled: true, multipathing: 'true', handle: 'dmp', san: { attached: true, multipathed: 'true', paths: ['[2, 2]'] } });
        expect(await confOf(h)).toContain('vendor "LEFTHAND"');
      }
      expect(await runningVms()).toEqual(before);
    } finally {
      await ctl.proc.stop();
    }
  });

  it('a paused rollout aborted (`upgrade abort --id`, any workflow): the host left in maintenance is enabled again', { timeout: 120_000 }, async () => {
    const master = await hostRefOf('xs-demo-1');
    await untyped('simulator.set_failed_paths', [master, 1]);
    try {
      const paused = await xsctl([...rollout('dell-md36xx-alua'), '--yes']);
      expect(paused.exitCode, paused.stderr).toBe(6);
      expect((await hostsNow())['xs-demo-1']).toMatchObject({ enabled: false, san: { attached: true, paths: ['[1, 2]'] } });
      const id = (JSON.parse((await xsctl(['multipath', 'rollout-status', '--pool', 'demo', '--json'])).stdout) as { workflowId: string }).workflowId;
      const aborted = await xsctl(['upgrade', 'abort', '--id', id]);
      // 4: the workflow ended aborted.
      expect(aborted.exitCode, aborted.stderr).toBe(4);
      const status = await xsctl(['multipath', 'rollout-status', '--pool', 'demo', '--json']);
      expect(status.exitCode).toBe(4);
      expect(JSON.parse(status.stdout)).toMatchObject({ state: 'aborted' });
      expect(Object.values(await hostsNow()).map((h) => h.enabled)).toEqual([true, true, true]);
    } finally {
      await untyped('simulator.set_failed_paths', [master, 0]);
    }
  });

  it('a stanza multipath -t refuses: the plan is blocked by the dry run, and --yes stops before any host leaves service', { timeout: 120_000 }, async () => {
    // netapp keeps `features "1 queue_if_no_path"` for XenServer 7's 0.4.9; this machine's
    // multipath-tools 0.9.4 (the one the agents' namespace check runs) prints it as deprecated,
    // a line the hosts' current files do not cause: the write would be refused on every host.
    const confs = await Promise.all(hostnames.map(confOf));
    const placement = async () => [...(await xapi.getAllRecords('VM')).values()].filter((v) => !v.is_control_domain && !v.is_a_template).map((v) => `${v.name_label}@${v.resident_on}:${v.power_state}`).sort();
    const vmsBefore = await placement();
    const enabledBefore = Object.values(await hostsNow()).map((h) => [h.enabled, h.multipathing]);
    expect(enabledBefore.every(([e]) => e === true)).toBe(true);

    const plan = await xsctl([...rollout('netapp'), '--plan', '--json']);
    expect(plan.exitCode, plan.stderr).toBe(1);
    const p = JSON.parse(plan.stdout) as PlanJson;
    expect(p.runnable).toBe(false);
    for (const h of hostnames) {
      expect(p.blockers.join('\n')).toMatch(new RegExp(`^${h}: the dry run of the apply failed: MULTIPATH_CONFIG_REJECTED: .*/etc/multipath\\.conf.*NETAPP/LUN: option 'features "1 queue_if_no_path"' is deprecated`, 'm'));
    }

    const run = await xsctl([...rollout('netapp'), '--yes']);
    expect(run.exitCode, run.stderr).not.toBe(0);
    // The workflow's plan step ran the same dry runs: MULTIPATH_ROLLOUT_BLOCKED (FAILED_PRECONDITION).
    expect(run.stderr).toMatch(/PRECONDITION_FAILED: the multipath rollout of demo cannot run as asked: xs-demo-1: the dry run of the apply failed: MULTIPATH_CONFIG_REJECTED: multipath -t rejected \/etc\/multipath\.conf: NETAPP\/LUN: option 'features "1 queue_if_no_path"' is deprecated/);
    // Nobody left service, nothing moved, no file changed.
    expect(Object.values(await hostsNow()).map((h) => [h.enabled, h.multipathing])).toEqual(enabledBefore);
    expect(await placement()).toEqual(vmsBefore);
    expect(await Promise.all(hostnames.map(confOf))).toEqual(confs);
  });
});
