import { setTimeout as sleep } from 'node:timers/promises';
import { UserError } from '../../errors.js';
import { deployRunbooks, getRunbook } from '../../runbooks/registry.js';
import { getRun } from '../../runbooks/runs.js';
import { queryRelease, signalDeployRelease } from '../../temporal/runWorkflows.js';
import type { ReleaseRecord } from '../../workflows/deployHook.js';
import { withDeps, type CliDeps } from '../deps.js';
import { followRun } from '../followRun.js';
import { printable } from '../printable.js';
import { printResult, progress } from '../output.js';

/** Releases handled before the deploy workflow continues as new. */
const CONTINUE_AS_NEW_AFTER = 100;
const POLL_MS = 500;

/** Polls the deploy workflow until the release is recorded and, with `untilStarted`, every runbook has its run (or failed). */
async function releaseRecord(deps: CliDeps, name: string, untilStarted: boolean): Promise<ReleaseRecord> {
  const client = await deps.temporal();
  let announcedWaiting = false;
  for (;;) {
    const record = await queryRelease(client, deps.config.temporal.taskQueue, name);
    const waiting = record?.runbooks.filter((entry) => entry.state === 'pending' || entry.state === 'waiting') ?? [];
    if (record && (waiting.length === 0 || (!untilStarted && waiting.every((entry) => entry.state === 'waiting'))))
      return record;
    if (record && untilStarted && !announcedWaiting && waiting.some((entry) => entry.state === 'waiting')) {
      announcedWaiting = true;
      progress(`release ${name} waits: ${waiting.map((entry) => printable(entry.reason ?? entry.state)).join('; ')}`);
    }
    await sleep(POLL_MS);
  }
}

function describe(record: ReleaseRecord): string {
  return record.runbooks
    .map((entry) =>
      entry.runId
        ? `${entry.runbook}: run ${entry.runId}`
        : `${entry.runbook}: ${entry.state}${entry.reason ? ` (${printable(entry.reason)})` : ''}`,
    )
    .join('\n');
}

export async function deployHook(options: { release: string; wait?: boolean; json?: boolean }): Promise<void> {
  await withDeps(async (deps) => {
    const runbooks = deployRunbooks(deps.config.deployRunbooks).map((runbook) => runbook.id);
    if (runbooks.length === 0) {
      return printResult(
        Boolean(options.json),
        { release: options.release, runs: [] },
        () => 'No runbook is deploy-triggered (DEPLOY_RUNBOOKS is empty); nothing to run.',
      );
    }
    const client = await deps.temporal();
    await signalDeployRelease(
      client,
      {
        taskQueue: deps.config.temporal.taskQueue,
        input: {
          settings: deps.config.runs,
          retryMs: deps.config.deployRetryMs,
          continueAsNewAfter: CONTINUE_AS_NEW_AFTER,
        },
      },
      { release: options.release, runbooks },
    );
    const record = await releaseRecord(deps, options.release, Boolean(options.wait));
    if (!options.wait) {
      printResult(Boolean(options.json), record, () => describe(record));
      if (record.runbooks.some((entry) => entry.state === 'failed')) process.exitCode = 1;
      return;
    }
    if (!options.json) progress(describe(record));
    const outcomes: Array<{ runbook: string; runId?: string; outcome: string }> = [];
    for (const entry of record.runbooks) {
      if (!entry.runId) {
        outcomes.push({ runbook: entry.runbook, outcome: 'failed' });
        continue;
      }
      const run = await getRun(deps.database.pool, entry.runId);
      if (!run) throw new UserError(`Run ${entry.runId} of release ${options.release} is missing.`);
      const followed = await followRun(deps, run.id, getRunbook(run.runbook).unit);
      if (followed.interrupted) {
        process.exitCode = 130;
        return;
      }
      outcomes.push({ runbook: entry.runbook, runId: run.id, outcome: followed.run.outcome ?? 'unknown' });
    }
    printResult(Boolean(options.json), { release: options.release, runs: outcomes }, () =>
      outcomes.map((o) => `${o.runbook}: ${o.runId ? `run ${o.runId} ` : ''}${o.outcome}`).join('\n'),
    );
    process.exitCode = outcomes.every((o) => o.outcome === 'succeeded') ? 0 : 1;
  });
}
