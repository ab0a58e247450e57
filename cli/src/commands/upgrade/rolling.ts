import type { Command } from 'commander';
import type { UpgradeOptions } from '@xsctl/proto/gen/xsctl/controller/v1/upgrade';
import type { XapiClient } from '@xsctl/controller/xapi/index';
import { planMessage, PlanInputError, rehearse } from '@xsctl/controller/placement/index';
import { memoryPolicies, readPoolInput, type MemoryPolicy } from '@xsctl/controller/pool-model/index';
import { withController } from '../../client/connect-controller.js';
import type { GlobalFlags } from '../../config/cli-config.js';
import { CliError } from '../../output/cli-error.js';
import { printJson, progress } from '../../output/output.js';
import { ProgressDisplay, renderPlan } from './render-upgrade.js';
import { finishWorkflow } from './finish-workflow.js';
import { stderrPaint } from '../../output/colour.js';
import { ExitCode } from '../../output/exit-codes.js';
import { upgradeClient } from './upgrade-client.js';

export interface RollingFlags {
  rolling?: boolean;
  pool?: string;
  action?: string;
  plan?: boolean;
  yes?: boolean;
  maxParallel?: string;
  maxHostsDown?: string;
  memoryPolicy?: string;
  shutdownTimeout?: string;
  startConcurrency?: string;
  migrationNetwork?: string;
  exclude?: string[];
  override?: string[];
  actionOption?: string[];
  hostBootTimeout?: string;
  pollInterval?: string;
  skipAgentCheck?: boolean;
  fromDump?: string;
  json?: boolean;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

function positiveInt(name: string, value: string | undefined): number {
  if (value === undefined) return 0;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new CliError('BAD_FLAG', `${name} must be a positive integer`, `got "${value}"`);
  return n;
}

export function optionsFrom(flags: RollingFlags): UpgradeOptions {
  const actionOptions: Record<string, string> = {};
  for (const kv of flags.actionOption ?? []) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new CliError('BAD_FLAG', `--action-option ${kv}`, 'use KEY=VALUE');
    actionOptions[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  const memoryPolicy = flags.memoryPolicy ?? '';
  if (memoryPolicy !== '' && !memoryPolicies.includes(memoryPolicy as MemoryPolicy)) throw new CliError('BAD_FLAG', `--memory-policy ${memoryPolicy}`, `one of ${memoryPolicies.join(', ')}`);
  return {
    pool: flags.pool ?? '',
    action: flags.action ?? '',
    maxParallel: positiveInt('--max-parallel', flags.maxParallel),
    maxHostsDown: positiveInt('--max-hosts-down', flags.maxHostsDown),
    memoryPolicy,
    shutdownTimeoutSeconds: positiveInt('--shutdown-timeout', flags.shutdownTimeout),
    startConcurrency: positiveInt('--start-concurrency', flags.startConcurrency),
    migrationNetwork: flags.migrationNetwork ?? '',
    exclude: flags.exclude ?? [],
    overrides: flags.override ?? [],
    hostBootTimeoutSeconds: positiveInt('--host-boot-timeout', flags.hostBootTimeout),
    pollIntervalMs: positiveInt('--poll-interval', flags.pollInterval),
    actionOptions,
    skipAgentCheck: flags.skipAgentCheck === true,
  };
}

/**
 * The rehearsal: loads a `xe pool-dump-database` file into the XAPI simulator in this process and
 * reads it through the controller's XAPI adapter, as a live pool is read, then plans. No
 * controller, no pool: nothing changes anywhere. The simulator ships with the test package of the
 * source tree; an installed CLI without it says so.
 */
async function planFromDump(file: string, flags: RollingFlags): Promise<void> {
  const harness = '@xsctl/test/sim-harness/open-dump';
  let openDump: (file: string) => Promise<{ xapi: XapiClient; close(): Promise<void> }>;
  try {
    ({ openDump } = (await import(harness)) as { openDump: typeof openDump });
  } catch (err) {
    throw new CliError('SIMULATOR_MISSING', 'the XAPI simulator (the dump loader) is not installed with this CLI', 'run --from-dump from the xsctl source tree after `npm run build`', { cause: err });
  }
  const options = optionsFrom(flags);
  const dump = await openDump(file);
  let report: ReturnType<typeof rehearse>;
  try {
    const input = await readPoolInput(dump.xapi);
    report = rehearse(input, {
      exclude: flags.exclude ?? [],
      overrides: flags.override ?? [],
      maxHostsDown: options.maxHostsDown === 0 ? 1 : options.maxHostsDown,
      ...(options.memoryPolicy === '' ? {} : { memoryPolicy: options.memoryPolicy as MemoryPolicy }),
    });
  } catch (err) {
    if (err instanceof PlanInputError) throw new CliError('PLAN_REFUSED', err.message, 'nothing to upgrade in this dump with these flags');
    throw err;
  } finally {
    await dump.close();
  }
  if (!report.runnable) process.exitCode = ExitCode.FINDINGS;
  if (flags.json === true) {
    printJson(report);
    return;
  }
  process.stdout.write(renderPlan(planMessage(report)));
  for (const p of report.problems) process.stderr.write(`plan check: ${p}\n`);
}

export async function runRolling(flags: RollingFlags, global: GlobalFlags): Promise<void> {
  if (flags.fromDump !== undefined) {
    if (flags.plan !== true) throw new CliError('BAD_FLAG', '--from-dump only rehearses', 'add --plan: a dump is planned, never upgraded');
    await planFromDump(flags.fromDump, flags);
    return;
  }
  if (flags.pool === undefined) throw new CliError('BAD_FLAG', 'no pool', 'give --pool NAME');
  const options = optionsFrom(flags);

  await withController(global, async ({ channel, address }) => {
    const client = upgradeClient(channel);
    if (flags.plan === true || flags.yes !== true) {
      if (flags.json !== true) progress(`planning at the controller ${address} ...`);
      const { plan } = await client.plan({ options });
      if (plan === undefined) throw new CliError('NO_PLAN', 'the controller returned no plan');
      if (flags.json === true) printJson(plan);
      else process.stdout.write(renderPlan(plan));
      if (flags.plan !== true) {
        progress(plan.runnable ? 'nothing changed: add --yes to run this rolling upgrade' : 'nothing changed: the plan is blocked');
        process.exitCode = ExitCode.FINDINGS;
      } else if (!plan.runnable) {
        process.exitCode = ExitCode.FINDINGS;
      }
      return;
    }

    const display = new ProgressDisplay(process.stderr.isTTY === true, (s) => process.stderr.write(s), stderrPaint());
    let workflowId = '';
    for await (const { event } of client.startRollingUpgrade({ options, confirm: true })) {
      if (event === undefined) continue;
      workflowId = event.workflowId;
      if (flags.json === true) process.stdout.write(`${JSON.stringify(event)}\n`);
      else display.handle(event);
    }
    await finishWorkflow(client, workflowId, display, flags.json === true);
  });
}

export function addRollingOptions(cmd: Command): Command {
  return cmd
    .option('--rolling', 'a rolling pool upgrade: host by host, master first, VMs moved away and back to service')
    .option('--pool <name>', 'the pool')
    .option('--action <name>', 'xcp-ng-update (default) | apply-updates | iso | simulated')
    .option('--plan', 'print the plan and change nothing')
    .option('--yes', 'run it (without: print the plan and stop)')
    .option('--max-parallel <n>', 'migrations at once (default 2)')
    .option('--max-hosts-down <n>', 'non-master hosts upgraded at once, where the whole sequence has the room (default 1)')
    .option('--memory-policy <policy>', 'xapi (dynamic_min + overhead, as XAPI places VMs; default) or static-max (stricter)')
    .option('--shutdown-timeout <seconds>', 'VMs that cannot move: clean shutdown limit before a hard one (default 300)')
    .option('--start-concurrency <n>', 'VMs that cannot move: started at once after their host is back (default 2)')
    .option('--migration-network <ref|uuid>', 'network for migration traffic (default: management)')
    .option('--exclude <host>', 'leave this host out (repeatable)', collect)
    .option('--override <check>', 'override a named check, e.g. VM_REQUIRES_SR (repeatable)', collect)
    .option('--action-option <key=value>', 'option for the action, e.g. version=8.3.0 for simulated (repeatable)', collect)
    .option('--host-boot-timeout <seconds>', 'how long to wait for a host to come back (default 1800)')
    .option('--poll-interval <ms>', 'how often to look while waiting (default 2000)')
    .option('--skip-agent-check', 'do not wait for the xsctl agent after a reboot')
    .option('--from-dump <file>', 'with --plan: rehearse on an `xe pool-dump-database` file, no controller needed')
    .option('--json', 'JSON: the plan, or one event per line');
}
