import type { Command } from 'commander';
import { StepOutcome, StorageRole, type AssertStorageRoleResponse } from '@xsctl/proto/gen/xsctl/agent/v1/storage';
import type { GetPoolStorageStatusResponse } from '@xsctl/proto/gen/xsctl/controller/v1/storage';
import { withController } from '../../client/connect-controller.js';
import type { GlobalFlags } from '../../config/cli-config.js';
import { CliError } from '../../output/cli-error.js';
import { formatTable, printJson, progress } from '../../output/output.js';
import { registerDrbd } from '../drbd/drbd.js';
import { registerTgt } from '../tgt/tgt.js';
import { poolStorageClient } from './pool-storage-client.js';
import { drbdPair, splitBrainText, syncText } from './render-drbd-state.js';
import { loadSpecFile } from './spec-file.js';
import { registerStorageSetup } from './setup.js';
import { registerStorageSetupStatus } from './setup-status.js';
import { registerSwitchoverFailover, renderWitness, storageFailoverClient } from './switchover-failover.js';
import { ExitCode } from '../../output/exit-codes.js';

/** Both (all) nodes side by side: one column per host, one row per fact. */
export function renderPoolStorage(res: GetPoolStorageStatusResponse): string {
  const hosts = res.hosts;
  const resources = [...new Set(hosts.flatMap((h) => h.status?.drbd.map((d) => d.name) ?? []))];
  const cell = (f: (s: NonNullable<(typeof hosts)[number]['status']>) => string) => hosts.map((h) => (h.status === undefined ? `(${h.errorCode})` : f(h.status)));
  const rows: (readonly string[])[] = [['apparent role', ...cell((s) => s.apparentRole)]];
  for (const r of resources) {
    const d = (s: NonNullable<(typeof hosts)[number]['status']>) => s.drbd.find((x) => x.name === r);
    rows.push(
      [`drbd ${r} role`, ...cell((s) => (d(s) ? drbdPair(d(s)!.role, d(s)!.peerRole) : '-'))],
      ['  disk', ...cell((s) => (d(s) ? drbdPair(d(s)!.disk, d(s)!.peerDisk) : '-'))],
      ['  connection', ...cell((s) => d(s)?.connection || '-')],
      ['  sync', ...cell((s) => (d(s) ? syncText(d(s)!) : '-'))],
      ['  split brain', ...cell((s) => (d(s) ? splitBrainText(d(s)!) : '-'))],
    );
  }
  rows.push(
    ['tgtd', ...cell((s) => (s.tgtdRunning ? 'running' : 'stopped'))],
    ['targets', ...cell((s) => s.targets.map((t) => `${t.tid}:${t.iqn} ${t.state}, ${t.nexuses.length} sessions`).join('; ') || '-')],
    ['floating IP', ...cell((s) => (s.floatingIp === '' ? '-' : s.floatingIpPresent ? `${s.floatingIp} here` : 'not here'))],
    ['enabled at boot', ...cell((s) => s.bootEnabled.join(', ') || '-')],
  );
  const table = formatTable(['', ...hosts.map((h) => `${h.host}${h.isMaster ? ' (pool master)' : ''}`)], rows);
  const warnings = hosts.flatMap((h) => (h.status?.warnings ?? []).map((w) => `  ${h.host}: ${w}`));
  const out = [table.trimEnd()];
  if (res.problems.length > 0) out.push('', 'PROBLEMS:', ...res.problems.map((p) => `  ${p}`));
  if (warnings.length > 0) out.push('', 'Warnings:', ...warnings);
  return `${out.join('\n')}\n`;
}

const outcomeText = (o: StepOutcome) => StepOutcome[o].replace('STEP_OUTCOME_', '').toLowerCase();

export function renderAssertRole(host: string, r: AssertStorageRoleResponse): string {
  const head = `${host}: ${StorageRole[r.role].replace('STORAGE_ROLE_', '').toLowerCase()} ${r.ok ? (r.unchanged ? 'already in place, nothing changed' : 'asserted') : `FAILED at ${r.failedStep}`}`;
  const table = formatTable(
    ['STEP', 'OUTCOME', 'MS', 'DETAIL'],
    r.steps.map((s) => [s.name, outcomeText(s.outcome), s.durationMs, `${s.errorCode ? `${s.errorCode}: ` : ''}${s.detail}`]),
  );
  return `${head}\n${table}`;
}

function roleOf(s: string): StorageRole {
  if (s === 'master') return StorageRole.STORAGE_ROLE_MASTER;
  if (s === 'slave') return StorageRole.STORAGE_ROLE_SLAVE;
  throw new CliError('BAD_FLAG', `unknown role "${s}"`, 'one of: master, slave');
}

function registerStorage(program: Command): void {
  const storage = program.command('storage').description('two-node hyperconverged storage (DRBD + tgtd + floating IP): status, storage role');

  storage
    .command('status')
    .description('every host of the pool side by side: DRBD, tgtd, target, floating IP, what starts at boot')
    .requiredOption('--pool <name>', 'the pool')
    .option('--spec <file>', 'storage spec (YAML) to also check the floating IP and target')
    .option('--json', 'print JSON')
    .action(async (flags: { pool: string; spec?: string; json?: boolean }, cmd: Command) => {
      const spec = flags.spec === undefined ? undefined : (await loadSpecFile(flags.spec)).storage;
      const res = await withController(cmd.optsWithGlobals<GlobalFlags>(), async ({ channel, address }) => {
        progress(`asking the controller at ${address} ...`);
        return poolStorageClient(channel).getPoolStorageStatus({ pool: flags.pool, spec });
      });
      // The witness view exists for pools with a storage section in the controller config.
      const witness = await withController(cmd.optsWithGlobals<GlobalFlags>(), ({ channel }) => storageFailoverClient(channel, 30_000).getWitnessStatus({ pool: flags.pool })).catch(() => null);
      if (flags.json === true) printJson(witness === null ? res : { ...res, witness });
      else process.stdout.write(`${renderPoolStorage(res)}${witness === null ? '' : `\n${renderWitness(witness)}`}`);
      if (res.problems.length > 0) process.exitCode = ExitCode.FINDINGS;
    });

  registerSwitchoverFailover(storage);
  registerStorageSetup(storage);
  registerStorageSetupStatus(storage);

  storage
    .command('assert-role')
    .description('bring one host to its storage role in order (master: DRBD Primary, target, IP, GARP; slave: the reverse); operator only')
    .requiredOption('--pool <name>', 'the pool')
    .requiredOption('--host <name>', 'the host')
    .requiredOption('--role <role>', 'master or slave')
    .requiredOption('--spec <file>', 'storage spec (YAML)')
    .option('--dry-run', 'show the steps without changing anything')
    .option('--json', 'print JSON')
    .action(async (flags: { pool: string; host: string; role: string; spec: string; dryRun?: boolean; json?: boolean }, cmd: Command) => {
      const role = roleOf(flags.role);
      const spec = (await loadSpecFile(flags.spec)).storage;
      const res = await withController(cmd.optsWithGlobals<GlobalFlags>(), async ({ channel, address }) => {
        progress(`${flags.dryRun === true ? 'planning' : 'asserting'} ${flags.role} on ${flags.host} via ${address} ...`);
        return poolStorageClient(channel).assertPoolStorageRole({ pool: flags.pool, host: flags.host, role, spec, dryRun: flags.dryRun === true });
      });
      if (flags.json === true) printJson(res);
      else if (res.result !== undefined) process.stdout.write(renderAssertRole(res.host, res.result));
      if (res.result?.ok !== true) process.exitCode = ExitCode.FINDINGS;
    });
}

/** `storage`, `drbd` and `tgt`: one registration line for the hyperconverged-storage commands. */
export function registerStorageCommands(program: Command): void {
  registerStorage(program);
  registerDrbd(program);
  registerTgt(program);
}
