import { isAbsolute, resolve } from 'node:path';
import type { Command } from 'commander';
import { PrecheckSeverity, type PrecheckFinding } from '@xsctl/proto/gen/xsctl/agent/v1/precheck';
import { createLogger } from '@xsctl/common/log/create-logger';
import { CommandRunner } from '../exec/command-runner.js';
import { SandboxRoot } from '../fs/sandbox-root.js';
import { defaultAgentConfig } from '../config/agent-config.js';
import { severityName } from '../precheck/precheck-context.js';
import { precheckIdList, precheckIds } from '../precheck/precheck-ids.js';

interface PrecheckFlags {
  root?: string;
  bootDisk?: string;
  checks?: string;
  json?: boolean;
  stateDir?: string;
}

/** The JSON contract of `xsctl-agent precheck --json` (and of the CLI's per-host findings). */
export function findingToJson(f: PrecheckFinding): Record<string, unknown> {
  return {
    id: f.id,
    severity: severityName[f.severity],
    summary: f.summary,
    evidence: f.evidence,
    fix: f.fix,
    ...(f.error === '' ? {} : { error: f.error }),
    ...(f.details === undefined ? {} : { details: { kind: f.details.$case, ...f.details.value } }),
  };
}

function renderText(findings: readonly PrecheckFinding[]): string {
  const lines: string[] = [];
  for (const f of findings) {
    lines.push(`${severityName[f.severity].toUpperCase().padEnd(8)} ${f.id.padEnd(24)} ${f.summary}`);
    for (const e of f.evidence) lines.push(`${' '.repeat(34)}${e}`);
    if (f.error !== '') lines.push(`${' '.repeat(34)}error: ${f.error}`);
    if (f.fix !== '') lines.push(`${' '.repeat(34)}fix: ${f.fix}`);
  }
  return `${lines.join('\n')}\n`;
}

export function registerPrecheck(program: Command): void {
  program
    .command('precheck')
    .description('run the upgrade prechecks of this host locally, without a server: on a dom0, a mounted image or a sandbox tree')
    .option('--root <dir>', 'filesystem root to check (default /)', '/')
    .option('--boot-disk <file>', 'disk or disk image to read the partition table from (default: the disk / is mounted from)')
    .option('--checks <ids>', `comma-separated subset of: ${precheckIds.join(', ')}`)
    .option('--state-dir <path>', 'host path of the agent state (quarantines)', defaultAgentConfig.stateDir)
    .option('--json', 'print JSON')
    .action(async (flags: PrecheckFlags) => {
      const root = new SandboxRoot(resolve(flags.root ?? '/'));
      const logger = createLogger('xsctl-agent', { level: 'warn' });
      const wanted = precheckIdList('--checks', (flags.checks ?? '').split(',').filter((c) => c !== ''));
      const bootDisk = flags.bootDisk === undefined ? undefined : isAbsolute(flags.bootDisk) ? flags.bootDisk : resolve(flags.bootDisk);
      // The checks load only when this command runs, not with every `serve`.
      const { runPrechecks } = await import('../precheck/run-prechecks.js');
      const findings = await runPrechecks(
        {
          root,
          runner: new CommandRunner({ logger }),
          stateDir: flags.stateDir ?? defaultAgentConfig.stateDir,
          now: () => new Date(),
          live: root.root === '/',
          ...(bootDisk === undefined ? {} : { bootDiskOverride: bootDisk }),
        },
        wanted,
      );
      const blockers = findings.filter((f) => f.severity === PrecheckSeverity.PRECHECK_SEVERITY_BLOCKER).length;
      if (flags.json === true) {
        process.stdout.write(`${JSON.stringify({ root: root.root, blockers, findings: findings.map(findingToJson) }, null, 2)}\n`);
      } else {
        process.stdout.write(renderText(findings));
        process.stderr.write(blockers === 0 ? 'no blockers\n' : `${blockers} blocker(s): do not upgrade yet\n`);
      }
      process.exitCode = blockers > 0 ? 1 : 0;
    });
}
