import { copyFile, mkdir, open, rename, unlink, access } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

export interface AtomicWriteOptions {
  mode?: number;
  /** Where old versions are copied before the rename. Omit to keep no backup. */
  backupDir?: string;
  /** Staging directory; must be on the same filesystem and must not be a scanned drop-in dir. */
  stagingDir?: string;
  signal?: AbortSignal;
}

export interface AtomicWriteResult {
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

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** Temp file, fsync, backup of the old file, rename, fsync of the directory. */
export async function writeFileAtomic(target: string, data: string | Buffer, options: AtomicWriteOptions = {}): Promise<AtomicWriteResult> {
  options.signal?.throwIfAborted();
  const staging = options.stagingDir ?? defaultStagingDir(target);
  await mkdir(staging, { recursive: true, mode: 0o700 });
  await mkdir(dirname(target), { recursive: true });
  const tmp = join(staging, `${basename(target).replace(/\.conf/g, '_conf')}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', options.mode ?? 0o644);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  let backup: string | null = null;
  try {
    options.signal?.throwIfAborted();
    if (options.backupDir !== undefined && (await exists(target))) {
      await mkdir(options.backupDir, { recursive: true, mode: 0o700 });
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      backup = join(options.backupDir, `${basename(target)}.${stamp}.${randomBytes(2).toString('hex')}`);
      await copyFile(target, backup);
    }
    await rename(tmp, target);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  const dirHandle = await open(dirname(target), 'r');
  try {
    await dirHandle.sync();
  } finally {
    await dirHandle.close();
  }
  return { path: target, backup };
}
