import type { RunRecord } from './runs.js';
import type { RunPhase } from './model.js';

/** What a run is doing, in one word: see RUN_PHASES. */
export function phaseOf(run: Pick<RunRecord, 'status' | 'pausedAt' | 'cancelRequestedAt'>): RunPhase {
  if (run.status === 'completed') return 'completed';
  if (run.cancelRequestedAt) return 'cancelling';
  return run.pausedAt ? 'paused' : run.status;
}

/**
 * How long a run has worked and how long it has been paused, in milliseconds: from its start to
 * its end (or `now`), its ended pauses and the one going on (or the one it ended in) apart.
 */
export function runClock(
  run: Pick<RunRecord, 'startedAt' | 'completedAt' | 'pausedAt' | 'pausedMs'>,
  now: Date,
): { workedMs: number; pausedMs: number } {
  if (!run.startedAt) return { workedMs: 0, pausedMs: 0 };
  const end = (run.completedAt ?? now).getTime();
  const start = run.startedAt.getTime();
  const openPause = run.pausedAt ? Math.max(0, end - Math.max(run.pausedAt.getTime(), start)) : 0;
  const pausedMs = run.pausedMs + openPause;
  return { workedMs: Math.max(0, end - start - pausedMs), pausedMs };
}
