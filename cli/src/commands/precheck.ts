import type { Command } from 'commander';
import { PrecheckSeverity, type PrecheckFinding } from '@xsctl/proto/gen/xsctl/agent/v1/precheck';
import type { PoolPrecheckFinding, PoolPrecheckServiceRunResponse } from '@xsctl/proto/gen/xsctl/controller/v1/precheck';
import { withController } from '../client/connect-controller.js';
import type { GlobalFlags } from '../config/cli-config.js';
import { CliError } from '../output/cli-error.js';
import { formatTable, printJson, progress } from '../output/output.js';
import { poolPrecheckClient } from './blobs/pool-precheck-client.js';
import { painter, stdoutPaint, type Painter } from '../output/colour.js';
import { ExitCode } from '../output/exit-codes.js';

const severityName: Readonly<Record<number, string>> = {
  [PrecheckSeverity.PRECHECK_SEVERITY_INFO]: 'info',
  [PrecheckSeverity.PRECHECK_SEVERITY_WARNING]: 'warning',
  [PrecheckSeverity.PRECHECK_SEVERITY_BLOCKER]: 'blocker',
};
const sev = (s: PrecheckSeverity): string => severityName[s] ?? 'unknown';

export interface ReportRow {
  scope: 'pool' | 'host';
  host: string;
  id: string;
  severity: string;
  summary: string;
  evidence: string[];
  fix: string;
  error?: string;
  details?: Record<string, unknown>;
}

const detailsOf = (d: PoolPrecheckFinding['details'] | PrecheckFinding['details']): Record<string, unknown> | undefined =>
  d === undefined ? undefined : { kind: d.$case, ...(d.value as unknown as Record<string, unknown>) };

/** Every finding of the report as one list: pool findings first, then each host's, master first. */
export function reportRows(res: PoolPrecheckServiceRunResponse): ReportRow[] {
  const rows: ReportRow[] = res.poolFindings.map((f) => ({
    scope: 'pool',
    host: f.host,
    id: f.id,
    severity: sev(f.severity),
    summary: f.summary,
    evidence: f.evidence,
    fix: f.fix,
    ...(f.details === undefined ? {} : { details: detailsOf(f.details) }),
  }));
  for (const h of res.hosts) {
    for (const f of h.findings) {
      rows.push({
        scope: 'host',
        host: h.host,
        id: f.id,
        severity: sev(f.severity),
        summary: f.summary,
        evidence: f.evidence,
        fix: f.fix,
        ...(f.error === '' ? {} : { error: f.error }),
        ...(f.details === undefined ? {} : { details: detailsOf(f.details) }),
      });
    }
  }
  return rows;
}

/** The JSON `xsctl precheck --json` prints; field names are a contract. */
export function reportJson(res: PoolPrecheckServiceRunResponse): Record<string, unknown> {
  return {
    pool: res.pool,
    checkedAt: res.checkedAt,
    ok: res.blockers === 0,
    blockers: res.blockers,
    warnings: res.warnings,
    hosts: res.hosts.map((h) => ({ host: h.host, uuid: h.uuid, address: h.address, master: h.isMaster, agentOk: h.agentOk, ...(h.agentOk ? {} : { agentError: `${h.agentErrorCode}: ${h.agentError}` }) })),
    findings: reportRows(res),
  };
}

/** `paint` colours the verdict and the blocker/warning headings (only on a terminal, see colour.ts). */
export function renderReport(res: PoolPrecheckServiceRunResponse, paint: Painter = painter(false)): string {
  const rows = reportRows(res);
  const table = formatTable(
    ['SCOPE', 'CHECK', 'SEVERITY', 'SUMMARY'],
    rows.map((r) => [r.scope === 'pool' ? (r.host === '' ? `pool ${res.pool}` : `pool/${r.host}`) : r.host, r.id, r.severity.toUpperCase(), r.summary]),
  );
  const fixes = rows
    .filter((r) => r.severity !== 'info' && (r.fix !== '' || r.error !== undefined))
    .map((r) => `${paint.paint(r.severity === 'blocker' ? 'red' : 'yellow', r.severity.toUpperCase())} ${r.scope === 'pool' ? (r.host || 'pool') : r.host} ${r.id}:\n${r.evidence.map((e) => `    ${e}`).join('\n')}${r.evidence.length ? '\n' : ''}${r.error ? `    error: ${r.error}\n` : ''}${r.fix ? `  fix: ${r.fix}\n` : ''}`);
  const verdict = res.blockers === 0 ? paint.paint('green', `no blockers (${res.warnings} warning(s)): the pool may be upgraded`) : paint.paint('red', `${res.blockers} blocker(s), ${res.warnings} warning(s): do not upgrade yet`);
  return `${table}${fixes.length > 0 ? `\n${fixes.join('\n')}` : ''}\n${verdict}\n`;
}

function hoursOf(text: string | undefined): number {
  if (text === undefined) return 24;
  const m = /^(\d{1,5})([hd]?)$/.exec(text);
  if (m === null) throw new CliError('BAD_DURATION', `--max-backup-age ${text}`, 'give hours or days, e.g. 24h or 7d');
  return Number(m[1]) * (m[2] === 'd' ? 24 : 1);
}

export function registerPrecheck(program: Command): void {
  program
    .command('precheck')
    .description('check a pool before an upgrade: pool-wide checks through XAPI (read-only) and every host\'s checks through its agent')
    .requiredOption('--pool <name>', 'pool to check')
    .option('--json', 'print JSON')
    .option('--backup-metadata', 'take a pool metadata backup (GET /pool/xmldbdump) before checking (operator)')
    .option('--max-backup-age <age>', 'a metadata backup older than this is reported (e.g. 24h, 7d)', '24h')
    .option('--accept-local-sr-loss <host>', 'this host may lose the local SR on its boot disk to /var/preserve/safe2upgrade (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .action(async (flags: { pool: string; json?: boolean; backupMetadata?: boolean; maxBackupAge?: string; acceptLocalSrLoss: string[] }, cmd: Command) => {
      const global = cmd.optsWithGlobals<GlobalFlags>();
      const maxAge = hoursOf(flags.maxBackupAge);
      const res = await withController(global, async ({ channel, address }) => {
        const client = poolPrecheckClient(channel);
        if (flags.backupMetadata === true) {
          progress(`taking a metadata backup of pool ${flags.pool} ...`);
          const b = await client.takeMetadataBackup({ pool: flags.pool });
          progress(`saved ${b.bytes} bytes to ${b.file} (sha256 ${b.sha256})`);
        }
        progress(`checking pool ${flags.pool} through the controller at ${address} ...`);
        return client.run({ pool: flags.pool, metadataBackupMaxAgeHours: maxAge, acceptLocalSrLoss: flags.acceptLocalSrLoss });
      });
      if (flags.json === true) printJson(reportJson(res));
      else process.stdout.write(renderReport(res, stdoutPaint()));
      process.exitCode = res.blockers > 0 ? ExitCode.FINDINGS : ExitCode.OK;
    });
}
