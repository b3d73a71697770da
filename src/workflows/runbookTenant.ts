import { CancellationScope, condition, defineQuery, isCancellation, setHandler } from '@temporalio/workflow';
import type { TenantProgress } from '../runbooks/runItems.js';
import { failureMessage, ownRun, runbookActivities, withBusinessRetries } from './activities.js';
import type { TenantInput } from './inputs.js';
import { batchSizeSignal, pauseSignal, preflightQuery, resumeSignal, tuneUpdate, validateTuning } from './queries.js';

export const tenantProgressQuery = defineQuery<TenantProgress>('progress');

/** How long a paused batch waits for its run's pause signal before it looks again. */
const PAUSE_NOTICE_WAIT = '2 seconds';

/**
 * One tenant of a run: batches until done, then a read-only verification, recorded in the
 * tenant's `operation_run_items` row. As the root of a single-tenant run it also begins and
 * completes the run. A tenant that fails is recorded, not thrown, so that its parent can go on
 * with the others.
 */
export async function runbookTenantWorkflow(input: TenantInput): Promise<TenantProgress> {
  const { runId, tenantId } = input;
  const settings = { ...input.settings };
  const { work, bookkeeping } = runbookActivities(settings);
  let progress: TenantProgress = { tenantId, status: 'pending', examined: 0, changed: 0, batches: 0 };
  setHandler(tenantProgressQuery, () => progress);
  setHandler(preflightQuery, () => input.preflight);
  setHandler(batchSizeSignal, (batchSize) => void (settings.batchSize = batchSize));
  // Paused with its run (its parent tells it): no new batch until resumed.
  let paused = false;
  setHandler(pauseSignal, () => void (paused = true));
  setHandler(resumeSignal, () => void (paused = false));
  setHandler(
    tuneUpdate,
    (request) => {
      const from = { parallelism: 1, batchSize: settings.batchSize };
      settings.batchSize = request.batchSize ?? settings.batchSize;
      return { from, to: { parallelism: 1, batchSize: settings.batchSize } };
    },
    { validator: (request) => validateTuning(request, { parallelismAllowed: false }) },
  );
  const attempt = <T>(step: () => Promise<T>) => withBusinessRetries(settings.maxAttempts, step);

  async function rebuildTenant(): Promise<TenantProgress> {
    try {
      await attempt(() => work.beginRunItem(runId, tenantId));
      progress = { ...progress, status: 'running' };
      for (;;) {
        await condition(() => !paused);
        const step = await attempt(() =>
          work.processTenantBatches({
            runId,
            runbook: input.runbook,
            tenantId,
            batchSize: settings.batchSize,
            timeBudgetMs: settings.activityTimeBudgetMs,
          }),
        );
        progress = { ...step, status: 'running' };
        if (step.done) break;
        // The batch activity saw the run paused before its parent's word reached this workflow.
        if (step.paused) await condition(() => paused, PAUSE_NOTICE_WAIT);
      }
      progress = await attempt(() => work.verifyTenant(runId, input.runbook, tenantId));
    } catch (error) {
      // The batch activity has stopped by now (its cancellation is waited for), so the item's
      // counts are final when it is settled.
      const cancelled = isCancellation(error);
      const reason = cancelled ? 'Cancelled before this tenant finished.' : failureMessage(error);
      await CancellationScope.nonCancellable(() => bookkeeping.settleRunItem(runId, tenantId, cancelled ? 'cancelled' : 'failed', reason));
      if (cancelled) throw error;
      progress = { ...progress, status: 'failed', error: reason };
    }
    return progress;
  }

  if (!input.isRoot) return rebuildTenant();
  return ownRun(runId, bookkeeping, async () => {
    // Null: the run was completed (cancelled) before this workflow began.
    if (!(await bookkeeping.beginRun(runId))) return progress;
    const result = await rebuildTenant();
    await bookkeeping.completeRun(runId);
    return result;
  });
}
