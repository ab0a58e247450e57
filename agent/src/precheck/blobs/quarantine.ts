import { randomBytes } from 'node:crypto';
import { copyFile, lstat, mkdir, readdir, readFile, readlink, realpath, rename, rm, symlink, unlink, utimes } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import type { PrecheckBlobQuarantine, PrecheckServiceCleanBlobsResponse, PrecheckServiceRestoreBlobsResponse } from '@xsctl/proto/gen/xsctl/agent/v1/precheck';
import { ValidationError } from '@xsctl/common/errors/index';
import { writeFileAtomic } from '../../fs/write-file-atomic.js';
import type { SandboxRoot } from '../../fs/sandbox-root.js';
import { isInside } from './resolve-in-tree.js';
import { blobsDir, cleanableSubdirs, topLevel, walkBlobs, type BlobTree } from './walk-blobs.js';

/**
 * The blobs cleanup: never deletes, moves. Message files older than the threshold, the index links
 * that point at them, and broken (dangling or looping) links go to <stateDir>/blob-quarantine/<id>/tree/<same relative path>, with a
 * manifest written before anything moves, so RestoreBlobs can put every entry back. Links that
 * leave the blobs tree are never moved, followed or changed.
 */

const day = 86_400_000;
const quarantineIdRe = /^q-\d{8}T\d{6}Z-[0-9a-f]{4}$/;
const manifestName = 'manifest.json';
const sampleSize = 20;

export interface QuarantineEntry {
  rel: string;
  kind: 'file' | 'link';
  size: number;
  /** The link's text, for links. */
  link?: string;
}

interface Manifest {
  version: 1;
  id: string;
  createdAt: string;
  olderThanDays: number;
  blobsDir: string;
  entries: QuarantineEntry[];
}

export interface CleanPlan {
  entries: QuarantineEntry[];
  files: number;
  bytes: number;
  links: number;
  skippedExternalLinks: number;
}

/** What a cleanup with this threshold would move. Pure over a walked tree. */
export function planBlobCleanup(tree: BlobTree, olderThanDays: number, now: Date): CleanPlan {
  const cutoff = now.getTime() - olderThanDays * day;
  const inScope = (rel: string): boolean => (cleanableSubdirs as readonly string[]).includes(topLevel(rel));
  const files = tree.files.filter((f) => inScope(f.rel) && f.timeMs <= cutoff);
  const moving = new Set(files.map((f) => f.full));
  const entries: QuarantineEntry[] = files.map((f) => ({ rel: f.rel, kind: 'file', size: f.size }));
  let links = 0;
  let skippedExternalLinks = 0;
  for (const l of tree.links) {
    const r = l.resolution;
    if (r.kind === 'external') {
      skippedExternalLinks++;
      continue;
    }
    // An index link follows its message wherever it is, so no link is left dangling by the move.
    const followsMessage = r.kind === 'ok' && moving.has(r.path);
    // A broken link (dangling or looping) indexes nothing, whatever its age.
    const broken = (r.kind === 'dangling' || r.kind === 'loop') && inScope(l.rel);
    if (!followsMessage && !broken) continue;
    links++;
    entries.push({ rel: l.rel, kind: 'link', size: 0, link: l.text });
  }
  return { entries, files: files.length, bytes: files.reduce((s, f) => s + f.size, 0), links, skippedExternalLinks };
}

function newQuarantineId(now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `q-${stamp}-${randomBytes(2).toString('hex')}`;
}

export function quarantineId(field: string, value: string): string {
  if (!quarantineIdRe.test(value)) throw new ValidationError(field, 'expected a quarantine id such as q-20240101T120000Z-1a2b');
  return value;
}

function quarantineRoot(root: SandboxRoot, stateDir: string): string {
  return root.resolve(join(stateDir, 'blob-quarantine'));
}

/** Directories already created during one clean or restore. */
type MadeDirs = Map<string, Promise<unknown>>;

function ensureDir(dir: string, made: MadeDirs): Promise<unknown> {
  let p = made.get(dir);
  if (p === undefined) {
    p = mkdir(dir, { recursive: true, mode: 0o700 });
    made.set(dir, p);
  }
  return p;
}

/** Runs `fn` over `items`, at most `limit` at a time. */
async function forEachLimited<T>(items: readonly T[], limit: number, signal: AbortSignal | undefined, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      signal?.throwIfAborted();
      await fn(items[next++] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Moves one entry; across filesystems a file is copied (times kept) and a link recreated, then the source removed. */
async function moveEntry(src: string, dst: string, kind: 'file' | 'link', made: MadeDirs): Promise<void> {
  await ensureDir(dirname(dst), made);
  try {
    await rename(src, dst);
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
  }
  if (kind === 'link') {
    await symlink(await readlink(src), dst);
  } else {
    const st = await lstat(src);
    await copyFile(src, dst);
    await utimes(dst, st.atime, st.mtime);
  }
  await unlink(src);
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return false;
      throw err;
    },
  );
}

/** True when every directory from `base` down to `dir` is a real directory (or missing), never a link. */
async function noLinksBetween(base: string, dir: string): Promise<boolean> {
  let current = base;
  for (const part of relative(base, dir).split(sep).filter((p) => p !== '')) {
    current = join(current, part);
    const st = await lstat(current).catch(() => undefined);
    if (st === undefined) return true;
    if (st.isSymbolicLink() || !st.isDirectory()) return false;
  }
  return true;
}

export interface CleanOptions {
  root: SandboxRoot;
  stateDir: string;
  olderThanDays: number;
  confirm: boolean;
  now: Date;
  signal?: AbortSignal;
}

export async function cleanBlobs(options: CleanOptions): Promise<PrecheckServiceCleanBlobsResponse> {
  const tree = await walkBlobs(options.root, options.signal);
  const plan = planBlobCleanup(tree, options.olderThanDays, options.now);
  const sample = plan.entries.slice(0, sampleSize).map((e) => `${blobsDir}/${e.rel}`);
  const base = { files: plan.files, bytes: plan.bytes, links: plan.links, skippedExternalLinks: plan.skippedExternalLinks, sample };
  if (!options.confirm || plan.entries.length === 0 || tree.dir === undefined) {
    return { dryRun: !options.confirm, quarantineId: '', quarantineDir: '', ...base };
  }
  const qroot = quarantineRoot(options.root, options.stateDir);
  if (isInside(tree.dir, qroot) || isInside(qroot, tree.dir)) throw new ValidationError('stateDir', 'the quarantine must not be inside the blobs tree');
  const id = newQuarantineId(options.now);
  const qdir = join(qroot, id);
  await mkdir(join(qdir, 'tree'), { recursive: true, mode: 0o700 });
  const manifest: Manifest = { version: 1, id, createdAt: options.now.toISOString(), olderThanDays: options.olderThanDays, blobsDir, entries: plan.entries };
  // The manifest lands before the first move, so an interrupted clean can still be undone.
  await writeFileAtomic(join(qdir, manifestName), `${JSON.stringify(manifest, null, 1)}\n`, { mode: 0o600, stagingDir: join(qdir, '.staging'), confineTo: options.root.root, ...(options.signal === undefined ? {} : { signal: options.signal }) });
  const made: MadeDirs = new Map();
  const treeDir = tree.dir;
  await forEachLimited(plan.entries, 32, options.signal, async (entry) => {
    const src = join(treeDir, entry.rel);
    const st = await lstat(src).catch(() => undefined);
    // Gone or changed kind since the walk: leave it.
    if (st === undefined || (entry.kind === 'link') !== st.isSymbolicLink()) return;
    await moveEntry(src, join(qdir, 'tree', entry.rel), entry.kind, made);
  });
  return { dryRun: false, quarantineId: id, quarantineDir: options.root.hostPath(qdir), ...base };
}

async function readManifest(qdir: string): Promise<Manifest> {
  const parsed = JSON.parse(await readFile(join(qdir, manifestName), 'utf8')) as Manifest;
  if (parsed.version !== 1 || !Array.isArray(parsed.entries)) throw new Error(`${join(qdir, manifestName)} is not a quarantine manifest`);
  for (const e of parsed.entries) {
    // A manifest is data: an entry may never point out of the tree.
    if (typeof e.rel !== 'string' || e.rel.startsWith('/') || e.rel.split('/').includes('..')) throw new Error(`bad manifest entry ${JSON.stringify(e.rel)}`);
  }
  return parsed;
}

export async function listQuarantines(root: SandboxRoot, stateDir: string): Promise<PrecheckBlobQuarantine[]> {
  const qroot = quarantineRoot(root, stateDir);
  const names = await readdir(qroot).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[];
    throw err;
  });
  const out: PrecheckBlobQuarantine[] = [];
  for (const name of names.filter((n) => quarantineIdRe.test(n)).sort()) {
    const m = await readManifest(join(qroot, name)).catch(() => undefined);
    if (m === undefined) continue;
    out.push({
      id: m.id,
      createdAt: m.createdAt,
      olderThanDays: m.olderThanDays,
      entries: m.entries.length,
      bytes: m.entries.reduce((s, e) => s + e.size, 0),
      dir: root.hostPath(join(qroot, name)),
    });
  }
  return out;
}

export interface RestoreOptions {
  root: SandboxRoot;
  stateDir: string;
  id: string;
  confirm: boolean;
  signal?: AbortSignal;
}

export async function restoreBlobs(options: RestoreOptions): Promise<PrecheckServiceRestoreBlobsResponse> {
  const qdir = join(quarantineRoot(options.root, options.stateDir), quarantineId('quarantine_id', options.id));
  const manifest = await readManifest(qdir);
  const treeDir = await realpath(options.root.resolve(blobsDir));
  let restored = 0;
  const conflicts: string[] = [];
  const made: MadeDirs = new Map();
  const safeDirs = new Map<string, Promise<boolean>>();
  await forEachLimited(manifest.entries, 32, options.signal, async (entry) => {
    const from = join(qdir, 'tree', entry.rel);
    if (!(await exists(from))) return;
    const to = join(treeDir, entry.rel);
    const parent = dirname(to);
    let safe = safeDirs.get(parent);
    if (safe === undefined) {
      safe = noLinksBetween(treeDir, parent);
      safeDirs.set(parent, safe);
    }
    // Never recreate a parent through a link: that could write outside the tree.
    if (!isInside(treeDir, to) || (await exists(to)) || !(await safe)) {
      conflicts.push(`${blobsDir}/${entry.rel}`);
      return;
    }
    if (options.confirm) await moveEntry(from, to, entry.kind, made);
    restored++;
  });
  conflicts.sort();
  let removed = false;
  if (options.confirm && conflicts.length === 0) {
    await rm(qdir, { recursive: true, force: true });
    removed = true;
  }
  return { dryRun: !options.confirm, restored, conflicts, removed };
}
