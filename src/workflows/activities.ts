import { proxyActivities } from '@temporalio/workflow';
import type { RunSettings } from '../config.js';
import type { RunbookActivities } from '../activities/index.js';

/** Activities with the run's retry and heartbeat settings, so tests can shorten them. */
export function runbookActivities(settings: RunSettings) {
  return proxyActivities<RunbookActivities>({
    startToCloseTimeout: '10 minutes',
    heartbeatTimeout: settings.heartbeatTimeoutMs,
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: settings.maxAttempts },
  });
}

/** One line of a failure, for an item's `error` column. */
export function failureMessage(error: unknown): string {
  let current: unknown = error;
  // An ActivityFailure or ChildWorkflowFailure wraps the failure that says what went wrong.
  while (current instanceof Error && current.cause instanceof Error) current = current.cause;
  return current instanceof Error ? current.message : String(error);
}
