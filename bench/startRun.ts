import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import type pg from 'pg';
import type { Config } from '../src/config.js';
import { UserError } from '../src/errors.js';
import type { Initiator } from '../src/runbooks/initiator.js';
import { runPreflight, type SavedPreflight } from '../src/runbooks/preflight.js';
import { getRunbook } from '../src/runbooks/registry.js';
import { getRun, type RunRecord } from '../src/runbooks/runs.js';
import { precheckStart, runOf, startRunbook } from '../src/runbooks/start.js';
import { ALL_TENANTS_PHRASE } from '../src/runbooks/model.js';
import type { StartRequest } from '../src/runbooks/validateStart.js';
import { round } from './profile.js';
import { temporalLauncher } from '../src/temporal/launcher.js';

export const RUNBOOK = 'findings-lifecycle';

const INITIATOR: Initiator = { kind: 'cli', label: 'bench' };

export interface BenchDeps {
  pool: pg.Pool;
  temporal: Client;
  config: Config;
}

function request(reason: string, preflightId: string | null): StartRequest {
  return {
    runbook: RUNBOOK,
    scope: { kind: 'all_tenants' },
    initiator: INITIATOR,
    reason,
    source: 'cli',
    confirmation: ALL_TENANTS_PHRASE,
    preflightId,
  };
}

/** The CLI's steps before its start: the precheck, then a fresh all-tenants preflight. Timed apart. */
export async function precheckAndPreflight(
  pool: pg.Pool,
  reason: string,
): Promise<{ preflight: SavedPreflight; precheckSeconds: number; preflightSeconds: number }> {
  let started = performance.now();
  await precheckStart({ pool }, request(reason, null));
  const precheckSeconds = (performance.now() - started) / 1000;
  started = performance.now();
  const preflight = await runPreflight(pool, {
    runbook: getRunbook(RUNBOOK),
    scope: { kind: 'all_tenants' },
    initiator: INITIATOR,
  });
  return {
    preflight,
    precheckSeconds: round(precheckSeconds, 3),
    preflightSeconds: round((performance.now() - started) / 1000, 3),
  };
}

export interface FinishedRun {
  run: RunRecord;
  /** The starter's call: checks, drift check, run row, workflow start. */
  startSeconds: number;
  /** From the starter's call to the run's `completed_at`. */
  runSeconds: number;
}

/**
 * Starts an all-tenants run against `preflight` through the one starter and waits for it to
 * complete (the run's own `completed_at` ends the clock, not the poll). A run that did not
 * succeed fails the bench: its figures would measure something else.
 */
export async function startAndWait(deps: BenchDeps, preflight: SavedPreflight, reason: string): Promise<FinishedRun> {
  const startedAt = Date.now();
  const started = performance.now();
  const launcher = temporalLauncher(deps.config, () => Promise.resolve(deps.temporal));
  const { run } = runOf(await startRunbook({ pool: deps.pool, launcher }, request(reason, preflight.id)));
  const startSeconds = (performance.now() - started) / 1000;
  let done: RunRecord = run;
  while (done.status !== 'completed') {
    await sleep(100);
    done = (await getRun(deps.pool, run.id)) ?? done;
  }
  if (done.outcome !== 'succeeded') {
    throw new UserError(
      `bench run ${done.id} ended ${done.outcome}: ${done.error ?? 'see its items'}; the figures would not be a rebuild's.`,
    );
  }
  return {
    run: done,
    startSeconds: round(startSeconds, 3),
    runSeconds: round((done.completedAt!.getTime() - startedAt) / 1000, 3),
  };
}
