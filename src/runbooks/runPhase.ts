import type { RunRecord } from './runs.js';
import type { RunPhase } from './model.js';

/** What a run is doing, in one word: see RUN_PHASES. */
export function phaseOf(run: Pick<RunRecord, 'status' | 'pausedAt' | 'cancelRequestedAt' | 'heldSince'>): RunPhase {
  if (run.status === 'completed') return 'completed';
  if (run.cancelRequestedAt) return 'cancelling';
  if (run.pausedAt) return 'paused';
  return run.status === 'running' && run.heldSince ? 'held' : run.status;
}

/**
 * How long a run has worked and how long it has been paused, in milliseconds: from its start to
 * its end (or `now`), its ended pauses and the one going on (or the one it ended in) apart.
 * Time held by the health gates is working time (a run's pace, and so its ETA, includes it),
 * also told apart as `heldMs`.
 */
export function runClock(
  run: Pick<RunRecord, 'startedAt' | 'completedAt' | 'pausedAt' | 'pausedMs' | 'heldSince' | 'heldMs'>,
  now: Date,
): { workedMs: number; pausedMs: number; heldMs: number } {
  if (!run.startedAt) return { workedMs: 0, pausedMs: 0, heldMs: 0 };
  const end = (run.completedAt ?? now).getTime();
  const start = run.startedAt.getTime();
  const openPause = run.pausedAt ? Math.max(0, end - Math.max(run.pausedAt.getTime(), start)) : 0;
  const pausedMs = run.pausedMs + openPause;
  const openHold = run.heldSince && !run.completedAt ? Math.max(0, end - run.heldSince.getTime()) : 0;
  return { workedMs: Math.max(0, end - start - pausedMs), pausedMs, heldMs: run.heldMs + openHold };
}
