import { recordAudit } from '../../audit/recordAudit.js';
import type { Connection } from '../../db/orm.js';

/** Who a hold is recorded as in the audit trail: the engine's gates, not a person. */
const GATES = 'the health gates';

/**
 * Tenants hold and go on in transactions of their own: each takes the run's row first, so that
 * the last tenant to go on sees every other's, and ends the run's hold (two ending at once would
 * each see the other still held, and neither would).
 */
async function lockRunHold(q: Connection, runId: string): Promise<void> {
  await q.query('SELECT 1 FROM operation_runs WHERE id = $1 FOR UPDATE', [runId]);
}

/**
 * Records that the health gates hold a tenant of a running run, with what it waits for. A run is
 * held while any of its tenants is: the first tenant's hold starts the run's clock and is audited
 * (`runbook.held`); later words keep the run's reason current (measures move) and say nothing new
 * to the audit trail. In the caller's transaction.
 */
export async function recordHold(q: Connection, runId: string, tenantId: number, reason: string): Promise<void> {
  await lockRunHold(q, runId);
  await q.query(
    `UPDATE operation_run_items SET held_since = now() WHERE run_id = $1 AND tenant_id = $2 AND held_since IS NULL`,
    [runId, tenantId],
  );
  const { rows } = await q.query<{ began: boolean; runbook: string }>(
    `WITH before AS (SELECT held_since FROM operation_runs WHERE id = $1 FOR UPDATE)
     UPDATE operation_runs r
        SET held_since = coalesce(r.held_since, now()), held_reason = $2
       FROM before
      WHERE r.id = $1 AND r.status = 'running' AND r.held_reason IS DISTINCT FROM $2
     RETURNING before.held_since IS NULL AS began, r.runbook`,
    [runId, reason],
  );
  const row = rows[0];
  if (!row?.began) return;
  await recordAudit(
    q,
    {
      actorKind: 'system',
      actorLabel: GATES,
      action: 'runbook.held',
      targetKind: 'operation_run',
      targetId: runId,
      metadata: { runbook: row.runbook, reason },
    },
    { inTransaction: true },
  );
}

/**
 * Ends a tenant's hold (or, without a tenant, every hold of the run, as it completes). The run's
 * hold ends with its last held tenant's: its time is added to the run's time held, and audited
 * (`runbook.released`). In the caller's transaction.
 */
export async function releaseHold(q: Connection, runId: string, tenantId: number | null): Promise<void> {
  await lockRunHold(q, runId);
  await q.query(
    `UPDATE operation_run_items SET held_since = NULL
      WHERE run_id = $1 AND ($2::bigint IS NULL OR tenant_id = $2) AND held_since IS NOT NULL`,
    [runId, tenantId],
  );
  const { rows } = await q.query<{ heldMs: number; runbook: string; reason: string }>(
    `WITH before AS (SELECT held_since, held_reason FROM operation_runs WHERE id = $1 FOR UPDATE)
     UPDATE operation_runs r
        SET held_ms = r.held_ms + (extract(epoch FROM now() - before.held_since) * 1000)::bigint,
            held_since = NULL, held_reason = NULL
       FROM before
      WHERE r.id = $1 AND before.held_since IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM operation_run_items i WHERE i.run_id = $1 AND i.held_since IS NOT NULL)
     RETURNING (extract(epoch FROM now() - before.held_since) * 1000)::float8 AS "heldMs", r.runbook,
               before.held_reason AS reason`,
    [runId],
  );
  const row = rows[0];
  if (!row) return;
  await recordAudit(
    q,
    {
      actorKind: 'system',
      actorLabel: GATES,
      action: 'runbook.released',
      targetKind: 'operation_run',
      targetId: runId,
      metadata: { runbook: row.runbook, heldMs: Math.round(row.heldMs), reason: row.reason },
    },
    { inTransaction: true },
  );
}
