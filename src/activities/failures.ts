import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { firstLine } from '../errors.js';
import { isTransientError } from '../transient.js';
import { FAILURE_TYPES } from '../workflows/failureTypes.js';

function duration(ms: number): string {
  return ms < 120_000 ? `${Math.round(ms / 1000)} seconds` : `${Math.round(ms / 60_000)} minutes`;
}

/**
 * How an activity's error reaches its workflow. Activities retry without an attempt limit, so
 * what decides is the failure's type:
 * - a transient infrastructure failure is retryable: Temporal tries again until it passes;
 * - tenant work still failing that way after the outage window gives up, naming the outage;
 * - anything else is a business failure (an invalid transition, a trigger that raises): not
 *   retryable here, and the workflow counts it against `maxAttempts`.
 */
export function asActivityFailure(
  error: unknown,
  outage: { windowMs: number; firstScheduledMs: number; nowMs: number } | null,
): Error {
  if (error instanceof CancelledFailure || error instanceof ApplicationFailure) return error;
  const detail = firstLine(error);
  if (!isTransientError(error)) {
    return ApplicationFailure.create({ type: FAILURE_TYPES.business, message: detail, nonRetryable: true });
  }
  // Retries of an attempt keep its first schedule time, so this is how long the trouble has lasted.
  if (outage && outage.nowMs - outage.firstScheduledMs > outage.windowMs) {
    return ApplicationFailure.create({
      type: FAILURE_TYPES.outage,
      message: `Infrastructure unavailable for more than ${duration(outage.windowMs)}, the outage window (last error: ${detail}).`,
      nonRetryable: true,
    });
  }
  return ApplicationFailure.create({ type: FAILURE_TYPES.transient, message: detail, nonRetryable: false });
}

/**
 * Wraps every activity of a group so that its errors are classified the same way. Tenant work
 * is bounded by the outage window; bookkeeping (`outageWindowMs: null`) rides out any outage.
 */
export function classifyFailures<T extends Record<string, (...args: never[]) => Promise<unknown>>>(
  activities: T,
  outageWindowMs: number | null,
): T {
  const wrapped: Record<string, unknown> = {};
  for (const [name, activity] of Object.entries(activities)) {
    wrapped[name] = async (...args: never[]) => {
      try {
        return await activity(...args);
      } catch (error) {
        const outage =
          outageWindowMs === null
            ? null
            : {
                windowMs: outageWindowMs,
                firstScheduledMs: Context.current().info.scheduledTimestampMs,
                nowMs: Date.now(),
              };
        throw asActivityFailure(error, outage);
      }
    };
  }
  return wrapped as T;
}
