import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { ALL_CAPABILITIES } from '../../src/runbooks/capabilities.js';
import type { Initiator } from '../../src/runbooks/initiator.js';
import { getRun, type RunRecord } from '../../src/runbooks/runs.js';

/** Polls the run row until it is completed (the workflow's own record of its end). */
export async function waitForRun(pool: pg.Pool, runId: string, timeoutMs = 90_000): Promise<RunRecord> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = await getRun(pool, runId);
    if (run?.status === 'completed') return run;
    if (Date.now() > deadline) throw new Error(`run ${runId} still ${run?.status} after ${timeoutMs} ms: ${JSON.stringify(run?.counts)}`);
    await sleep(200);
  }
}

/** A signed-in operator with every capability, as the console would pass it. */
export async function createOperator(pool: pg.Pool, email = `op-${Date.now()}-${Math.random()}@example.com`): Promise<Initiator> {
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

export async function auditActions(pool: pg.Pool): Promise<string[]> {
  const { rows } = await pool.query<{ action: string }>('SELECT action FROM audit_events ORDER BY id');
  return rows.map((row) => row.action);
}

/** Items of a run that are settled (succeeded or failed). */
export async function settledItems(pool: pg.Pool, runId: string): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM operation_run_items WHERE run_id = $1 AND status IN ('succeeded', 'failed')`,
    [runId],
  );
  return rows[0]!.n;
}

/** Polls until at least `count` items of the run are settled. */
export async function waitForSettledItems(pool: pg.Pool, runId: string, count: number, timeoutMs = 120_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const settled = await settledItems(pool, runId);
    if (settled >= count) return settled;
    if (Date.now() > deadline) throw new Error(`run ${runId} settled only ${settled} of ${count} items in ${timeoutMs} ms`);
    await sleep(100);
  }
}
