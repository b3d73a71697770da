import {
  CancellationScope,
  condition,
  defineQuery,
  getExternalWorkflowHandle,
  isCancellation,
  patched,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { TenantStep } from '../activities/index.js';
import type { TenantProgress } from '../runbooks/runItems.js';
import { failureMessage, isBusinessFailure, ownRun, runbookActivities, withBusinessRetries } from './activities.js';
import type { TenantInput } from './inputs.js';
import {
  batchSizeSignal,
  batchTargetSignal,
  criticalSignal,
  gatesSignal,
  PAUSED_BY_ITSELF,
  pauseSignal,
  preflightQuery,
  resumeSignal,
  tuneUpdate,
  tuningOf,
  validateTuning,
} from './queries.js';
import type { TuneRequest } from '../runbooks/model.js';
import { CHANGE_WINDOWS_PATCH, keepToWindows, waitForWindow } from './keepToWindows.js';

export const tenantProgressQuery = defineQuery<TenantProgress>('progress');

/** How long a paused batch waits for its run's pause signal before it looks again. */
const PAUSE_NOTICE_WAIT = '2 seconds';
/** A local activity cannot heartbeat (nor be seen pending): its stretch stays this short. */
const FIRST_STRETCH_MS = 1_000;
/**
 * The batch activity was called `rebuildTenant` before it became `processTenant`. A workflow
 * whose history already has the old name must replay with it (an activity of another type is a
 * nondeterminism error), so it keeps scheduling `rebuildTenant`; new workflows record this
 * patch and use `processTenant`. Next release: `deprecatePatch`, then drop the old name.
 */
const BATCH_ACTIVITY_RENAMED = 'batch-activity-renamed-processTenant';

/**
 * One tenant of a run: batches until done, then a read-only verification, recorded in the
 * tenant's `operation_run_items` row: a first stretch as a local activity, and what is left in
 * ordinary, heartbeating activities. As the root of a single-tenant run it also begins and
 * completes the run. A tenant that fails is recorded, not thrown, so that its parent can go on
 * with the others.
 */
export async function runbookTenantWorkflow(input: TenantInput): Promise<TenantProgress> {
  const { runId, tenantId } = input;
  const settings = { ...input.settings };
  const { work, localWork, bookkeeping } = runbookActivities(settings);
  let progress: TenantProgress = { tenantId, status: 'pending', examined: 0, changed: 0, batches: 0 };
  setHandler(tenantProgressQuery, () => progress);
  setHandler(preflightQuery, () => input.preflight);
  setHandler(batchSizeSignal, (batchSize) => void (settings.batchSize = batchSize));
  setHandler(batchTargetSignal, (targetMs) => void (settings.batchTargetMs = targetMs ?? undefined));
  setHandler(gatesSignal, (gates) => void (settings.gates = gates));
  // Paused with its run (its parent tells it): no new batch until resumed.
  let paused = false;
  // A one-tenant run paused at its change window's cutoff, until the window opens or an operator resumes it.
  let heldByWindow = false;
  setHandler(pauseSignal, () => void (paused = true));
  setHandler(resumeSignal, () => {
    paused = false;
    heldByWindow = false;
  });
  setHandler(
    tuneUpdate,
    (request) => {
      const from = tuningOf(1, settings);
      settings.batchSize = request.batchSize ?? settings.batchSize;
      if (request.batchTargetMs !== undefined) settings.batchTargetMs = request.batchTargetMs ?? undefined;
      settings.gates = request.gates ?? settings.gates;
      return { from, to: tuningOf(1, settings) };
    },
    { validator: (request: TuneRequest) => validateTuning(request, { parallelismAllowed: false }) },
  );
  const attempt = <T>(step: (number: number) => Promise<T>) => withBusinessRetries(settings.maxAttempts, step);

  const batchActivity = patched(BATCH_ACTIVITY_RENAMED) ? 'processTenant' : 'rebuildTenant';
  const stretch = (activities: typeof work, timeBudgetMs: number) =>
    activities[batchActivity]({
      runId,
      runbook: input.runbook,
      tenantId,
      batchSize: settings.batchSize,
      batchTargetMs: settings.batchTargetMs,
      timeBudgetMs,
      gates: settings.gates,
    });
  /** Keeps the tenant's progress for the query; returns what decides the next step. */
  const track = ({ settled, paused: runPaused, critical, held: _held, ...tenant }: TenantStep) => {
    progress = tenant;
    return { settled, paused: runPaused, critical };
  };

  /**
   * A critical health threshold pauses the whole run for an operator: a fan-out's child asks its
   * parent (which pauses every child, once), a one-tenant run pauses itself and tells its initiator.
   */
  async function pauseForCritical(reason: string): Promise<void> {
    const parent = workflowInfo().parent;
    if (parent && !input.isRoot) {
      await getExternalWorkflowHandle(parent.workflowId).signal(criticalSignal, reason);
      await condition(() => paused, PAUSE_NOTICE_WAIT);
      return;
    }
    paused = true;
    await bookkeeping.pauseRunItself(runId, { by: PAUSED_BY_ITSELF, reason });
  }

  async function processTenant(): Promise<TenantProgress> {
    try {
      let step = track(
        await attempt((number) => (number === 1 ? firstStretch() : stretch(work, settings.activityTimeBudgetMs))),
      );
      while (!step.settled) {
        if (step.critical) await pauseForCritical(step.critical);
        // The activity saw the run paused before its parent's word reached this workflow.
        else if (step.paused) await condition(() => paused, PAUSE_NOTICE_WAIT);
        await condition(() => !paused);
        step = track(await attempt(() => stretch(work, settings.activityTimeBudgetMs)));
      }
    } catch (error) {
      // The batch activity has stopped by now (its cancellation is waited for), so the item's
      // counts are final when it is settled.
      const cancelled = isCancellation(error);
      const reason = cancelled ? 'Cancelled before this tenant finished.' : failureMessage(error);
      await CancellationScope.nonCancellable(() =>
        bookkeeping.settleRunItem(runId, tenantId, cancelled ? 'cancelled' : 'failed', reason),
      );
      if (cancelled) throw error;
      progress = { ...progress, status: 'failed', error: reason };
    }
    return progress;
  }

  /**
   * A small tenant is done within its first second, as a local activity: no round trip through
   * the task queue. A business failure counts as the first attempt; any other failure (an
   * outage, a worker's timeout) goes straight on to the ordinary activity, which retries it
   * where operators can see it.
   */
  async function firstStretch(): Promise<TenantStep> {
    try {
      return await stretch(localWork, FIRST_STRETCH_MS);
    } catch (error) {
      if (isCancellation(error) || isBusinessFailure(error)) throw error;
      return stretch(work, settings.activityTimeBudgetMs);
    }
  }

  if (!input.isRoot) return processTenant();
  // Workflows begun before change windows replay without them.
  const keepsToWindows = patched(CHANGE_WINDOWS_PATCH);
  let over = false;
  return ownRun(runId, bookkeeping, async () => {
    if (keepsToWindows) await waitForWindow(bookkeeping, runId);
    // Null: the run was completed (cancelled) before this workflow began.
    if (!(await bookkeeping.beginRun(runId))) return progress;
    const watching = keepsToWindows
      ? keepToWindows({
          bookkeeping,
          runId,
          done: () => over,
          paused: () => paused,
          heldByWindow: () => heldByWindow,
          pause: () => {
            paused = heldByWindow = true;
            return Promise.resolve();
          },
          resume: async () => {
            paused = heldByWindow = false;
            await bookkeeping.windowOpened(runId);
          },
        }).catch((error: unknown) => {
          // Cancelled with the run; anything else is a bug in this workflow, for its task to fail on.
          if (!isCancellation(error)) throw error;
        })
      : null;
    const result = await processTenant();
    over = true;
    await watching;
    await bookkeeping.completeRun(runId);
    return result;
  });
}
