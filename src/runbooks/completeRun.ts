import type pg from 'pg';
import { recordAudit } from '../audit/recordAudit.js';
import { orm } from '../db/orm.js';
import { notifications } from '../db/schema/index.js';
import { inTransaction } from '../db/transaction.js';
import type { AuditActor } from './initiator.js';
import { releaseHold } from './health/runHolds.js';
import { refreshRunCounts } from './runItems.js';
import { persistTransition } from './runStatus.js';
import type { RunCounts, RunOutcome } from './model.js';

const AUDIT_ACTION: Record<RunOutcome, string> = {
  succeeded: 'runbook.completed',
  partially_succeeded: 'runbook.completed',
  failed: 'runbook.failed',
  cancelled: 'runbook.cancelled',
};

/** The run's workflows complete it; a start that never reached a worker names its starter. */
const WORKER: AuditActor = { actorKind: 'system', actorLabel: 'temporal-worker' };

/** Every tenant done → succeeded; none done but some failed → failed; a mix → partially. */
export function outcomeOf(counts: {
  tenantsSucceeded: number;
  tenantsFailed: number;
  tenantsCancelled: number;
}): RunOutcome {
  if (counts.tenantsFailed === 0 && counts.tenantsCancelled === 0) return 'succeeded';
  return counts.tenantsSucceeded === 0 ? 'failed' : 'partially_succeeded';
}

/**
 * Finalizes a run in one transaction (the outcome derived from its items unless given): counts from the items, `completed` + outcome, the
 * initiator's single `OperationRunCompleted` notification and the audit event. A second call
 * (Temporal retried the activity) finds the run completed and writes nothing.
 */
export async function completeRun(
  pool: pg.Pool,
  runId: string,
  options: { outcome?: RunOutcome; error?: string | null; actor?: AuditActor } = {},
): Promise<{ outcome: RunOutcome; changed: boolean }> {
  return inTransaction(pool, async (client) => {
    if (options.outcome === 'cancelled' || options.outcome === 'failed') {
      // Tenants never reached (or still marked running) end with the run.
      const [status, error] =
        options.outcome === 'cancelled'
          ? ['cancelled', 'The run was cancelled before this tenant finished.']
          : ['failed', `The run failed before this tenant finished: ${options.error ?? 'no reason given'}`];
      await client.query(
        `UPDATE operation_run_items SET status = $2, error = $3, completed_at = now()
          WHERE run_id = $1 AND status IN ('pending', 'running')`,
        [runId, status, error],
      );
    }
    await refreshRunCounts(client, runId);
    // A run that ends while held (cancelled, say) keeps the time it was held.
    await releaseHold(client, runId, null);
    const { rows } = await client.query<{
      runbook: string;
      // refreshRunCounts has just written every tally.
      counts: RunCounts & Parameters<typeof outcomeOf>[0];
      outcome: RunOutcome | null;
      initiatorId: number | null;
      initiatorLabel: string;
    }>(
      `SELECT runbook, counts, outcome, initiator_platform_user_id AS "initiatorId", initiator_label AS "initiatorLabel", scope
         FROM operation_runs WHERE id = $1`,
      [runId],
    );
    const run = rows[0];
    if (!run) throw new Error(`operation run ${runId} does not exist`);
    const outcome = options.outcome ?? outcomeOf(run.counts);
    const transition = await persistTransition(client, runId, 'completed', { outcome, error: options.error ?? null });
    if (!transition.changed) return { outcome: run.outcome ?? outcome, changed: false };

    const data = { runId, runbook: run.runbook, outcome, counts: run.counts };
    if (run.initiatorId != null) {
      await orm(client)
        .insert(notifications)
        .values({ platformUserId: run.initiatorId, type: 'OperationRunCompleted', data })
        .onConflictDoNothing();
    }
    await recordAudit(
      client,
      {
        ...(options.actor ?? WORKER),
        action: AUDIT_ACTION[outcome],
        targetKind: 'operation_run',
        targetId: runId,
        metadata: { runbook: run.runbook, outcome, counts: run.counts, initiator: run.initiatorLabel },
      },
      { inTransaction: true },
    );
    return { outcome, changed: true };
  });
}
