import type { Connection } from '../../db/orm.js';
import { recordAudit } from '../../audit/recordAudit.js';

/** Who a hold is recorded as in the audit trail: the engine's gates, not a person. */
const GATES = 'the health gates';

/**
 * Records that a health gate holds a running run, with what it waits for. The first word of a
 * hold starts its clock and is audited (`runbook.held`); later words keep the reason current
 * (measures move), at most one write per word, and say nothing new to the audit trail.
 * In the caller's transaction.
 */
export async function recordHold(q: Connection, runId: string, reason: string): Promise<void> {
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

/** Ends a run's hold, adding its time to the run's time held, and audits it (`runbook.released`), in the caller's transaction. */
export async function releaseHold(q: Connection, runId: string): Promise<void> {
  const { rows } = await q.query<{ heldMs: number; runbook: string; reason: string }>(
    `WITH before AS (SELECT held_since, held_reason FROM operation_runs WHERE id = $1 FOR UPDATE)
     UPDATE operation_runs r
        SET held_ms = r.held_ms + (extract(epoch FROM now() - before.held_since) * 1000)::bigint,
            held_since = NULL, held_reason = NULL
       FROM before
      WHERE r.id = $1 AND before.held_since IS NOT NULL
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
