import { resumeAllRuns, stopAllRuns } from '../../runbooks/stopAll.js';
import { withDeps } from '../deps.js';
import { CLI, withCliHint } from '../hints.js';
import { cliInitiator } from '../initiator.js';
import { printResult } from '../output.js';

const runs = (ids: string[]) => (ids.length === 0 ? 'none' : ids.join(', '));

/** `runs stop-all`: every active run paused, every start refused, until `runs resume-all`. */
export async function runsStopAll(options: { reason: string; confirm?: string; json?: boolean }): Promise<void> {
  await withDeps(async ({ database, launcher }) => {
    const stopped = await stopAllRuns(
      { pool: database.pool, launcher },
      { initiator: cliInitiator(), source: 'cli', reason: options.reason, confirmation: options.confirm ?? null },
    ).catch((error: unknown) => {
      throw withCliHint(error);
    });
    printResult(Boolean(options.json), stopped, () =>
      [
        `Stopped every run: ${stopped.paused.length} paused (${runs(stopped.paused)}); every start is refused until: ${CLI} runs resume-all --reason "<why>"`,
        ...(stopped.untold.length > 0
          ? [
              `${stopped.untold.length} of their workflows could not be told (${runs(stopped.untold)}): they take no new batch all the same.`,
            ]
          : []),
      ].join('\n'),
    );
  });
}

/** `runs resume-all`: lifts the stop and resumes the runs it paused. */
export async function runsResumeAll(options: { reason: string; json?: boolean }): Promise<void> {
  await withDeps(async ({ database, launcher }) => {
    const resumed = await resumeAllRuns(
      { pool: database.pool, launcher },
      { initiator: cliInitiator(), source: 'cli', reason: options.reason },
    ).catch((error: unknown) => {
      throw withCliHint(error);
    });
    printResult(
      Boolean(options.json),
      resumed,
      () =>
        `Resumed every run the stop paused: ${resumed.resumed.length} (${runs(resumed.resumed)}); starts are allowed again.`,
    );
  });
}
