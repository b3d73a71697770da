import { and, eq, sql } from 'drizzle-orm';
import type pg from 'pg';
import { recordAudit } from '../audit/recordAudit.js';
import { orm } from '../db/orm.js';
import { notifications, operationRuns } from '../db/schema/index.js';
import { inTransaction } from '../db/transaction.js';
import { refreshRunCounts } from './runItems.js';

/**
 * Records that a run paused itself (its canary wave is done, its error budget is spent): on the
 * run row, paused `by` the name its workflow goes by, with the reason; in the audit trail; and
 * in one `OperationRunPaused` notification for its initiator. Idempotent: a retried activity
 * finds the same reason recorded and adds nothing.
 */
export async function pauseRunItself(
  pool: pg.Pool,
  runId: string,
  { by, reason }: { by: string; reason: string },
): Promise<void> {
  await inTransaction(pool, async (client) => {
    const db = orm(client);
    const [run] = await db.select().from(operationRuns).where(eq(operationRuns.id, runId)).for('update');
    if (!run || run.status === 'completed') return;
    if (run.pausedAt && run.pauseReason === reason) return;
    await db
      .update(operationRuns)
      .set({ pausedAt: new Date(), pausedBy: by, pauseReason: reason })
      .where(eq(operationRuns.id, runId));
    // The run stops here for someone to look at: its totals must be the items' as they are now,
    // not as the workflow's last (throttled) refresh saw them.
    await refreshRunCounts(client, runId);
    if (run.initiatorPlatformUserId !== null) {
      const data = { runId, runbook: run.runbook, reason };
      const [already] = await db
        .select({ id: notifications.id })
        .from(notifications)
        .where(
          and(
            eq(notifications.type, 'OperationRunPaused'),
            sql`${notifications.data} ->> 'runId' = ${runId}`,
            sql`${notifications.data} ->> 'reason' = ${reason}`,
          ),
        );
      if (!already)
        await db
          .insert(notifications)
          .values({ platformUserId: run.initiatorPlatformUserId, type: 'OperationRunPaused', data });
    }
    await recordAudit(
      client,
      {
        actorKind: 'system',
        actorLabel: by,
        action: 'runbook.paused',
        targetKind: 'operation_run',
        targetId: runId,
        metadata: { runbook: run.runbook, reason },
      },
      { inTransaction: true },
    );
  });
}
