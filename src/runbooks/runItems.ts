import type { Queryable } from '../db/queryable.js';
import { PLATFORM_TENANT_EXTERNAL_ID } from '../db/schema/tenancy.js';
import type { RunContext } from './definition.js';
import type { ItemStatus, RunCounts, TenantCounts } from './model.js';

/** One tenant's progress, as its workflow reports it. */
export interface TenantProgress {
  tenantId: number;
  status: ItemStatus;
  examined: number;
  changed: number;
  batches: number;
  error?: string;
}

const EMPTY_COUNTS: TenantCounts = { examined: 0, changed: 0, batches: 0, breakdown: {}, cursor: 0 };

/** One `operation_run_items` row per tenant in scope, pending; repeated calls add nothing. */
export async function materializeRunItems(q: Queryable, runId: string): Promise<number> {
  await q.query(
    `INSERT INTO operation_run_items (run_id, tenant_id, status, counts)
     SELECT r.id, t.id, 'pending', $3::jsonb
       FROM operation_runs r
       JOIN tenants t
         ON CASE WHEN r.scope ? 'allTenants' THEN t.external_id <> $2
                 ELSE t.id IN (SELECT (s ->> 'id')::bigint FROM jsonb_array_elements(r.scope -> 'tenants') s) END
      WHERE r.id = $1
     ON CONFLICT (run_id, tenant_id) DO NOTHING`,
    [runId, PLATFORM_TENANT_EXTERNAL_ID, JSON.stringify(EMPTY_COUNTS)],
  );
  const { rows } = await q.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM operation_run_items WHERE run_id = $1',
    [runId],
  );
  return rows[0]?.n ?? 0;
}

/** The next tenants of a run after `cursor`, in tenant id order. */
export async function nextItemTenants(
  q: Queryable,
  runId: string,
  cursor: number,
  limit: number,
): Promise<Array<{ tenantId: number; externalId: string }>> {
  const { rows } = await q.query<{ tenantId: number; externalId: string }>(
    `SELECT i.tenant_id::int AS "tenantId", t.external_id AS "externalId"
       FROM operation_run_items i JOIN tenants t ON t.id = i.tenant_id
      WHERE i.run_id = $1 AND i.tenant_id > $2
      ORDER BY i.tenant_id LIMIT $3`,
    [runId, cursor, limit],
  );
  return rows;
}

/** The run's tenants with these ids, in the order given. */
export async function itemTenants(
  q: Queryable,
  runId: string,
  tenantIds: number[],
): Promise<Array<{ tenantId: number; externalId: string }>> {
  const { rows } = await q.query<{ tenantId: number; externalId: string }>(
    `SELECT i.tenant_id::int AS "tenantId", t.external_id AS "externalId"
       FROM unnest($2::bigint[]) WITH ORDINALITY AS wanted (tenant_id, position)
       JOIN operation_run_items i ON i.run_id = $1 AND i.tenant_id = wanted.tenant_id
       JOIN tenants t ON t.id = i.tenant_id
      ORDER BY wanted.position`,
    [runId, tenantIds],
  );
  return rows;
}

const TERMINAL: ItemStatus[] = ['succeeded', 'failed', 'cancelled'];

/** Whether an item has its verdict; a settled item takes no more work. */
export const isSettled = (status: ItemStatus): boolean => TERMINAL.includes(status);

/** Moves an unsettled item to `status`; a settled item keeps its first verdict. */
export async function settleItem(
  q: Queryable,
  runId: string,
  tenantId: number,
  status: ItemStatus,
  error: string | null = null,
): Promise<void> {
  await q.query(
    `UPDATE operation_run_items
        SET status = $3, error = $4, progress_at = now(),
            started_at = coalesce(started_at, now()),
            completed_at = CASE WHEN $3 = ANY($5::text[]) THEN now() ELSE NULL END
      WHERE run_id = $1 AND tenant_id = $2 AND NOT (status = ANY($5::text[]))`,
    [runId, tenantId, status, error, TERMINAL],
  );
}

/**
 * Locks an item for the rest of the transaction (batches and settling a tenant take turns),
 * says whether its run is paused right now (a paused run takes no new batch) and whether the
 * health gates hold the tenant, and gives the run's newest batch size (where it sizes its batches
 * itself), parameters and instant, which its batches and verification work with.
 */
export async function lockItemCounts(
  q: Queryable,
  runId: string,
  tenantId: number,
): Promise<{
  status: ItemStatus;
  counts: TenantCounts;
  runPaused: boolean;
  held: boolean;
  runBatchSize: number | null;
  context: RunContext;
}> {
  const { rows } = await q.query<{
    status: ItemStatus;
    counts: TenantCounts;
    runPaused: boolean;
    held: boolean;
    runBatchSize: number | null;
    parameters: Record<string, unknown>;
    asOf: Date;
  }>(
    `SELECT i.status, i.counts, r.paused_at IS NOT NULL AS "runPaused", i.held_since IS NOT NULL AS held,
            (r.counts ->> 'batchSize')::int AS "runBatchSize", r.parameters, r.as_of AS "asOf"
       FROM operation_run_items i JOIN operation_runs r ON r.id = i.run_id
      WHERE i.run_id = $1 AND i.tenant_id = $2
        FOR UPDATE OF i`,
    [runId, tenantId],
  );
  if (!rows[0]) throw new Error(`run ${runId} has no item for tenant ${tenantId}`);
  const { status, counts, runPaused, held, runBatchSize, parameters, asOf } = rows[0];
  return {
    status,
    counts: { ...EMPTY_COUNTS, ...counts },
    runPaused,
    held,
    runBatchSize,
    context: { parameters, asOf },
  };
}

export async function saveItemCounts(
  q: Queryable,
  runId: string,
  tenantId: number,
  counts: TenantCounts,
): Promise<void> {
  await q.query(
    'UPDATE operation_run_items SET counts = $3, progress_at = now() WHERE run_id = $1 AND tenant_id = $2',
    [runId, tenantId, JSON.stringify(counts)],
  );
}

export async function itemProgress(q: Queryable, runId: string, tenantId: number): Promise<TenantProgress> {
  const { rows } = await q.query<{ status: ItemStatus; counts: TenantCounts; error: string | null }>(
    'SELECT status, counts, error FROM operation_run_items WHERE run_id = $1 AND tenant_id = $2',
    [runId, tenantId],
  );
  const row = rows[0];
  if (!row) throw new Error(`run ${runId} has no item for tenant ${tenantId}`);
  return progressOf(tenantId, row.status, row.counts, row.error);
}

/** An item's progress from its status, counts and error. */
export function progressOf(
  tenantId: number,
  status: ItemStatus,
  counts: Partial<TenantCounts>,
  error: string | null = null,
): TenantProgress {
  return {
    tenantId,
    status,
    examined: counts.examined ?? 0,
    changed: counts.changed ?? 0,
    batches: counts.batches ?? 0,
    ...(error ? { error } : {}),
  };
}

/** The run's totals as of now, from its items (`r` is the run row). */
const COUNTS_OF_ITEMS = `
  SELECT jsonb_strip_nulls(jsonb_build_object(
           'tenants', count(*),
           'tenantsPending', count(*) FILTER (WHERE i.status = 'pending'),
           'tenantsRunning', count(*) FILTER (WHERE i.status = 'running'),
           'tenantsSucceeded', count(*) FILTER (WHERE i.status = 'succeeded'),
           'tenantsFailed', count(*) FILTER (WHERE i.status = 'failed'),
           'tenantsCancelled', count(*) FILTER (WHERE i.status = 'cancelled'),
           'examined', coalesce(sum((i.counts ->> 'examined')::bigint), 0),
           'changed', coalesce(sum((i.counts ->> 'changed')::bigint), 0),
           'batches', coalesce(sum((i.counts ->> 'batches')::bigint), 0),
           'batchSize', (array_agg((i.counts -> 'sizing' ->> 'size')::int
                                   ORDER BY (i.counts -> 'sizing' ->> 'at')::bigint DESC)
                           FILTER (WHERE i.counts ? 'sizing'))[1],
           'breakdown', coalesce((
             SELECT jsonb_object_agg(key, total) FROM (
               SELECT b.key, sum(b.value::bigint) AS total
                 FROM operation_run_items i2, jsonb_each_text(i2.counts -> 'breakdown') b
                WHERE i2.run_id = r.id GROUP BY b.key) per_key), '{}'::jsonb)))
    FROM operation_run_items i WHERE i.run_id = r.id`;

/**
 * Recomputes `operation_runs.counts` from the items. Derived, never incremented, so a retried
 * activity or a replayed workflow can call it any number of times.
 */
export async function refreshRunCounts(q: Queryable, runId: string): Promise<void> {
  await q.query(`UPDATE operation_runs r SET counts = (${COUNTS_OF_ITEMS}) WHERE r.id = $1`, [runId]);
}

/**
 * The totals a running run's items add up to right now: a follower sees every batch as it
 * commits, where the run row is refreshed only now and then (and a one-tenant run at its end).
 */
export async function liveRunCounts(q: Queryable, runId: string): Promise<RunCounts> {
  const { rows } = await q.query<{ counts: RunCounts }>(
    `SELECT (${COUNTS_OF_ITEMS}) AS counts FROM operation_runs r WHERE r.id = $1`,
    [runId],
  );
  return rows[0]?.counts ?? {};
}
