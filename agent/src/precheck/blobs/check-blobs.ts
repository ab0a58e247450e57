import type { PrecheckBlobScan, PrecheckFinding } from '@xsctl/proto/gen/xsctl/agent/v1/precheck';
import { formatBytes } from '../assess-disk.js';
import { INFO, WARNING, finding, type PrecheckContext } from '../precheck-context.js';
import { listQuarantines } from './quarantine.js';
import { summariseBlobs } from './summarise-blobs.js';
import { walkBlobs } from './walk-blobs.js';

/**
 * What the field report ("The 72% Solution") says, quoted rather than turned into a number it
 * never gives: "an exceedingly large number of message files" can keep the installer at 72%
 * "anywhere from about five minutes to over an hour in extreme cases"; clean up "ancient
 * versions" under messages/ and refs/, "paying attention also to the symbolic links". So the
 * check warns about old files (the age `xsctl blobs clean` moves by default) and broken links,
 * and reports every count as evidence without claiming a count at which the hang starts.
 */
export const fieldReportBlobs =
  'field report: "an exceedingly large number of message files" can keep the XenServer 7 installer at 72% for "about five minutes to over an hour"; clean up old messages under /var/lib/xcp/blobs before upgrading';
/** Files at least this old are what `xsctl blobs clean` moves by default (its --older-than 90d). */
export const oldBlobDays = 90;

export async function scanBlobs(ctx: PrecheckContext): Promise<PrecheckBlobScan> {
  const tree = await walkBlobs(ctx.root, ctx.signal);
  return { ...summariseBlobs(tree, ctx.now()), quarantines: await listQuarantines(ctx.root, ctx.stateDir) };
}

export function blobsFinding(scan: PrecheckBlobScan): PrecheckFinding {
  const details = { $case: 'blobs' as const, value: scan };
  if (!scan.exists) return finding('blobs', INFO, `${scan.dir} does not exist`, [], '', details);
  const messages = scan.subdirs.find((s) => s.name === 'messages');
  const evidence = [
    `${scan.files} files, ${formatBytes(scan.bytes)}, ${scan.symlinks} links, ${scan.directories} directories`,
    ...scan.subdirs.map((s) => `${s.name}/: ${s.files} files, ${formatBytes(s.bytes)}, ${s.symlinks} links`),
    `age: ${scan.ageHistogram.map((b) => `${b.label} ${b.files}`).join(', ')}`,
    ...(scan.danglingLinks + scan.loopingLinks + scan.externalLinks > 0
      ? [`${scan.danglingLinks} dangling, ${scan.loopingLinks} looping, ${scan.externalLinks} pointing outside the tree`]
      : []),
    ...scan.problems.slice(0, 10).map((p) => `${p.kind} link ${p.path} -> ${p.target}`),
    ...scan.quarantines.map((q) => `quarantine ${q.id}: ${q.entries} entries from ${q.createdAt} (undo possible)`),
  ];
  const fix =
    'preview with `xsctl blobs clean --host HOST --older-than 90d`, then add `--yes`: old messages and their index links move to a quarantine (nothing is deleted, `xsctl blobs undo` puts them back); links that leave the tree are never touched — look at them by hand';
  const old = scan.ageHistogram.filter((b) => b.minAgeDays >= oldBlobDays).reduce((n, b) => n + b.files, 0);
  const broken = scan.danglingLinks + scan.loopingLinks > 0;
  if (old > 0 || broken || scan.externalLinks > 0) {
    const reasons = [
      ...(old > 0 ? [`${old} of ${scan.files} files are ${oldBlobDays} days old or older (${messages?.files ?? 0} under messages/)`] : []),
      ...(broken ? [`${scan.danglingLinks + scan.loopingLinks} broken links`] : []),
      ...(scan.externalLinks > 0 ? [`${scan.externalLinks} links leaving the blobs tree`] : []),
    ];
    return finding('blobs', WARNING, `${reasons.join('; ')} (${fieldReportBlobs})`, evidence, fix, details);
  }
  return finding('blobs', INFO, `${scan.files} files in ${scan.dir} (${formatBytes(scan.bytes)})`, evidence, '', details);
}

export async function checkBlobs(ctx: PrecheckContext): Promise<PrecheckFinding> {
  return blobsFinding(await scanBlobs(ctx));
}
