import { readFileSync, statSync } from 'node:fs';

/**
 * A file that changed this recently may change again within the same timestamp tick (file times
 * advance by the kernel's tick, not by the nanosecond): its text is not reused until it is older.
 */
const racyWindowMs = 2_000;

/** One options object for every stat (not a literal per call). */
const statOptions = { throwIfNoEntry: false } as const;

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
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  text: string;
  /** What `readParsed` made of `text`, and with which parser. */
  parsed?: { parse: (text: string) => unknown; value: unknown };
}

/**
 * Small files (the inventory, pool.conf, /etc/hostname) read again only when their stat changes:
 * device, inode, size, mtime and ctime. A file whose ctime is within the racy window of the read
 * is read again on every call, so a write that left the same times behind is never missed. An
 * atomic replace (rename) changes the inode; an in-place write changes ctime.
 *
 * Times are compared as the millisecond doubles of a plain stat (sub-microsecond resolution
 * today), not as BigInt nanoseconds built into a string key: that cost 2.5 times the CPU per
 * GetFacts under Bun without its JIT (22 against 9 us for the three files). It loses nothing: a
 * held entry's ctime is at least the racy window old, and any later change sets ctime to the
 * present (utimes cannot set it), seconds away from the held one.
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
    return this.#entry(path)?.text ?? null;
  }

  /**
   * `parse(text)` of the file, or null when it does not exist. While the file's text is held
   * (unchanged and out of the racy window) the value is parsed once and handed out again, so it
   * must not be mutated. Without a JIT, parsing the inventory's lines with a regular expression on
   * every GetFacts was per-call work and garbage for the collector (bench/agent.mjs).
   */
  readParsed<T>(path: string, parse: (text: string) => T): T | null {
    const entry = this.#entry(path);
    if (entry === null) return null;
    if (entry.parsed?.parse === parse) return entry.parsed.value as T;
    const value = parse(entry.text);
    // Kept only if the entry is held: one that is not is made afresh by the next read.
    entry.parsed = { parse, value };
    return value;
  }

  /** The held entry, or a fresh one for this read only (not held: racy or changed). */
  #entry(path: string): Entry | null {
    let st;
    try {
      st = statSync(path, statOptions);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') st = undefined;
      else throw err;
    }
    if (st === undefined) {
      this.#entries.delete(path);
      return null;
    }
    const held = this.#entries.get(path);
    if (held !== undefined && held.dev === st.dev && held.ino === st.ino && held.size === st.size && held.mtimeMs === st.mtimeMs && held.ctimeMs === st.ctimeMs) return held;
    const text = this.readText(path);
    if (text === null) {
      this.#entries.delete(path);
      return null;
    }
    const entry: Entry = { dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, text };
    const now = Date.now();
    if (now - st.ctimeMs > racyWindowMs && now - st.mtimeMs > racyWindowMs) this.#entries.set(path, entry);
    else this.#entries.delete(path);
    return entry;
  }
}
