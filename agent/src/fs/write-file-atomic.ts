import { copyFile, mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { resolveWriteTarget } from './resolve-write-target.js';

export interface AtomicWriteOptions {
  /**
   * Permission bits of a new file (0644 without it). An existing file keeps its own mode and
   * owner; `mode` then only takes bits away (a file that will hold a secret never stays
   * world-readable).
   */
  mode?: number;
  /** Where old versions are copied before the rename. Omit to keep no backup. */
  backupDir?: string;
  /** Staging directory; must be on the same filesystem and must not be a scanned drop-in dir. */
  stagingDir?: string;
  /** The written file's real path (after symlinks) must lie under this directory (the sandbox root). */
  confineTo?: string;
  signal?: AbortSignal;
  /**
   * false: no fsync of the file or its directory. Still never half written (temp file and
   * rename), and survives the process, not a host crash. Only for records of state that a host
   * crash loses anyway (the agent's storage-role intents).
   */
  durable?: boolean;
}

export interface AtomicWriteResult {
  /** The file written: the link's target when `target` was a symlink. */
  path: string;
  backup: string | null;
}

/**
 * Staging beside a drop-in dir (`foo.d/`) would let the daemon read a half-written file: multipath
 * reads every name containing ".conf" in conf.d. So stage one level up for `*.d` directories.
 */
export function defaultStagingDir(target: string): string {
  const dir = dirname(target);
  const base = /\.d$/.test(basename(dir)) ? dirname(dir) : dir;
  return join(base, '.xsctl-staging');
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Temp file with the old file's mode and owner, fsync, backup of the old file, rename over the
 * real file (a symlinked config keeps its link: the write goes to the link's target), fsync of
 * that file's directory so the rename survives a crash.
 */
export async function writeFileAtomic(target: string, data: string | Buffer, options: AtomicWriteOptions = {}): Promise<AtomicWriteResult> {
  options.signal?.throwIfAborted();
  const file = await resolveWriteTarget(target, options.confineTo);
  const existing = await stat(file).catch(() => null);
  const mode = existing !== null ? existing.mode & 0o7777 & (options.mode ?? 0o7777) : (options.mode ?? 0o644);
  const staging = options.stagingDir ?? defaultStagingDir(file);
  await mkdir(staging, { recursive: true, mode: 0o700 });
  await mkdir(dirname(file), { recursive: true });
  const tmp = join(staging, `${basename(file).replace(/\.conf/g, '_conf')}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', 0o600);
  try {
    // Explicitly, not through open(): the umask would take bits away.
    await fh.chmod(mode);
    if (existing !== null && (existing.uid !== process.getuid?.() || existing.gid !== process.getgid?.())) {
      await fh.chown(existing.uid, existing.gid).catch((err: unknown) => {
        // Only root may give a file away; an unprivileged agent (tests, demo) keeps its own.
        if ((err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
      });
    }
    await fh.writeFile(data);
    if (options.durable !== false) await fh.sync();
  } catch (err) {
    await fh.close();
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await fh.close();
  let backup: string | null = null;
  try {
    options.signal?.throwIfAborted();
    if (options.backupDir !== undefined && existing !== null) {
      await mkdir(options.backupDir, { recursive: true, mode: 0o700 });
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      backup = join(options.backupDir, `${basename(target)}.${stamp}.${randomBytes(2).toString('hex')}`);
      await copyFile(file, backup);
    }
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  if (options.durable !== false) await fsyncDir(dirname(file));
  return { path: file, backup };
}
