import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type pg from 'pg';
import { recordAudit } from '../audit/recordAudit.js';
import { UserError } from '../errors.js';
import { pauseSignal, resumeSignal } from '../workflows/queries.js';
import { CAPABILITIES } from './capabilities.js';
import { completeRun } from './completeRun.js';
import { auditActor, type Initiator, type RequestContext } from './initiator.js';
import { RunbookRefusal } from './refusal.js';
import { getRun, type RunRecord, type RunSource } from './runs.js';

export interface ControlDeps {
  pool: pg.Pool;
  temporal: Client;
}

export interface ControlRequest {
  runId: string;
  initiator: Initiator;
  source: RunSource;
  context?: RequestContext;
}

export type RunAction = 'cancel' | 'pause' | 'resume';

const AUDIT_ACTION: Record<RunAction, string> = {
  cancel: 'runbook.cancel_requested',
  pause: 'runbook.paused',
  resume: 'runbook.resumed',
};

async function activeRun(deps: ControlDeps, request: ControlRequest, action: RunAction): Promise<RunRecord> {
  if (request.source === 'system_ui') {
    const allowed = request.initiator.kind === 'platform_user' && request.initiator.capabilities.includes(CAPABILITIES.runsManage);
    if (!allowed) throw new RunbookRefusal('capability', `You need the capability ${CAPABILITIES.runsManage} to ${action} a run.`);
  }
  const run = await getRun(deps.pool, request.runId);
  if (!run) throw new UserError(`No run with id ${request.runId}. List runs with: tsx src/cli runs list`);
  if (run.status === 'completed') {
    throw new UserError(`Run ${run.id} is already completed (${run.outcome}); there is nothing to ${action}.`);
  }
  if (action !== 'cancel' && run.scopeKind === 'tenant') {
    throw new UserError(`Run ${run.id} covers one tenant; only multi-tenant runs can ${action} between tenants.`);
  }
  return run;
}

/**
 * Asks a run's workflow to cancel, pause or resume, and audits the request. Cancellation is
 * Temporal's: the workflows record their items and complete the run as `cancelled`.
 */
export async function controlRun(deps: ControlDeps, request: ControlRequest, action: RunAction): Promise<RunRecord> {
  const run = await activeRun(deps, request, action);
  const handle = deps.temporal.workflow.getHandle(run.workflowId!);
  try {
    if (action === 'cancel') await handle.cancel();
    else await handle.signal(action === 'pause' ? pauseSignal : resumeSignal);
  } catch (error) {
    // A queued run whose workflow never started (the starter died in between) has no one to tell.
    if (!(error instanceof WorkflowNotFoundError) || action !== 'cancel') throw error;
    await completeRun(deps.pool, run.id, { outcome: 'cancelled' });
  }
  await recordAudit(deps.pool, {
    ...auditActor(request.initiator, request.context),
    action: AUDIT_ACTION[action],
    targetKind: 'operation_run',
    targetId: run.id,
    metadata: { runbook: run.runbook, source: request.source },
  });
  return run;
}
