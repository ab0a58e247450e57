import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { migrations } from './migrations.js';

export type Db = Database.Database;

/**
 * The controller's durable memory. Workflows record each step's intent before its side effect
 * and its outcome after, so a restarted controller can tell "done" from "maybe done".
 */
export class Journal {
  readonly db: Db;

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    // WAL + full sync: a SIGKILL between two statements must never lose a committed intent.
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    this.#migrate();
  }

  #migrate(): void {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
    const row = this.db.prepare('SELECT version FROM schema_version').get() as { version: number } | undefined;
    let version = row?.version ?? 0;
    if (row === undefined) this.db.prepare('INSERT INTO schema_version (version) VALUES (0)').run();
    for (const m of migrations) {
      if (m.version <= version) continue;
      this.db.transaction(() => {
        this.db.exec(m.sql);
        this.db.prepare('UPDATE schema_version SET version = ?').run(m.version);
      })();
      version = m.version;
    }
  }

  get schemaVersion(): number {
    return (this.db.prepare('SELECT version FROM schema_version').get() as { version: number }).version;
  }

  close(): void {
    this.db.close();
  }
}
