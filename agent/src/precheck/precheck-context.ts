import { PrecheckSeverity, type PrecheckFinding } from '@xsctl/proto/gen/xsctl/agent/v1/precheck';
import type { CommandRunner } from '../exec/command-runner.js';
import type { SandboxRoot } from '../fs/sandbox-root.js';
export { readOptionalFile as readOptional } from '../fs/read-optional-file.js';

/** What every host check gets. */
export interface PrecheckContext {
  root: SandboxRoot;
  runner: CommandRunner;
  /** Host path (under the root) where quarantines live. */
  stateDir: string;
  signal?: AbortSignal;
  now: () => Date;
  /**
   * True when the root is this machine's `/`: live-only probes (systemctl, ntpq, chronyc) may run.
   * False for a sandbox tree or a mounted image, where only files are read.
   */
  live: boolean;
  /** A local file or device to read the boot disk's partition table from, overriding discovery. */
  bootDiskOverride?: string;
}

export type FindingDetails = PrecheckFinding['details'];

export const severityName: Readonly<Record<PrecheckSeverity, string>> = {
  [PrecheckSeverity.PRECHECK_SEVERITY_UNSPECIFIED]: 'unspecified',
  [PrecheckSeverity.PRECHECK_SEVERITY_INFO]: 'info',
  [PrecheckSeverity.PRECHECK_SEVERITY_WARNING]: 'warning',
  [PrecheckSeverity.PRECHECK_SEVERITY_BLOCKER]: 'blocker',
  [PrecheckSeverity.UNRECOGNIZED]: 'unrecognized',
};

export const { PRECHECK_SEVERITY_INFO: INFO, PRECHECK_SEVERITY_WARNING: WARNING, PRECHECK_SEVERITY_BLOCKER: BLOCKER } = PrecheckSeverity;

export function finding(
  id: string,
  severity: PrecheckSeverity,
  summary: string,
  evidence: readonly string[],
  fix: string,
  details: FindingDetails = undefined,
): PrecheckFinding {
  return { id, severity, summary, evidence: [...evidence], fix, error: '', details };
}

/** A check that could not run: a warning, because a missing answer is not a pass. */
export function failedFinding(id: string, summary: string, err: unknown, fix: string): PrecheckFinding {
  const message = err instanceof Error ? err.message : String(err);
  return { id, severity: WARNING, summary, evidence: [], fix, error: message, details: undefined };
}

export function worst(severities: readonly PrecheckSeverity[]): PrecheckSeverity {
  return severities.reduce((a, b) => (b > a ? b : a), INFO);
}
