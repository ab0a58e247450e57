import { readFileSync, statSync } from 'node:fs';

/**
 * A file that changed this recently may change again within the same timestamp tick (file times
 * advance by the kernel's tick, not by the nanosecond): its text is not reused until it is older.
 */
const racyWindowNs = 2_000_000_000n;

/** A small file's text, or null when it (or a directory on its path) does not exist. Other errors throw. */
export function readOptionalFileSync(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw err;
  }
}

interface Entry {
  key: string;
  text: string;
}

/**
 * Small files (the inventory, pool.conf, /etc/hostname) read again only when their stat changes:
 * device, inode, size, mtime and ctime, in nanoseconds. A file whose ctime is within the racy
 * window of the read is read again on every call, so a write that left the same times behind is
 * never missed. An atomic replace (rename) changes the inode; an in-place write changes ctime.
 *
 * Synchronous on purpose: a stat of a local file takes microseconds, while an async read goes
 * through the thread pool and cost most of GetFacts' CPU (bench/agent.mjs).
 */
export class StatCachedFiles {
  readonly #entries = new Map<string, Entry>();

  /** `readText` reads a file that is not held (tests count the reads through it). */
  constructor(private readonly readText: (path: string) => string | null = readOptionalFileSync) {}

  /** The file's text, or null when it (or a directory on its path) does not exist. Other errors throw. */
  read(path: string): string | null {
    let st;
    try {
      st = statSync(path, { bigint: true, throwIfNoEntry: false });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') st = undefined;
      else throw err;
    }
    if (st === undefined) {
      this.#entries.delete(path);
      return null;
    }
    const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
    const held = this.#entries.get(path);
    if (held !== undefined && held.key === key) return held.text;
    const text = this.readText(path);
    if (text === null) {
      this.#entries.delete(path);
      return null;
    }
    const now = BigInt(Date.now()) * 1_000_000n;
    if (now - st.ctimeNs > racyWindowNs && now - st.mtimeNs > racyWindowNs) this.#entries.set(path, { key, text });
    else this.#entries.delete(path);
    return text;
  }
}
