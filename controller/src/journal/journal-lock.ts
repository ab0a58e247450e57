import Database from 'better-sqlite3';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { hostname } from 'node:os';
import { XsctlError, type XsctlErrorOptions } from '@xsctl/common/errors/index';

/** Another controller holds the journal: two would both resume (and repeat) the same workflows. */
export class JournalLockedError extends XsctlError {
  readonly code = 'JOURNAL_LOCKED';

  constructor(
    readonly journal: string,
    readonly holder: LockHolder | undefined,
    options?: XsctlErrorOptions,
  ) {
    super(
      `${journal} is in use by another controller${holder === undefined ? '' : ` (pid ${holder.pid} on ${holder.hostname}, since ${holder.since})`}; one journal serves one controller`,
      options,
    );
  }
}

export interface LockHolder {
  pid: number;
  hostname: string;
  since: string;
}

export interface JournalLock {
  readonly file: string;
  readonly holder: LockHolder;
  release(): void;
}

export const lockFileOf = (journal: string): string => `${journal}.lock`;
const holderFileOf = (journal: string): string => `${journal}.lock.json`;

function readHolder(journal: string): LockHolder | undefined {
  try {
    const h = JSON.parse(readFileSync(holderFileOf(journal), 'utf8')) as Partial<LockHolder>;
    return typeof h.pid === 'number' && typeof h.hostname === 'string' && typeof h.since === 'string' ? { pid: h.pid, hostname: h.hostname, since: h.since } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The controller's instance lock on its journal: a SQLite database beside the journal, opened in
 * EXCLUSIVE locking mode with one committed write, so SQLite keeps its POSIX (fcntl) lock on that
 * file for as long as the connection lives. The kernel drops the lock when the process dies, even
 * by SIGKILL, so a crashed controller never leaves a stale lock, and a second controller fails at
 * once instead of resuming the first one's workflows. A separate file, because readers (the CLI,
 * tests, an admin with sqlite3) must still be able to read the journal itself.
 *
 * The lock blocks reads of the lock file too, so the holder's pid and host also go to a small
 * JSON file beside it, for the second controller's error message (informative only).
 */
export function acquireJournalLock(journal: string): JournalLock {
  const file = lockFileOf(journal);
  mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file, { timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER NOT NULL, hostname TEXT NOT NULL, since TEXT NOT NULL)');
    const holder: LockHolder = { pid: process.pid, hostname: hostname(), since: new Date().toISOString() };
    db.transaction(() => {
      db.exec('DELETE FROM holder');
      db.prepare('INSERT INTO holder (pid, hostname, since) VALUES (?, ?, ?)').run(holder.pid, holder.hostname, holder.since);
    })();
    const tmp = `${holderFileOf(journal)}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(holder)}\n`, { mode: 0o644 });
    renameSync(tmp, holderFileOf(journal));
    return {
      file,
      holder,
      release: () => {
        if (db.open) db.close();
      },
    };
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code === 'SQLITE_BUSY' || (err as { code?: string }).code === 'SQLITE_LOCKED') {
      throw new JournalLockedError(journal, readHolder(journal), { cause: err });
    }
    throw err;
  }
}
