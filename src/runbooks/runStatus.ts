import type { Queryable } from '../db/queryable.js';
import type { RunOutcome, RunStatus } from './model.js';

const TRANSITIONS: Record<RunStatus, readonly RunStatus[]> = {
  // the workflow picked the run up; or it never could start (Temporal refused, cancelled while queued)
  queued: ['running', 'completed'],
  // every item is settled, or the run was cancelled
  running: ['completed'],
  // terminal
  completed: [],
};

export class InvalidTransitionError extends Error {}

export function assertTransition(from: RunStatus, to: RunStatus): void {
  if (!TRANSITIONS[from].includes(to)) {
    throw new InvalidTransitionError(
      `run status cannot go from ${from} to ${to}; from ${from} it may go to: ${TRANSITIONS[from].join(', ') || 'nothing'}`,
    );
  }
}

/**
 * The one checked way to move a run between statuses. Idempotent: moving a run to the status it
 * already has (an activity retried by Temporal) changes nothing and returns false.
 */
export async function persistTransition(
  q: Queryable,
  runId: string,
  to: RunStatus,
  fields: { outcome?: RunOutcome; error?: string | null } = {},
): Promise<{ changed: boolean; from: RunStatus }> {
  const { rows } = await q.query<{ status: RunStatus }>('SELECT status FROM operation_runs WHERE id = $1 FOR UPDATE', [
    runId,
  ]);
  const from = rows[0]?.status;
  if (!from) throw new Error(`operation run ${runId} does not exist`);
  if (from === to) return { changed: false, from };
  assertTransition(from, to);
  await q.query(
    `UPDATE operation_runs
        SET status = $2,
            started_at = CASE WHEN $2 = 'running' THEN coalesce(started_at, now()) ELSE started_at END,
            completed_at = CASE WHEN $2 = 'completed' THEN now() ELSE completed_at END,
            outcome = coalesce($3, outcome),
            error = coalesce($4, error),
            -- A completed run is no longer paused; the audit trail keeps who paused it.
            paused_at = CASE WHEN $2 = 'completed' THEN NULL ELSE paused_at END,
            paused_by = CASE WHEN $2 = 'completed' THEN NULL ELSE paused_by END
      WHERE id = $1`,
    [runId, to, fields.outcome ?? null, fields.error ?? null],
  );
  return { changed: true, from };
}
