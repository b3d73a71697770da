import { CancellationScope, defineQuery, isCancellation, setHandler } from '@temporalio/workflow';
import type { TenantInput, TenantProgress } from './inputs.js';
import { failureMessage, runbookActivities } from './activities.js';
import { preflightQuery } from './queries.js';

export const tenantProgressQuery = defineQuery<TenantProgress>('progress');

/**
 * One tenant of a run: batches until done, then a read-only verification, recorded in the
 * tenant's `operation_run_items` row. As the root of a single-tenant run it also begins and
 * completes the run. A tenant that fails after retries is recorded, not thrown, so that its
 * parent can go on with the others.
 */
export async function runbookTenantWorkflow(input: TenantInput): Promise<TenantProgress> {
  const activities = runbookActivities(input.settings);
  let progress: TenantProgress = { tenantId: input.tenantId, status: 'pending', examined: 0, changed: 0, batches: 0 };
  setHandler(tenantProgressQuery, () => progress);
  setHandler(preflightQuery, () => input.preflight);

  if (input.isRoot) await activities.beginRun(input.runId);
  try {
    await activities.beginRunItem(input.runId, input.tenantId);
    progress = { ...progress, status: 'running' };
    for (;;) {
      const step = await activities.processTenantBatches({
        runId: input.runId,
        runbook: input.runbook,
        tenantId: input.tenantId,
        batchSize: input.settings.batchSize,
        timeBudgetMs: input.settings.activityTimeBudgetMs,
      });
      progress = { ...step, status: 'running' };
      if (step.done) break;
    }
    progress = await activities.verifyTenant(input.runId, input.runbook, input.tenantId);
  } catch (error) {
    const cancelled = isCancellation(error);
    await CancellationScope.nonCancellable(async () => {
      const reason = cancelled ? 'Cancelled before this tenant finished.' : failureMessage(error);
      await activities.settleRunItem(input.runId, input.tenantId, cancelled ? 'cancelled' : 'failed', reason);
      if (cancelled && input.isRoot) await activities.completeRun(input.runId, { outcome: 'cancelled' });
    });
    if (cancelled) throw error;
    progress = { ...progress, status: 'failed', error: failureMessage(error) };
  }
  if (input.isRoot) await activities.completeRun(input.runId);
  return progress;
}
