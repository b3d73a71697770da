import type pg from 'pg';
import { RunbookRefusal } from './refusal.js';
import { getRun, getRunItems, type RunRecord } from './runs.js';
import type { ScopeInput } from './scope.js';

/**
 * The scope of a retry: exactly the failed tenants of a run that ended partially_succeeded or
 * failed. The retry itself goes through the normal preflight → confirm → start path, with
 * `retryOf` linking the two runs.
 */
export async function failedTenantsOf(pool: pg.Pool, runId: string): Promise<{ run: RunRecord; scope: ScopeInput }> {
  const run = await getRun(pool, runId);
  if (!run) throw new RunbookRefusal('run_not_found', `No run with id ${runId}.`);
  if (run.status !== 'completed' || (run.outcome !== 'partially_succeeded' && run.outcome !== 'failed')) {
    throw new RunbookRefusal(
      'nothing_to_retry',
      `Run ${run.id} is ${run.status === 'completed' ? `completed (${run.outcome})` : run.status}; only a run that ended partially succeeded or failed has failed tenants to retry.`,
    );
  }
  const failed = (await getRunItems(pool, run.id))
    .filter((item) => item.status === 'failed')
    .map((item) => item.externalId);
  if (failed.length === 0) throw new RunbookRefusal('nothing_to_retry', `Run ${run.id} has no failed tenant to retry.`);
  return { run, scope: { kind: 'tenants', externalIds: failed } };
}
