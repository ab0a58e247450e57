import type { PrecheckBlobAgeBucket, PrecheckBlobLinkProblem, PrecheckBlobScan, PrecheckBlobSubdir } from '@xsctl/proto/gen/xsctl/agent/v1/precheck';
import { blobsDir, topLevel, type BlobTree } from './walk-blobs.js';

const day = 86_400_000;

const buckets: ReadonlyArray<{ label: string; min: number; max: number }> = [
  { label: '< 7 days', min: 0, max: 7 },
  { label: '7-30 days', min: 7, max: 30 },
  { label: '30-90 days', min: 30, max: 90 },
  { label: '90-365 days', min: 90, max: 365 },
  { label: '> 1 year', min: 365, max: 0 },
];

const maxProblems = 50;

/** Counts, bytes, age histogram and problem links of a walked tree. Pure. */
export function summariseBlobs(tree: BlobTree, now: Date): Omit<PrecheckBlobScan, 'quarantines'> {
  const hist: PrecheckBlobAgeBucket[] = buckets.map((b) => ({ label: b.label, minAgeDays: b.min, maxAgeDays: b.max, files: 0, bytes: 0 }));
  const subdirs = new Map<string, PrecheckBlobSubdir>();
  const sub = (rel: string): PrecheckBlobSubdir => {
    const name = topLevel(rel) || '.';
    let s = subdirs.get(name);
    if (s === undefined) {
      s = { name, files: 0, bytes: 0, symlinks: 0 };
      subdirs.set(name, s);
    }
    return s;
  };
  let bytes = 0;
  for (const f of tree.files) {
    bytes += f.size;
    const ageDays = Math.max(0, (now.getTime() - f.timeMs) / day);
    const bucket = hist.find((b) => ageDays >= b.minAgeDays && (b.maxAgeDays === 0 || ageDays < b.maxAgeDays)) ?? hist[hist.length - 1]!;
    bucket.files++;
    bucket.bytes += f.size;
    const s = sub(f.rel);
    s.files++;
    s.bytes += f.size;
  }
  const problems: PrecheckBlobLinkProblem[] = [];
  let dangling = 0;
  let looping = 0;
  let external = 0;
  for (const l of tree.links) {
    sub(l.rel).symlinks++;
    const r = l.resolution;
    if (r.kind === 'ok') continue;
    if (r.kind === 'dangling') dangling++;
    else if (r.kind === 'loop') looping++;
    else external++;
    if (problems.length < maxProblems) problems.push({ path: `${blobsDir}/${l.rel}`, kind: r.kind, target: l.text });
  }
  return {
    dir: blobsDir,
    exists: tree.dir !== undefined,
    files: tree.files.length,
    bytes,
    directories: tree.directories,
    symlinks: tree.links.length,
    danglingLinks: dangling,
    loopingLinks: looping,
    externalLinks: external,
    ageHistogram: hist,
    subdirs: [...subdirs.values()].sort((a, b) => a.name.localeCompare(b.name)),
    problems,
  };
}
