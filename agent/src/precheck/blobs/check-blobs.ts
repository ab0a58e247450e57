import type { PrecheckBlobScan, PrecheckFinding } from '@xsctl/proto/gen/xsctl/agent/v1/precheck';
import { formatBytes } from '../assess-disk.js';
import { INFO, WARNING, finding, type PrecheckContext } from '../precheck-context.js';
import { listQuarantines } from './quarantine.js';
import { summariseBlobs } from './summarise-blobs.js';
import { walkBlobs } from './walk-blobs.js';

/** Above this many message files the field report saw the installer sit at 72% for up to an hour. */
export const manyBlobFiles = 10_000;

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
  const many = scan.files >= manyBlobFiles;
  const broken = scan.danglingLinks + scan.loopingLinks > 0;
  if (many || broken || scan.externalLinks > 0) {
    const reasons = [
      ...(many ? [`${scan.files} files (${messages?.files ?? 0} under messages/): the installer copies them and can sit at 72% for up to an hour`] : []),
      ...(broken ? [`${scan.danglingLinks + scan.loopingLinks} broken links`] : []),
      ...(scan.externalLinks > 0 ? [`${scan.externalLinks} links leaving the blobs tree`] : []),
    ];
    return finding('blobs', WARNING, reasons.join('; '), evidence, fix, details);
  }
  return finding('blobs', INFO, `${scan.files} files in ${scan.dir} (${formatBytes(scan.bytes)})`, evidence, '', details);
}

export async function checkBlobs(ctx: PrecheckContext): Promise<PrecheckFinding> {
  return blobsFinding(await scanBlobs(ctx));
}
