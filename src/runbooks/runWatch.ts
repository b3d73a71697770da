import type pg from 'pg';
import { inTransaction } from '../db/transaction.js';
import type { RunCounts } from './model.js';
import { liveRunCounts } from './runItems.js';
import { getRunAuditTrail, getRunLive, type AuditTrailEntry, type RunItemRecord, type RunLive } from './runs.js';

/** A tenant of a run as its page lists it: with the tenant's name. */
interface WatchedItem extends RunItemRecord {
  tenantName: string;
}

/** Everything a run page shows that changes while the run works, as of one instant. */
export interface RunWatch {
  run: RunLive;
  /** The size of the scope the run was confirmed against (its preflight's), null without one. */
  inScope: number | null;
  /** The totals of all the run's items, as they are now (the run row's are refreshed only now and then). */
  counts: RunCounts;
  /** Tenants cancelled before they started (a cancelled run's page says so once). */
  notStarted: number;
  /** The first `shown` tenants, failed first (what an operator opens the page for), then by id. */
  items: WatchedItem[];
  audit: AuditTrailEntry[];
}

/**
 * A run's live state in one read: one REPEATABLE READ snapshot, so that its counts, its bar,
 * its tenants and its audit trail never contradict each other, however the run moves between
 * the statements.
 */
export async function watchRun(pool: pg.Pool, id: string, shown: number): Promise<RunWatch | null> {
  return inTransaction(
    pool,
    async (client) => {
      const found = await getRunLive(client, id);
      if (!found) return null;
      const runId = found.run.id;
      const counts = await liveRunCounts(client, runId);
      const { rows } = await client.query<WatchedItem & { notStarted: number }>(
        `SELECT i.tenant_id AS "tenantId", t.external_id AS "externalId", t.name AS "tenantName",
                i.status, i.counts, i.error, i.started_at AS "startedAt", i.completed_at AS "completedAt",
                count(*) FILTER (WHERE i.status = 'cancelled' AND i.started_at IS NULL) OVER ()::int AS "notStarted"
           FROM operation_run_items i JOIN tenants t ON t.id = i.tenant_id
          WHERE i.run_id = $1
          ORDER BY i.status = 'failed' DESC, i.tenant_id
          LIMIT $2`,
        [runId, shown],
      );
      const audit = await getRunAuditTrail(client, runId);
      const notStarted = rows[0]?.notStarted ?? 0;
      const items = rows.map(({ notStarted: _total, ...item }) => item);
      return { ...found, counts, notStarted, items, audit };
    },
    { readOnly: true },
  );
}
