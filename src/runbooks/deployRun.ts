import type { Initiator } from './initiator.js';
import { preflightAndStart } from './preflightAndStart.js';
import { RunbookRefusal } from './refusal.js';
import { getRunbook } from './registry.js';
import { runOf, type StartDeps } from './start.js';
import { ALL_TENANTS_PHRASE } from './model.js';
import type { StartRequest } from './validateStart.js';

/** What became of one runbook of a release. */
export type DeployStart =
  | { state: 'started'; runId: string }
  /** The previous release's run still holds the scope: try again later. */
  | { state: 'waiting'; reason: string }
  | { state: 'refused'; reason: string };

function deployInitiator(release: string): Initiator {
  return { kind: 'deploy_hook', label: `deploy:${release}` };
}

/** One run per release and runbook, however often the hook fires. */
function deployIdempotencyKey(release: string, runbook: string): string {
  return `deploy:${release}:${runbook}`;
}

/**
 * Starts a deploy-triggered runbook for a release through the shared starter, like any other
 * start: all tenants, a fresh preflight saved and confirmed, audited. A replay returns the
 * run the release already has; an active run of the runbook makes it wait, checked before a
 * preflight is spent on it.
 */
export async function startDeployRun(deps: StartDeps, release: string, runbookName: string): Promise<DeployStart> {
  const runbook = getRunbook(runbookName);
  const initiator = deployInitiator(release);
  const request: StartRequest = {
    runbook: runbook.id,
    scope: { kind: 'all_tenants' },
    initiator,
    reason: `Deploy of release ${release}`,
    source: 'deploy_hook',
    idempotencyKey: deployIdempotencyKey(release, runbook.id),
    confirmation: ALL_TENANTS_PHRASE,
  };
  try {
    const started = await preflightAndStart(deps, request, { whenHeld: 'report' });
    if ('heldBy' in started) {
      const holder = started.heldBy;
      return { state: 'waiting', reason: `run ${holder.id} (by ${holder.initiatorLabel}) is still ${holder.status}` };
    }
    return { state: 'started', runId: runOf(started).run.id };
  } catch (error) {
    if (!(error instanceof RunbookRefusal)) throw error;
    // Another start took the scope, or the data moved, between the check and the start; or an
    // operator stopped every run: the release's run starts once they resume them.
    if (error.code === 'overlapping_run' || error.code === 'preflight_drift' || error.code === 'runs_stopped')
      return { state: 'waiting', reason: error.message };
    return { state: 'refused', reason: error.message };
  }
}
