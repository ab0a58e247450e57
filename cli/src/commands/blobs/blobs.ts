import type { Command } from 'commander';
import type { PrecheckBlobScan } from '@xsctl/proto/gen/xsctl/agent/v1/precheck';
import type { PoolPrecheckServiceCleanBlobsResponse, PoolPrecheckServiceRestoreBlobsResponse } from '@xsctl/proto/gen/xsctl/controller/v1/precheck';
import { withController } from '../../client/connect-controller.js';
import type { GlobalFlags } from '../../config/cli-config.js';
import { CliError } from '../../output/cli-error.js';
import { formatTable, printJson, progress } from '../../output/output.js';
import { poolPrecheckClient } from './pool-precheck-client.js';
import { ExitCode } from '../../output/exit-codes.js';

interface BlobFlags {
  host: string;
  pool?: string;
  json?: boolean;
  olderThan?: string;
  yes?: boolean;
  id?: string;
}

/** `90d`, `12w`, `90` (days). */
export function daysOf(text: string | undefined): number {
  if (text === undefined) return 90;
  const m = /^(\d{1,4})([dw]?)$/.exec(text.trim());
  const days = m === null ? NaN : Number(m[1]) * (m[2] === 'w' ? 7 : 1);
  if (!Number.isInteger(days) || days < 1 || days > 3650) throw new CliError('BAD_AGE', `--older-than ${text}`, 'give an age of 1-3650 days, e.g. 90d or 12w');
  return days;
}

const mib = (b: number): string => `${(b / 2 ** 20).toFixed(1)} MiB`;

export function renderScan(host: string, scan: PrecheckBlobScan): string {
  if (!scan.exists) return `${host}: ${scan.dir} does not exist\n`;
  const lines = [
    `${host}: ${scan.dir}: ${scan.files} files, ${mib(scan.bytes)}, ${scan.symlinks} links (${scan.danglingLinks} dangling, ${scan.loopingLinks} looping, ${scan.externalLinks} leaving the tree)`,
    formatTable(['SUBDIR', 'FILES', 'SIZE', 'LINKS'], scan.subdirs.map((s) => [s.name, s.files, mib(s.bytes), s.symlinks])).trimEnd(),
    formatTable(['AGE', 'FILES', 'SIZE'], scan.ageHistogram.map((b) => [b.label, b.files, mib(b.bytes)])).trimEnd(),
    ...scan.problems.map((p) => `${p.kind} link: ${p.path} -> ${p.target}`),
    ...scan.quarantines.map((q) => `quarantine ${q.id} (${q.createdAt}, older than ${q.olderThanDays}d): ${q.entries} entries, ${mib(q.bytes)} — undo: xsctl blobs undo --host ${host} --id ${q.id} --yes`),
  ];
  return `${lines.join('\n')}\n`;
}

export function renderClean(res: PoolPrecheckServiceCleanBlobsResponse, days: number): string {
  const r = res.result;
  if (r === undefined) return `${res.host}: no answer\n`;
  const what = `${r.files} message file(s) older than ${days} days (${mib(r.bytes)}) and ${r.links} link(s)`;
  const lines = [
    r.dryRun ? `${res.host}: dry run: would move ${what} to a quarantine (nothing moved; --yes moves them)` : r.quarantineId === '' ? `${res.host}: nothing to move` : `${res.host}: moved ${what} to ${r.quarantineDir}`,
    ...r.sample.map((s) => `  ${s}`),
    ...(r.skippedExternalLinks > 0 ? [`${r.skippedExternalLinks} link(s) leave the blobs tree: never touched, look at them by hand`] : []),
    ...(r.quarantineId !== '' ? [`undo: xsctl blobs undo --host ${res.host} --id ${r.quarantineId} --yes`] : []),
  ];
  return `${lines.join('\n')}\n`;
}

export function renderRestore(res: PoolPrecheckServiceRestoreBlobsResponse): string {
  const r = res.result;
  if (r === undefined) return `${res.host}: no answer\n`;
  const lines = [
    r.dryRun ? `${res.host}: dry run: would put back ${r.restored} entries (--yes restores them)` : `${res.host}: put back ${r.restored} entries${r.removed ? '; quarantine removed' : ''}`,
    ...r.conflicts.map((c) => `  kept in the quarantine, path taken again: ${c}`),
  ];
  return `${lines.join('\n')}\n`;
}

export function registerBlobs(program: Command): void {
  const blobs = program.command('blobs').description('XAPI message blobs (/var/lib/xcp/blobs) on one host: the 72% hang of the XenServer 7 installer');

  blobs
    .command('scan')
    .description('count files, size, ages and broken links (read-only)')
    .requiredOption('--host <name>', 'host (name, hostname or uuid)')
    .option('--pool <name>', 'pool of the host')
    .option('--json', 'print JSON')
    .action(async (flags: BlobFlags, cmd: Command) => {
      const res = await withController(cmd.optsWithGlobals<GlobalFlags>(), async ({ channel }) => {
        progress(`scanning the blobs of ${flags.host} ...`);
        return poolPrecheckClient(channel).scanBlobs({ pool: flags.pool ?? '', host: flags.host });
      });
      if (flags.json === true) printJson(res);
      else if (res.scan !== undefined) process.stdout.write(renderScan(res.host, res.scan));
    });

  blobs
    .command('clean')
    .description('move old message blobs and broken links to a quarantine (dry run unless --yes; undo with `blobs undo`)')
    .requiredOption('--host <name>', 'host (name, hostname or uuid)')
    .option('--pool <name>', 'pool of the host')
    .option('--older-than <age>', 'only messages older than this (e.g. 90d, 12w)', '90d')
    .option('--yes', 'really move them')
    .option('--json', 'print JSON')
    .action(async (flags: BlobFlags, cmd: Command) => {
      const days = daysOf(flags.olderThan);
      const res = await withController(cmd.optsWithGlobals<GlobalFlags>(), async ({ channel }) =>
        poolPrecheckClient(channel).cleanBlobs({ pool: flags.pool ?? '', host: flags.host, olderThanDays: days, confirm: flags.yes === true }),
      );
      if (flags.json === true) printJson(res);
      else process.stdout.write(renderClean(res, days));
    });

  blobs
    .command('undo')
    .description('put a quarantine back where it came from (dry run unless --yes)')
    .requiredOption('--host <name>', 'host (name, hostname or uuid)')
    .requiredOption('--id <quarantine>', 'quarantine id, as `blobs scan` lists them')
    .option('--pool <name>', 'pool of the host')
    .option('--yes', 'really restore')
    .option('--json', 'print JSON')
    .action(async (flags: BlobFlags, cmd: Command) => {
      const res = await withController(cmd.optsWithGlobals<GlobalFlags>(), async ({ channel }) =>
        poolPrecheckClient(channel).restoreBlobs({ pool: flags.pool ?? '', host: flags.host, quarantineId: flags.id ?? '', confirm: flags.yes === true }),
      );
      if (flags.json === true) printJson(res);
      else process.stdout.write(renderRestore(res));
      if (res.result !== undefined && res.result.conflicts.length > 0) process.exitCode = ExitCode.FINDINGS;
    });
}
