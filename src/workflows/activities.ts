import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  ContinueAsNew,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
  sleep,
} from '@temporalio/workflow';
import type { RunSettings } from '../config.js';
import type { RunbookActivities } from '../activities/index.js';
import { FAILURE_TYPES } from './failureTypes.js';

/**
 * Every activity retries without an attempt limit: an infrastructure failure is retried until
 * it passes (tenant work gives up after the outage window), and a business failure comes back
 * non-retryable, for the workflow to count (`withBusinessRetries`). Cancellation waits for the
 * activity to stop, so that nothing writes after the workflow has settled what it did.
 */
const RETRY = { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds' } as const;

export function runbookActivities(settings: RunSettings) {
  return {
    bookkeeping: proxyActivities<RunbookActivities>({
      startToCloseTimeout: '5 minutes',
      retry: RETRY,
      cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    }),
    /**
     * Bookkeeping run inside the workflow task with no trip through the task queue: for short
     * calls that would otherwise spend longer queued than running.
     */
    localBookkeeping: proxyLocalActivities<RunbookActivities>({
      startToCloseTimeout: '1 minute',
      retry: RETRY,
      cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    }),
    work: proxyActivities<RunbookActivities>({
      startToCloseTimeout: '10 minutes',
      heartbeatTimeout: settings.heartbeatTimeoutMs,
      retry: RETRY,
      cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    }),
    /**
     * A tenant's first stretch of work, inside the workflow task: it cannot heartbeat, so it is
     * short, and it makes one attempt; whatever stops it, the tenant goes on the ordinary way.
     */
    localWork: proxyLocalActivities<RunbookActivities>({
      startToCloseTimeout: '1 minute',
      retry: { maximumAttempts: 1 },
      cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    }),
  };
}

export function isBusinessFailure(error: unknown): boolean {
  // A local activity's failure may come unwrapped.
  const failure = error instanceof ActivityFailure ? error.cause : error;
  return failure instanceof ApplicationFailure && failure.type === FAILURE_TYPES.business;
}

/** Runs tenant work up to `maxAttempts` times while it fails for a business reason. */
export async function withBusinessRetries<T>(maxAttempts: number, work: (attempt: number) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work(attempt);
    } catch (error) {
      if (attempt >= maxAttempts || !isBusinessFailure(error)) throw error;
      await sleep(Math.min(1_000 * 2 ** (attempt - 1), 60_000));
    }
  }
}

/** One line of a failure, for an item's or a run's `error` column. */
export function failureMessage(error: unknown): string {
  let current: unknown = error;
  // An ActivityFailure or ChildWorkflowFailure wraps the failure that says what went wrong.
  while (current instanceof Error && current.cause instanceof Error) current = current.cause;
  return current instanceof Error ? current.message : String(error);
}

/**
 * The body of a workflow that owns a run (a fan-out, or a single-tenant run's only workflow).
 * However the body ends, the run ends with it: cancelled when the workflow is cancelled, failed
 * with the error when anything goes wrong that the body did not handle, so a run never stays
 * `running` with no workflow behind it. `stop` lets running work settle first.
 */
export async function ownRun<T>(
  runId: string,
  activities: ReturnType<typeof runbookActivities>['bookkeeping'],
  body: () => Promise<T>,
  stop: () => Promise<void> = async () => {},
): Promise<T> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof ContinueAsNew) throw error;
    const cancelled = isCancellation(error);
    const message = failureMessage(error);
    await CancellationScope.nonCancellable(async () => {
      await stop();
      await activities.completeRun(runId, cancelled ? { outcome: 'cancelled' } : { outcome: 'failed', error: message });
    });
    if (cancelled) throw error;
    // Fail the execution, not just the task: a retried task would only fail again.
    throw ApplicationFailure.nonRetryable(`Run ${runId} failed: ${message}`, 'RunFailed');
  }
}
