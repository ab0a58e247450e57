/** Append-only: never edit a shipped migration, add the next one. */
export const migrations: readonly { version: number; sql: string }[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE workflow (
        id TEXT PRIMARY KEY,
        pool TEXT NOT NULL,
        kind TEXT NOT NULL,
        state TEXT NOT NULL,
        params TEXT NOT NULL,
        started_by TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      -- One active workflow per pool, enforced by the database itself.
      CREATE UNIQUE INDEX workflow_one_active_per_pool ON workflow(pool) WHERE state IN ('running', 'paused', 'aborting');
      CREATE TABLE step (
        workflow_id TEXT NOT NULL REFERENCES workflow(id),
        seq INTEGER NOT NULL,
        name TEXT NOT NULL,
        host TEXT,
        status TEXT NOT NULL,
        intent TEXT NOT NULL,
        outcome TEXT,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        PRIMARY KEY (workflow_id, seq)
      );
      CREATE TABLE compensation (
        workflow_id TEXT NOT NULL REFERENCES workflow(id),
        seq INTEGER NOT NULL,
        name TEXT NOT NULL,
        args TEXT NOT NULL,
        status TEXT NOT NULL,
        PRIMARY KEY (workflow_id, seq)
      );
      CREATE TABLE event (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        workflow_id TEXT NOT NULL REFERENCES workflow(id),
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        data TEXT NOT NULL
      );
    `,
  },
  {
    // Workflows (controller/src/workflows): pause/abort requests, the final error and report in a
    // side table (the workflow row keeps its v1 shape), and names unique per workflow so a
    // restarted controller finds each step and compensation by name.
    version: 2,
    sql: `
      CREATE TABLE workflow_control (
        workflow_id TEXT PRIMARY KEY REFERENCES workflow(id),
        request TEXT NOT NULL DEFAULT '',
        error TEXT NOT NULL DEFAULT '',
        result TEXT NOT NULL DEFAULT ''
      );
      CREATE UNIQUE INDEX step_name_per_workflow ON step(workflow_id, name);
      CREATE UNIQUE INDEX compensation_name_per_workflow ON compensation(workflow_id, name);
      CREATE INDEX event_by_workflow ON event(workflow_id, id);
    `,
  },
  {
    // Each pool's member hosts as XAPI last listed them (controller/src/pools/pool-member-store.ts),
    // as XenCenter keeps a pool's member addresses: a controller restarted while the pool master is
    // dead still knows where the hosts and their agents are.
    version: 3,
    sql: `
      CREATE TABLE pool_member (
        pool TEXT NOT NULL,
        uuid TEXT NOT NULL,
        ref TEXT NOT NULL,
        name_label TEXT NOT NULL,
        hostname TEXT NOT NULL,
        address TEXT NOT NULL,
        is_master INTEGER NOT NULL,
        agent_endpoint TEXT NOT NULL,
        seen_at TEXT NOT NULL,
        PRIMARY KEY (pool, uuid)
      );
    `,
  },
];
