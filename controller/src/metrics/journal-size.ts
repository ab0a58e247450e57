import { statSync } from 'node:fs';
import type { Journal } from '../journal/journal.js';
import type { ControllerMetrics } from './controller-metrics.js';

const tables = ['workflow', 'step', 'event', 'compensation'] as const;

/** Journal size at each scrape: SQLite's pages plus the WAL file, and rows per table. */
export function watchJournalSize(metrics: ControllerMetrics, journal: Journal): void {
  metrics.onCollect(() => {
    if (!journal.db.open) return;
    const pages = Number(journal.db.pragma('page_count', { simple: true }));
    const pageSize = Number(journal.db.pragma('page_size', { simple: true }));
    let wal = 0;
    try {
      wal = journal.db.memory ? 0 : statSync(`${journal.db.name}-wal`).size;
    } catch {
      // No WAL file yet (nothing written since the last checkpoint).
    }
    metrics.journalBytes.set(pages * pageSize + wal);
    for (const t of tables) metrics.journalRows.set({ table: t }, (journal.db.prepare(`SELECT COUNT(*) AS n FROM ${t}`).get() as { n: number }).n);
  });
}
