import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { XsctlError, type XsctlErrorOptions } from '../errors/index.js';
import { PkiError } from './pki-error.js';

/**
 * The CA's register (ca/issued.json) and revocation list are read, changed and replaced by every
 * issue, revocation and list refresh. Two of them at once, in one process or in two (`xsctl pki
 * issue` run in parallel by a provisioning script, a benchmark issuing 64 agents' certificates),
 * would each write the register they read and lose the other's record. So each of those runs
 * holds the CA's lock, DIR/.ca.lock, for its whole read-change-write.
 *
 * The lock is proper-lockfile's: an atomic mkdir (works on NFS too) whose mtime the holder
 * refreshes; a lock left by a process that died (SIGKILL, power loss) is taken over once its mtime
 * is older than `staleMs`. Waiters retry with backoff for up to about `waitMs`.
 */
export interface CaLockOptions {
  /** A lock not refreshed for this long belongs to a dead process. */
  staleMs?: number;
  /** How long to wait for another holder before giving up. */
  waitMs?: number;
}

export const caLockName = '.ca.lock';
const defaultStaleMs = 10_000;
const defaultWaitMs = 60_000;

/** Another process kept the CA locked for longer than this one would wait. */
export class CaLockedError extends XsctlError {
  readonly code = 'PKI_CA_LOCKED';

  constructor(
    readonly lockPath: string,
    readonly waitedMs: number,
    options?: XsctlErrorOptions,
  ) {
    super(`${lockPath}: another xsctl process has held the CA's lock for over ${Math.round(waitedMs / 1000)} s; if none is running, the lock is taken over once it is stale`, options);
  }
}

/** Runs `fn` holding the CA lock of `dir` (the PKI directory, which must exist). */
export async function withCaLock<T>(dir: string, fn: () => Promise<T>, options: CaLockOptions = {}): Promise<T> {
  const staleMs = options.staleMs ?? defaultStaleMs;
  const waitMs = options.waitMs ?? defaultWaitMs;
  // 25 ms, growing by half each time to at most 250 ms: about waitMs in total.
  const retries = Math.max(1, Math.ceil(waitMs / 250) + 5);
  // proper-lockfile retries every failure, a missing directory too: tell that one at once.
  const isDir = await stat(dir).then((s) => s.isDirectory(), () => false);
  if (!isDir) throw new PkiError(dir, 'cannot read the CA (run `xsctl pki init` first)');
  let compromised: Error | undefined;
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(dir, {
      lockfilePath: join(dir, caLockName),
      realpath: false,
      stale: staleMs,
      update: Math.max(1000, Math.floor(staleMs / 2)),
      retries: { retries, factor: 1.5, minTimeout: 25, maxTimeout: 250, randomize: true },
      // The default throws from a timer (an uncaught exception): note it and fail the operation.
      onCompromised: (err) => {
        compromised = err;
      },
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOCKED') throw new CaLockedError(join(dir, caLockName), waitMs, { cause: err });
    throw new PkiError(join(dir, caLockName), 'cannot take the CA lock', { cause: err });
  }
  try {
    const result = await fn();
    if (compromised !== undefined) throw new PkiError(join(dir, caLockName), 'the CA lock was taken over while held (this process stalled past the stale time); check the register', { cause: compromised });
    return result;
  } finally {
    await release().catch(() => undefined);
  }
}
