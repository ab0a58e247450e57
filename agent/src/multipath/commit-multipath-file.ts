import { unlink } from 'node:fs/promises';
import { writeFileAtomic } from '../fs/write-file-atomic.js';
import { beginFileWrite } from '../journal/intent-journal.js';
import type { AgentContext } from '../server/agent-context.js';
import type { MultipathFlavor } from './flavors.js';
import { MultipathConfigRejectedError } from './multipath-errors.js';
import { newIssues, runMultipathT, type MultipathTResult } from './validate-config.js';

export interface CommitOutcome {
  backupPath: string;
  validation: Validation;
  reconfigured: boolean;
  reconfigureDetail: string;
  warnings: string[];
}

export interface Validation {
  ok: boolean;
  issues: string[];
  newIssues: string[];
  mode: string;
}

export interface CandidateVerdict {
  /** `multipath -t` on the files as they are now: what the candidate is compared with. */
  baseline: MultipathTResult;
  /** The candidate's check; null when it could not run (no CAP_SYS_ADMIN, no unshare). */
  validation: Validation | null;
  /** Why the candidate could not be checked, when it could not. */
  couldNotRun: string;
}

/**
 * `multipath -t` on the current files (baseline), then on the candidate in a private mount
 * namespace where it stands in for the file: read-only, the live file is never touched. A stderr
 * line the baseline did not have fails with MultipathConfigRejectedError (not rolled back: nothing
 * was written). Shared by the dry run and the write, so a dry run refuses what the write refuses.
 */
export async function checkCandidate(ctx: AgentContext, targetPath: string, newContent: string, signal?: AbortSignal): Promise<CandidateVerdict> {
  const vctx = { root: ctx.root, runner: ctx.runner, stateDir: ctx.stateDir, ...(signal === undefined ? {} : { signal }) };
  const baseline = await runMultipathT(vctx);
  let couldNotRun = '';
  const pre = await runMultipathT(vctx, { path: targetPath, content: newContent }).catch((err: unknown) => {
    if (signal?.aborted === true) throw err;
    couldNotRun = err instanceof Error ? err.message : String(err);
    ctx.logger.warn({ err: couldNotRun }, 'multipath -t on the candidate could not run');
    return null;
  });
  if (pre === null) return { baseline, validation: null, couldNotRun };
  const rejected = newIssues(baseline.issues, pre.issues);
  if (rejected.length > 0) throw new MultipathConfigRejectedError(targetPath, rejected, false);
  return { baseline, validation: { ok: true, issues: pre.issues, newIssues: [], mode: pre.mode }, couldNotRun };
}

/**
 * The one way a multipath file is changed: multipath -t on the current files (baseline), then on
 * the candidate in a private mount namespace before it goes live, an intent
 * record, atomic write with a backup, multipath -t again; a stderr line the baseline did not have
 * puts the old content back and fails (multipath -t exits 0 on errors). Then `multipathd reconfigure`.
 */
export async function commitMultipathFile(
  ctx: AgentContext,
  flavor: MultipathFlavor,
  targetPath: string,
  oldContent: string | null,
  newContent: string,
  skipReconfigure: boolean,
  /** What the change is, for the intent record (e.g. `multipath profile NAME`). */
  label: string,
  signal?: AbortSignal,
): Promise<CommitOutcome> {
  const vctx = { root: ctx.root, runner: ctx.runner, stateDir: ctx.stateDir, ...(signal === undefined ? {} : { signal }) };
  // Checked before it goes live. Where the candidate check cannot run (no CAP_SYS_ADMIN, no
  // overlayfs), the check after the write still guards.
  const { baseline } = await checkCandidate(ctx, targetPath, newContent, signal);
  const full = ctx.root.resolve(targetPath);
  // The intent lands (fsynced) before the live file changes: a crash before the check below is
  // rolled back when the agent starts again (recoverIntents).
  const intent = await beginFileWrite(ctx, targetPath, oldContent, newContent, label);
  const written = await writeFileAtomic(full, newContent, {
    backupDir: ctx.root.resolve(`${ctx.stateDir}/backups/multipath`),
    confineTo: ctx.root.root,
    ...(signal === undefined ? {} : { signal }),
  });
  const rollback = async () => {
    if (oldContent === null) await unlink(full).catch(() => undefined);
    else await writeFileAtomic(full, oldContent, { confineTo: ctx.root.root });
    await intent.done();
  };
  let after;
  try {
    after = await runMultipathT(vctx);
  } catch (err) {
    await rollback();
    throw err;
  }
  const added = newIssues(baseline.issues, after.issues);
  const out: CommitOutcome = {
    backupPath: written.backup === null ? '' : ctx.root.hostPath(written.backup),
    validation: { ok: added.length === 0, issues: after.issues, newIssues: added, mode: after.mode },
    reconfigured: false,
    reconfigureDetail: '',
    warnings: [],
  };
  if (added.length > 0) {
    await rollback();
    throw new MultipathConfigRejectedError(targetPath, added, true);
  }
  await intent.done();
  if (skipReconfigure) out.reconfigureDetail = 'skipped (request)';
  else if (ctx.root.root !== '/') out.reconfigureDetail = 'skipped: sandbox root (the running multipathd reads the host /etc)';
  else {
    try {
      const r = await ctx.runner.run('multipathd', [...flavor.reconfigureArgs], { timeoutMs: 30_000, ...(signal === undefined ? {} : { signal }) });
      out.reconfigured = true;
      out.reconfigureDetail = r.stdout.trim() || 'ok';
    } catch (err) {
      out.reconfigureDetail = `multipathd reconfigure failed: ${(err as Error).message}`;
      out.warnings.push('the file is written and valid, but multipathd did not reload it: start multipathd (EnableDaemon) or run `multipathd reconfigure`');
    }
  }
  return out;
}
