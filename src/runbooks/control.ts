import type pg from 'pg';
import { recordAudit } from '../audit/recordAudit.js';
import { CAPABILITIES, requireCapability } from './capabilities.js';
import { completeRun } from './completeRun.js';
import { refreshRunCounts } from './runItems.js';
import { auditActor, initiatorLabel, type Initiator, type RequestContext } from './initiator.js';
import { UnavailableError } from '../errors.js';
import type { ControlOutcome, RunLauncher } from './launcher.js';
import { RunbookRefusal } from './refusal.js';
import {
  getRun,
  recordCancelRequest,
  recordRunPause,
  recordRunTuning,
  recordWindowWait,
  type RunRecord,
} from './runs.js';
import { validReason } from './validateStart.js';
import {
  applyGateChange,
  DEFAULT_GATES,
  gateChangeProblem,
  isEmptyGateChange,
  type GateChange,
} from './health/gateSettings.js';
import { WINDOW_CLOSED, type RunSource, type TuneRequest, type TuneResult } from './model.js';
import { getRunbook } from './registry.js';
import { AUTO_START_SIZE } from './sizing/batchSizer.js';
import { applySizing, checkSizingRequest, type SizingRequest } from './sizing/runSizing.js';

/** How long a tune waits for a worker to answer by default. */
const TUNE_ANSWER_MS = 15_000;

export interface ControlDeps {
  pool: pg.Pool;
  /** Reached only once the request is valid: a refusal needs no workflow service. */
  launcher: RunLauncher;
  /** How long a tune waits for a worker to answer (default 15 s). */
  answerWithinMs?: number;
}

export interface ControlRequest {
  runId: string;
  initiator: Initiator;
  source: RunSource;
  context?: RequestContext;
  /** Why (10–500 characters): required by the console, optional at the CLI; audited, and kept on a paused run. */
  reason?: string;
}

export type RunAction = 'cancel' | 'pause' | 'resume';

const AUDIT_ACTION: Record<RunAction, string> = {
  cancel: 'runbook.cancel_requested',
  pause: 'runbook.paused',
  resume: 'runbook.resumed',
};

/** What decides whether an action applies to a run: its state. */
type RunState = Pick<RunRecord, 'id' | 'status' | 'outcome' | 'scopeKind' | 'pausedAt' | 'pausedBy'>;

/**
 * Why an action does not apply to a run in its present state, or null when it does. The controls
 * refuse with it; the console offers an action, and its confirmation page, only where it is null.
 */
export function actionRefusal(run: RunState, action: RunAction | 'tune'): RunbookRefusal | null {
  if (run.status === 'completed') {
    return new RunbookRefusal(
      'run_completed',
      `Run ${run.id} is already completed (${run.outcome}); there is nothing to ${action}.`,
    );
  }
  if (action === 'cancel') return null;
  // A one-tenant run pauses only by itself (a critical health threshold), and an operator resumes it.
  const resumable = action === 'resume' && run.pausedAt !== null;
  if (action !== 'tune' && run.scopeKind === 'tenant' && !resumable) {
    return new RunbookRefusal(
      'not_pausable',
      `Run ${run.id} covers one tenant; only multi-tenant runs can ${action} between tenants.`,
    );
  }
  // A queued run's workflow has no worker yet to answer the update: the request would wait for one.
  if (action === 'tune') {
    return run.status === 'queued'
      ? new RunbookRefusal('not_started', `Run ${run.id} is still queued; tune it once a worker has started it.`)
      : null;
  }
  if (action === 'pause' && run.pausedAt)
    return new RunbookRefusal('already_paused', `Run ${run.id} is already paused (by ${run.pausedBy}).`);
  if (action === 'resume' && !run.pausedAt) return new RunbookRefusal('not_paused', `Run ${run.id} is not paused.`);
  return null;
}

/** The run an action applies to, or the refusal that says why it cannot apply. */
async function controllableRun(
  deps: ControlDeps,
  request: ControlRequest,
  action: RunAction | 'tune',
): Promise<RunRecord> {
  requireCapability(request.initiator, CAPABILITIES.runsManage, `${action} a run`);
  const run = await getRun(deps.pool, request.runId);
  if (!run) throw new RunbookRefusal('run_not_found', `No run with id ${request.runId}.`);
  const refusal = actionRefusal(run, action);
  if (refusal) throw refusal;
  return run;
}

function sendControl(deps: ControlDeps, run: RunRecord, action: RunAction, by: string): Promise<ControlOutcome> {
  if (action === 'cancel') return deps.launcher.cancel(run.id);
  return action === 'pause' ? deps.launcher.pause(run.id, by) : deps.launcher.resume(run.id, by);
}

/**
 * Asks a run's workflow to cancel, pause or resume, records it on the run and audits it.
 * Cancellation is Temporal's: the workflows stop their batches, record their items and
 * complete the run as `cancelled`. A run whose workflow is gone (never started, or closed
 * without completing the run) has no one to tell, so cancelling completes it here.
 */
export async function controlRun(deps: ControlDeps, request: ControlRequest, action: RunAction): Promise<RunRecord> {
  const run = await controllableRun(deps, request, action);
  // A run its change window paused goes on outside the window only by an override, with a reason.
  const override = action === 'resume' && run.pauseReason === WINDOW_CLOSED;
  if (override) {
    requireCapability(request.initiator, CAPABILITIES.windowsOverride, 'resume a run outside its change window');
    if (request.reason === undefined)
      throw new RunbookRefusal(
        'reason_length',
        'Resuming a run outside its change window is an override: give a reason.',
      );
  }
  const reason = request.reason === undefined ? null : validReason(request.reason);
  const by = initiatorLabel(request.initiator);
  const actor = auditActor(request.initiator, request.context);
  const outcome = await sendControl(deps, run, action, by);
  if (outcome === 'no_workflow' && action !== 'cancel') {
    throw new RunbookRefusal(
      'not_started',
      `Run ${run.id} has no workflow to ${action} (it is ${run.status}); cancel it instead.`,
    );
  }
  if (action === 'cancel') await recordCancelRequest(deps.pool, run.id);
  else await recordRunPause(deps.pool, run.id, action === 'pause' ? { by, reason } : null);
  if (action === 'pause') await refreshRunCounts(deps.pool, run.id);
  if (override) await recordWindowWait(deps.pool, run.id, null);
  await recordAudit(deps.pool, {
    ...actor,
    action: override ? 'runbook.window_overridden' : AUDIT_ACTION[action],
    targetKind: 'operation_run',
    targetId: run.id,
    metadata: { runbook: run.runbook, source: request.source, ...(reason ? { reason } : {}) },
  });
  if (outcome === 'no_workflow') await completeRun(deps.pool, run.id, { outcome: 'cancelled', actor });
  return (await getRun(deps.pool, run.id)) ?? run;
}

export interface TuneRunRequest extends ControlRequest {
  parallelism?: number;
  /** Rows per batch from now on, or `auto`: the run sizes them itself. */
  batchSize?: number | 'auto';
  /** The duration an auto-sized batch aims at (it makes the run size its batches itself). */
  batchTargetMs?: number;
  gates?: GateChange;
  reason: string;
}

/** The sizing part of a tune, checked against the run's runbook and resolved against what the run has. */
function tunedSizing(run: RunRecord, request: TuneRunRequest): Pick<TuneRequest, 'batchSize' | 'batchTargetMs'> {
  const { batchSize, batchTargetMs } = request;
  if (batchSize === undefined && batchTargetMs === undefined) return {};
  const asked: SizingRequest = {
    ...(batchSize === undefined ? {} : { batchSize: batchSize === 'auto' ? { auto: true } : { rows: batchSize } }),
    ...(batchTargetMs === undefined ? {} : { batchTargetMs }),
  };
  checkSizingRequest(asked, getRunbook(run.runbook), 'invalid_tuning');
  const next = applySizing(
    { batchSize: run.settings.batchSize ?? AUTO_START_SIZE, batchTargetMs: run.settings.batchTargetMs },
    asked,
  );
  // The target always (null: a fixed size from now on); the size only where rows were asked for
  // (auto starts each tenant from the size it has, which may be one the deployment set below the bounds).
  return {
    ...(batchSize === undefined || batchSize === 'auto' ? {} : { batchSize: next.batchSize }),
    batchTargetMs: next.batchTargetMs ?? null,
  };
}

/**
 * Changes a running run's child parallelism, batch size and health-gate thresholds (a Temporal
 * update, whose validator refuses out-of-range values), with a reason, audited with the values
 * before and after.
 */
export async function tuneRun(deps: ControlDeps, request: TuneRunRequest): Promise<TuneResult> {
  const run = await controllableRun(deps, request, 'tune');
  const reason = validReason(request.reason);
  const by = initiatorLabel(request.initiator);
  const gateProblem = request.gates && gateChangeProblem(request.gates);
  if (gateProblem) throw new RunbookRefusal('invalid_tuning', gateProblem);
  // The thresholds it goes on with: those recorded (the defaults for a run started before the gates), changed.
  const gates = isEmptyGateChange(request.gates)
    ? undefined
    : applyGateChange(run.settings.gates ?? DEFAULT_GATES, request.gates);
  const outcome = await deps.launcher.tune(
    run.id,
    { by, parallelism: request.parallelism, ...tunedSizing(run, request), gates },
    deps.answerWithinMs ?? TUNE_ANSWER_MS,
  );
  if (outcome === 'no_workflow')
    throw new RunbookRefusal('not_started', `Run ${run.id} has no workflow to tune (it is ${run.status}).`);
  if (outcome === 'no_answer') {
    throw new UnavailableError(
      `No worker answered the tune of run ${run.id} within ${Math.round((deps.answerWithinMs ?? TUNE_ANSWER_MS) / 1000)} s; is a worker running? ` +
        'The change may still apply when one picks the run up: check the run before tuning again.',
    );
  }
  if ('refused' in outcome) throw new RunbookRefusal('invalid_tuning', outcome.refused);
  await recordRunTuning(deps.pool, run.id, outcome.tuned.to);
  await recordAudit(deps.pool, {
    ...auditActor(request.initiator, request.context),
    action: 'runbook.tuned',
    targetKind: 'operation_run',
    targetId: run.id,
    metadata: { runbook: run.runbook, source: request.source, reason, ...outcome.tuned },
  });
  return outcome.tuned;
}
