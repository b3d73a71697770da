import {
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import { failureMessage, runbookActivities } from './activities.js';
import type { RunSettings } from '../config.js';

/** A release a deploy pipeline announces, with the runbooks to run for it. */
export interface ReleaseSignal {
  release: string;
  runbooks: string[];
}

type DeployEntryState = 'pending' | 'waiting' | 'started' | 'failed';

export interface ReleaseRecord {
  release: string;
  /** Epoch milliseconds, by the workflow's deterministic clock. */
  receivedAt: number;
  runbooks: Array<{ runbook: string; state: DeployEntryState; runId?: string; reason?: string }>;
}

export interface DeployHookInput {
  settings: RunSettings;
  /** How long a release waits for the previous release's run before it tries again. */
  retryMs: number;
  /** Releases handled before the workflow continues as new (keeps its history bounded). */
  continueAsNewAfter: number;
  /** Every release seen so far, carried across continue-as-new. */
  releases?: ReleaseRecord[];
}

export const releaseSignal = defineSignal<[ReleaseSignal]>('release');
export const releasesQuery = defineQuery<ReleaseRecord[]>('releases');

const settled = (entry: ReleaseRecord['runbooks'][number]) => entry.state === 'started' || entry.state === 'failed';

/**
 * The one long-lived deploy workflow: releases arrive by signal (signal-with-start) and are
 * handled in order, each runbook started once through the shared starter (its idempotency key
 * makes a repeated release a no-op). A release that finds the previous one's run still active
 * waits for it rather than being refused.
 */
export async function deployHookWorkflow(input: DeployHookInput): Promise<void> {
  const releases: ReleaseRecord[] = input.releases ?? [];
  const { bookkeeping } = runbookActivities(input.settings);
  setHandler(releaseSignal, ({ release, runbooks }) => {
    if (releases.some((record) => record.release === release)) return;
    releases.push({
      release,
      receivedAt: Date.now(),
      runbooks: runbooks.map((runbook) => ({ runbook, state: 'pending' })),
    });
  });
  setHandler(releasesQuery, () => releases);

  let handled = 0;
  for (;;) {
    await condition(() => releases.some((record) => !record.runbooks.every(settled)));
    const record = releases.find((candidate) => !candidate.runbooks.every(settled))!;
    for (const entry of record.runbooks.filter((candidate) => !settled(candidate))) {
      try {
        const result = await bookkeeping.startDeployRun(record.release, entry.runbook);
        if (result.state === 'started')
          Object.assign(entry, { state: 'started', runId: result.runId, reason: undefined });
        else Object.assign(entry, { state: result.state === 'waiting' ? 'waiting' : 'failed', reason: result.reason });
      } catch (error) {
        Object.assign(entry, { state: 'failed', reason: failureMessage(error) });
      }
    }
    if (record.runbooks.some((entry) => entry.state === 'waiting')) {
      await sleep(input.retryMs);
      continue;
    }
    handled++;
    if (handled >= input.continueAsNewAfter || workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof deployHookWorkflow>({ ...input, releases });
    }
  }
}
