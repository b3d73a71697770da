import type pg from 'pg';
import { recordAudit } from '../audit/recordAudit.js';
import { errorWithCause, UnavailableError } from '../errors.js';
import { completeRun } from './completeRun.js';
import type { AuditActor } from './initiator.js';
import type { RunLauncher } from './launcher.js';
import type { SavedPreflight } from './preflight.js';
import type { RunRecord } from './runs.js';
import type { RunSource } from './model.js';

export interface LaunchDeps {
  pool: pg.Pool;
  launcher: RunLauncher;
}

/**
 * Starts a queued run's workflow and audits `runbook.started`; a fresh start and a replayed
 * one (same idempotency key, the run still queued) both come here. When Temporal will not
 * take it, the run is completed as failed (it must not hold its scope) and the error names
 * the server. When the workflow exists already, another starter launched it: nothing to do.
 */
export async function launchRun(
  deps: LaunchDeps,
  run: RunRecord,
  preflight: SavedPreflight,
  by: { actor: AuditActor; source: RunSource },
): Promise<void> {
  const target = { targetKind: 'operation_run', targetId: run.id };
  const tenants = 'tenants' in run.scope ? run.scope.tenants : [];
  let started: boolean;
  try {
    started = await deps.launcher.start({
      runId: run.id,
      runbook: run.runbook,
      singleTenant: run.scopeKind === 'tenant' ? tenants[0]! : null,
      guards: run.guards,
      gates: run.settings.gates,
      ...(run.settings.batchSize === undefined
        ? {}
        : { sizing: { batchSize: run.settings.batchSize, batchTargetMs: run.settings.batchTargetMs } }),
      preflight: {
        id: preflight.id,
        contentHash: preflight.contentHash,
        tenantsInScope: preflight.report.tenantsInScope,
        inScope: preflight.report.inScope,
        toChange: preflight.report.toChange,
      },
    });
  } catch (error) {
    const message = `${deps.launcher.name} did not start the workflow (${errorWithCause(error)}); run ${run.id} is recorded as failed. Check the server and start again.`;
    await completeRun(deps.pool, run.id, { outcome: 'failed', error: message, actor: by.actor });
    await recordAudit(deps.pool, {
      ...by.actor,
      ...target,
      action: 'runbook.start_failed',
      metadata: { runbook: run.runbook, error: message },
    });
    throw new UnavailableError(message);
  }
  if (!started) return;
  await recordAudit(deps.pool, {
    ...by.actor,
    ...target,
    action: 'runbook.started',
    metadata: {
      runbook: run.runbook,
      scope: run.scope,
      parameters: run.parameters,
      source: by.source,
      reason: run.reason,
      preflightId: preflight.id,
      // Who let it start: the approvers of its change request, or the release a deploy pipeline ran it for.
      ...(run.changeRequestId ? { changeRequestId: run.changeRequestId, approvedBy: run.approvedBy } : {}),
      ...(run.source === 'deploy_hook' ? { approval: `pre-approved by its release (${run.initiatorLabel})` } : {}),
    },
  });
}
