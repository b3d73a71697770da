import type { Queryable } from '../db/queryable.js';

/** A run that has not completed, with its live totals (from its items) and what says it moved. */
export interface ActiveRunRow {
  id: string;
  runbook: string;
  status: 'queued' | 'running';
  /** Epoch seconds, or null. */
  pausedAt: number | null;
  cancelRequestedAt: number | null;
  heldSince: number | null;
  /**
   * When the run last moved, in epoch seconds: its creation, its start, or its items' last
   * progress (`operation_run_items.progress_at`: a batch committed, a tenant started or settled).
   */
  movedAt: number;
  examined: number;
  changed: number;
  tenantsFailed: number;
}

/** Completed runs of one runbook that ended one way, with their final totals. */
interface CompletedRunsRow {
  runbook: string;
  outcome: string;
  runs: number;
  examined: number;
  changed: number;
  tenantsFailed: number;
}

export interface RunMetricsSnapshot {
  /** The database's clock, epoch seconds: every age is measured on it. */
  now: number;
  active: ActiveRunRow[];
  completed: CompletedRunsRow[];
}

const epoch = (column: string) => `extract(epoch FROM ${column})::float8`;

/**
 * Everything the runbook metrics say, in one statement (so one snapshot: a run that completes
 * meanwhile is counted once). Runs that have completed are read from their own row, whose counts
 * completeRun wrote from the items; only active runs (few, on a partial index) read their items.
 */
const SNAPSHOT_SQL = `
  WITH active AS (
    SELECT r.id, r.runbook, r.status,
           ${epoch('r.paused_at')} AS "pausedAt",
           ${epoch('r.cancel_requested_at')} AS "cancelRequestedAt",
           ${epoch('r.held_since')} AS "heldSince",
           ${epoch('greatest(r.created_at, r.started_at, max(i.progress_at))')} AS "movedAt",
           coalesce(sum((i.counts ->> 'examined')::bigint), 0)::float8 AS examined,
           coalesce(sum((i.counts ->> 'changed')::bigint), 0)::float8 AS changed,
           count(*) FILTER (WHERE i.status = 'failed')::float8 AS "tenantsFailed"
      FROM operation_runs r LEFT JOIN operation_run_items i ON i.run_id = r.id
     WHERE r.status <> 'completed'
     GROUP BY r.id),
  completed AS (
    SELECT runbook, outcome, count(*)::float8 AS runs,
           coalesce(sum((counts ->> 'examined')::bigint), 0)::float8 AS examined,
           coalesce(sum((counts ->> 'changed')::bigint), 0)::float8 AS changed,
           coalesce(sum((counts ->> 'tenantsFailed')::bigint), 0)::float8 AS "tenantsFailed"
      FROM operation_runs
     WHERE status = 'completed' AND outcome IS NOT NULL
     GROUP BY runbook, outcome)
  SELECT ${epoch('now()')} AS now,
         (SELECT coalesce(jsonb_agg(to_jsonb(a)), '[]'::jsonb) FROM active a) AS active,
         (SELECT coalesce(jsonb_agg(to_jsonb(c)), '[]'::jsonb) FROM completed c) AS completed`;

/** What the runbook metrics report, read now. */
export async function readRunMetrics(q: Queryable): Promise<RunMetricsSnapshot> {
  const { rows } = await q.query<RunMetricsSnapshot>(SNAPSHOT_SQL);
  return rows[0]!;
}
