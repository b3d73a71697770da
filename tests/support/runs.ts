import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { expect } from 'vitest';
import { ALL_CAPABILITIES } from '../../src/runbooks/capabilities.js';
import type { Initiator } from '../../src/runbooks/initiator.js';
import { getRun, getRunItems, type RunRecord } from '../../src/runbooks/runs.js';
import type { Client } from '@temporalio/client';
import { queryRunProgress } from '../../src/temporal/runWorkflows.js';
import { until } from './until.js';

/** Polls the run row until it is completed (the workflow's own record of its end). */
export async function waitForRun(pool: pg.Pool, runId: string, timeoutMs = 90_000): Promise<RunRecord> {
  const run = await until(
    () => getRun(pool, runId),
    (found) => found?.status === 'completed',
    `run ${runId} to complete`,
    timeoutMs,
  );
  return run!;
}

/** Notifications written for a run (the initiator gets exactly one when it completes). */
export async function notificationsOf(pool: pg.Pool, runId: string): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM notifications WHERE data ->> 'runId' = $1`,
    [runId],
  );
  return rows[0]!.n;
}

/** A signed-in operator with every capability, as the console would pass it. */
export async function createOperator(
  pool: pg.Pool,
  email = `op-${Date.now()}-${Math.random()}@example.com`,
): Promise<Initiator> {
  const { rows } = await pool.query<{ id: number }>(
    `INSERT INTO platform_users (email, password_hash, capabilities) VALUES ($1, 'x', $2) RETURNING id::int`,
    [email, ALL_CAPABILITIES],
  );
  return { kind: 'platform_user', id: rows[0]!.id, email, capabilities: ALL_CAPABILITIES };
}

export async function tenantIds(pool: pg.Pool, where = "external_id <> 'platform'"): Promise<number[]> {
  const { rows } = await pool.query<{ id: number }>(`SELECT id::int FROM tenants WHERE ${where} ORDER BY id`);
  return rows.map((row) => row.id);
}

/** Items of a run that are settled (succeeded or failed). */
export async function settledItems(pool: pg.Pool, runId: string): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM operation_run_items WHERE run_id = $1 AND status IN ('succeeded', 'failed')`,
    [runId],
  );
  return rows[0]!.n;
}

/**
 * Polls until at least `settled` items of the run are settled and some tenant is early in its
 * work (running, with 1 to `maxBatches` batches committed), so that an outage started now
 * catches that tenant mid-work. Returns the settled count and those tenants.
 */
export async function waitForTenantMidWork(
  pool: pg.Pool,
  runId: string,
  { settled = 3, maxBatches = 3, timeoutMs = 120_000 } = {},
): Promise<{ settled: number; midWork: number[] }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await pool.query<{ settled: number; midWork: number[] | null }>(
      `SELECT count(*) FILTER (WHERE status IN ('succeeded', 'failed'))::int AS settled,
              array_agg(tenant_id::int ORDER BY tenant_id)
                FILTER (WHERE status = 'running' AND (counts ->> 'batches')::int BETWEEN 1 AND $2) AS "midWork"
         FROM operation_run_items WHERE run_id = $1`,
      [runId, maxBatches],
    );
    const row = rows[0]!;
    if (row.settled >= settled && row.midWork?.length) return { settled: row.settled, midWork: row.midWork };
    if (Date.now() > deadline)
      throw new Error(`run ${runId}: no tenant mid-work after ${settled} settled items within ${timeoutMs} ms`);
    // The poll interval of a wait for the condition above (bounded by the deadline): short, to catch a tenant mid-work.
    await sleep(25);
  }
}

/**
 * Asserts a completed run's exact counts: every tenant of `rowsByTenant` succeeded, each item
 * examined its tenant's rows and changed what `changedByTenant` says, and the run's totals are
 * the items' sums. Returns the tenants, in id order.
 */
export async function expectExactCounts(
  pool: pg.Pool,
  run: RunRecord,
  rowsByTenant: Map<number, number>,
  changedByTenant: Map<number, number>,
): Promise<number[]> {
  const tenants = [...rowsByTenant.keys()].sort((a, b) => a - b);
  const sum = (counts: Iterable<number>) => [...counts].reduce((a, b) => a + b, 0);
  expect(run).toMatchObject({ status: 'completed', outcome: 'succeeded', error: null });
  expect(run.counts).toMatchObject({
    tenants: tenants.length,
    tenantsSucceeded: tenants.length,
    tenantsFailed: 0,
    changed: sum(changedByTenant.values()),
    examined: sum(rowsByTenant.values()),
  });
  const items = await getRunItems(pool, run.id);
  expect(items.map((item) => item.tenantId).sort((a, b) => a - b)).toEqual(tenants);
  for (const item of items) {
    expect({
      tenant: item.externalId,
      status: item.status,
      changed: item.counts.changed,
      examined: item.counts.examined,
    }).toEqual({
      tenant: item.externalId,
      status: 'succeeded',
      changed: changedByTenant.get(item.tenantId) ?? 0,
      examined: rowsByTenant.get(item.tenantId),
    });
  }
  expect(items.reduce((sum, item) => sum + item.counts.changed, 0)).toBe(run.counts.changed);
  return tenants;
}

/** How many of `rows` each tenant holds. */
export function rowsPerTenant(rows: Iterable<{ tenantId: number }>): Map<number, number> {
  const byTenant = new Map<number, number>();
  for (const row of rows) byTenant.set(row.tenantId, (byTenant.get(row.tenantId) ?? 0) + 1);
  return byTenant;
}

/** Waits until a fan-out runs `children` tenants at once, by its own progress query. */
export async function untilChildrenRunning(client: Client, runId: string, children: number): Promise<void> {
  await until(
    () => queryRunProgress(client, runId),
    (progress) => progress.running === children,
    `${children} children to run`,
  );
}
