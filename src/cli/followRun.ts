import { setTimeout as sleep } from 'node:timers/promises';
import { describeDatabaseUrl } from '../db/describeUrl.js';
import { UserError } from '../errors.js';
import { progressBar, progressText, runFraction } from '../runbooks/progressText.js';
import type { RunPhase } from '../runbooks/model.js';
import { liveRunCounts } from '../runbooks/runItems.js';
import { phaseOf } from '../runbooks/runPhase.js';
import { getRun, type RunRecord } from '../runbooks/runs.js';
import { isTransientError } from '../transient.js';
import type { CliDeps } from './deps.js';
import { CLI, heldHint, pauseHint } from './hints.js';
import { printable } from './printable.js';
import { liveProgress, progress } from './output.js';

/** What following ended with: the completed run, or the run as last seen when Ctrl-C stopped it. */
export type Followed = { run: RunRecord; interrupted: false } | { run: RunRecord | null; interrupted: true };

function followAgainHint(runId: string): string {
  return `Follow it again with: ${CLI} runs follow ${runId}`;
}

/**
 * Follows a run to its end: a live bar on a terminal; otherwise a line when its progress changed
 * (at most one every few seconds) and at once when its phase did. A pause is said once, with how
 * to resume, however long it lasts; a hold of the health gates when it begins and when it ends. An outage of PostgreSQL is ridden out (one line when it
 * starts, one when it ends); Ctrl-C stops following, never the run.
 */
export async function followRun(deps: CliDeps, runId: string, unit: string, pollMs = 1_000): Promise<Followed> {
  const live = liveProgress();
  const stop = new AbortController();
  const onSigint = () => stop.abort();
  process.once('SIGINT', onSigint);
  const where = describeDatabaseUrl(deps.config.databaseUrl);
  let last: RunRecord | null = null;
  let phase: RunPhase | null = null;
  let down = false;
  try {
    while (!stop.signal.aborted) {
      try {
        last = await getRun(deps.database.pool, runId);
        if (last?.status === 'running') last = { ...last, counts: await liveRunCounts(deps.database.pool, runId) };
        if (down) progress(`database at ${where} is back; following run ${runId}.`);
        down = false;
      } catch (error) {
        if (!isTransientError(error)) throw error;
        if (!down) {
          live.done();
          progress(`database unavailable at ${where}, retrying… (the run goes on; Ctrl-C stops following)`);
        }
        down = true;
      }
      if (!down) {
        if (!last) throw new UserError(`Run ${runId} disappeared.`);
        const seen = phaseOf(last);
        live.update(`${progressBar(runFraction(last))} ${printable(progressText(last, unit))}`, seen !== phase);
        if (seen === 'paused' && phase !== 'paused') {
          live.done();
          progress(`Run ${runId} is ${pauseHint(last)}`);
        }
        // A hold is said when it begins and when it ends, not at every move of its measure.
        if (seen === 'held' && phase !== 'held') {
          live.done();
          progress(`Run ${runId} is ${heldHint(last)}`);
        }
        if (phase === 'held' && seen === 'running') {
          live.done();
          progress(`Run ${runId} goes on: the health gates are clear.`);
        }
        phase = seen;
        if (seen === 'completed') return { run: last, interrupted: false };
      }
      await sleep(pollMs, undefined, { signal: stop.signal }).catch(() => {});
    }
    live.done();
    progress(`Stopped following; run ${runId} goes on. ${followAgainHint(runId)}`);
    return { run: last, interrupted: true };
  } finally {
    live.done();
    process.off('SIGINT', onSigint);
  }
}

/**
 * Prints where following ended and sets the exit code a pipeline reads: 0 only for a run that
 * succeeded, 1 for any other outcome, 130 when Ctrl-C stopped following first.
 */
export function printFollowed(
  json: boolean,
  followed: Followed,
  unit: string,
  extra: Record<string, unknown> = {},
): void {
  const { run } = followed;
  if (json) process.stdout.write(`${JSON.stringify({ run, interrupted: followed.interrupted, ...extra }, null, 2)}\n`);
  else if (run && !followed.interrupted) process.stdout.write(`${run.id} ${printable(progressText(run, unit))}\n`);
  process.exitCode = followed.interrupted ? 130 : run?.outcome === 'succeeded' ? 0 : 1;
}
