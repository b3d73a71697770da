import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { UsageError, UserError } from '../../errors.js';
import { deployRunbooks, getRunbook } from '../../runbooks/registry.js';
import { getRun } from '../../runbooks/runs.js';
import { queryRelease, signalDeployRelease } from '../../temporal/runWorkflows.js';
import type { ReleaseRecord } from '../../workflows/deployHook.js';
import { withDeps, type CliDeps } from '../deps.js';
import { followRun } from '../followRun.js';
import { printable } from '../printable.js';
import { printResult, progress } from '../output.js';

const RELEASE = /^[A-Za-z0-9][A-Za-z0-9._:/+-]{0,99}$/;
/** Releases handled before the deploy workflow continues as new. */
const CONTINUE_AS_NEW_AFTER = 100;
const POLL_MS = 500;

function release(raw: string): string {
  if (!RELEASE.test(raw)) {
    throw new UsageError(
      `--release takes 1 to 100 characters: letters, digits and . _ : / + - (got "${printable(raw, 80)}").`,
    );
  }
  return raw;
}

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

export function registerDeployHookCommand(program: Command): void {
  program
    .command('deploy-hook')
    .description(
      'Tell the deploy workflow about a release: each deploy-triggered runbook runs once for it, on all tenants',
    )
    .requiredOption('--release <id>', 'the release (the same release twice starts nothing new)', release)
    .option('--wait', 'follow the runs to their end; exit 0 only when all of them succeeded')
    .option('--json', 'print machine-readable JSON')
    .addHelpText(
      'after',
      '\nDEPLOY_RUNBOOKS (a comma list, empty for none) overrides which runbooks run; by default the deploy-triggered ones.',
    )
    .action(async (options: { release: string; wait?: boolean; json?: boolean }) => {
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
    });
}
