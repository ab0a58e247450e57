import { readdirSync, statSync } from 'node:fs';
import type { PrecheckAppliedHotfix, PrecheckFinding } from '@xsctl/proto/gen/xsctl/agent/v1/precheck';
import { AppliedUpdateParseError, isUuid, parseAppliedUpdate } from './parse-applied-update.js';
import { INFO, WARNING, finding, readOptional, type PrecheckContext } from './precheck-context.js';

export const updateAppliedDir = '/var/update/applied';
export const legacyPatchAppliedDir = '/var/patch/applied';

export interface AppliedHotfixes {
  hotfixes: PrecheckAppliedHotfix[];
  ignored: string[];
  /** UUID-named records that could not be read: XAPI fails on these too. */
  unreadable: number;
  /** Directories that exist. */
  dirs: string[];
}

// Directory listings and stats are synchronous: local metadata, microseconds each, where the
// promise API's thread-pool round trip cost more CPU than the check itself (bench/fanout.mjs).
function listDir(path: string): string[] | null {
  try {
    return readdirSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw err;
  }
}

/** Every applied hotfix record on the host, sorted by name. */
export async function readAppliedHotfixes(ctx: PrecheckContext): Promise<AppliedHotfixes> {
  const hotfixes: PrecheckAppliedHotfix[] = [];
  const ignored: string[] = [];
  const dirs: string[] = [];
  let unreadable = 0;
  for (const [dir, legacy] of [[updateAppliedDir, false], [legacyPatchAppliedDir, true]] as const) {
    const names = listDir(ctx.root.resolve(dir));
    if (names === null) continue;
    dirs.push(dir);
    for (const name of names.sort()) {
      ctx.signal?.throwIfAborted();
      const hostPath = `${dir}/${name}`;
      // XAPI's resync_host only considers UUID-named entries.
      if (!isUuid(name)) {
        ignored.push(`${hostPath}: not a UUID-named record`);
        continue;
      }
      const full = ctx.root.resolve(hostPath);
      const st = statSync(full);
      if (!st.isFile()) {
        ignored.push(`${hostPath}: not a regular file`);
        unreadable++;
        continue;
      }
      try {
        const record = parseAppliedUpdate((await readOptional(full, ctx.signal)) ?? '');
        if (record.uuid !== name.toLowerCase()) ignored.push(`${hostPath}: names uuid ${record.uuid}`);
        hotfixes.push({
          uuid: name.toLowerCase(),
          nameLabel: record.nameLabel,
          nameDescription: record.nameDescription,
          afterApplyGuidance: record.afterApplyGuidance,
          file: hostPath,
          legacy,
          appliedAt: st.mtime.toISOString(),
        });
      } catch (err) {
        if (!(err instanceof AppliedUpdateParseError)) throw err;
        ignored.push(`${hostPath}: ${err.message}`);
        unreadable++;
      }
    }
  }
  hotfixes.sort((a, b) => a.nameLabel.localeCompare(b.nameLabel) || a.uuid.localeCompare(b.uuid));
  return { hotfixes, ignored, unreadable, dirs };
}

export async function checkHotfixes(ctx: PrecheckContext): Promise<PrecheckFinding> {
  const { hotfixes, ignored, unreadable, dirs } = await readAppliedHotfixes(ctx);
  const evidence = hotfixes.map((h) => `${h.nameLabel} ${h.uuid}${h.afterApplyGuidance.length > 0 ? ` (${h.afterApplyGuidance.join(', ')})` : ''}${h.legacy ? ' [legacy /var/patch]' : ''}`);
  evidence.push(...ignored.map((i) => `ignored ${i}`));
  const details = { $case: 'hotfixes' as const, value: { hotfixes, ignored } };
  if (dirs.length === 0) {
    return finding('hotfixes', INFO, `no hotfix records (${updateAppliedDir} absent): no hotfixes applied`, evidence, '', details);
  }
  if (unreadable > 0) {
    return finding(
      'hotfixes',
      WARNING,
      `${hotfixes.length} hotfix(es) applied; ${unreadable} record(s) could not be read`,
      evidence,
      `XAPI reads ${updateAppliedDir} to decide which updates a host has; remove or repair the unreadable entries, then compare with \`xe update-list\` on the master`,
      details,
    );
  }
  return finding(
    'hotfixes',
    INFO,
    `${hotfixes.length} hotfix(es) applied: ${hotfixes.map((h) => h.nameLabel).join(', ') || 'none'}`,
    evidence,
    'every host of the pool must have the identical list before a rolling upgrade (the pool report compares them)',
    details,
  );
}
