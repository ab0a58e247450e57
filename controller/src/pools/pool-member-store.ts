import type { Journal } from '../journal/journal.js';

/** One member host of a pool as XAPI last listed it, and where its agent answered. */
export interface PoolMemberRecord {
  uuid: string;
  ref: string;
  nameLabel: string;
  hostname: string;
  address: string;
  isMaster: boolean;
  /** host:port the controller reaches the host's agent on. */
  agentEndpoint: string;
}

export interface StoredPoolMembers {
  members: PoolMemberRecord[];
  /** When XAPI last listed them (ISO). */
  seenAt: string;
}

/**
 * Each pool's member hosts in the controller's journal (table pool_member, migration 3), as
 * XenCenter keeps a pool's member addresses in its saved connection: the only other source of
 * the members is XAPI's pool master, and when that master is dead a controller restarted then
 * would otherwise know no host of the pool at all. The witness of a two-node storage pool needs
 * them to keep heartbeating the storage master (without its heartbeat a master whose peer is also
 * gone self-fences); the XAPI connection tries them when the configured host does not answer.
 * A listing replaces the pool's rows in one transaction, written only when it differs from the
 * stored one (every write is an fsync: synchronous=FULL).
 */
export class PoolMemberStore {
  readonly #last = new Map<string, string>();

  constructor(private readonly journal: Journal) {}

  save(pool: string, members: readonly PoolMemberRecord[], now = new Date()): void {
    // Byte order, as SQLite's ORDER BY sorts TEXT, so a reload compares equal.
    const sorted = [...members].sort((a, b) => (a.uuid < b.uuid ? -1 : a.uuid > b.uuid ? 1 : 0));
    const key = JSON.stringify(sorted);
    if (this.#last.get(pool) === key) return;
    const db = this.journal.db;
    const stored = this.load(pool);
    if (stored !== null && JSON.stringify(stored.members) === key) {
      this.#last.set(pool, key);
      return;
    }
    const insert = db.prepare('INSERT INTO pool_member (pool, uuid, ref, name_label, hostname, address, is_master, agent_endpoint, seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
    db.transaction(() => {
      db.prepare('DELETE FROM pool_member WHERE pool = ?').run(pool);
      for (const m of sorted) insert.run(pool, m.uuid, m.ref, m.nameLabel, m.hostname, m.address, m.isMaster ? 1 : 0, m.agentEndpoint, now.toISOString());
    })();
    this.#last.set(pool, key);
  }

  /** The pool's members as last saved, sorted by uuid; null when XAPI never listed them. */
  load(pool: string): StoredPoolMembers | null {
    const rows = this.journal.db
      .prepare('SELECT uuid, ref, name_label, hostname, address, is_master, agent_endpoint, seen_at FROM pool_member WHERE pool = ? ORDER BY uuid')
      .all(pool) as { uuid: string; ref: string; name_label: string; hostname: string; address: string; is_master: number; agent_endpoint: string; seen_at: string }[];
    if (rows.length === 0) return null;
    return {
      members: rows.map((r) => ({ uuid: r.uuid, ref: r.ref, nameLabel: r.name_label, hostname: r.hostname, address: r.address, isMaster: r.is_master === 1, agentEndpoint: r.agent_endpoint })),
      seenAt: rows.reduce((a, r) => (r.seen_at > a ? r.seen_at : a), ''),
    };
  }
}
