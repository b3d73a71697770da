import { UserError } from '../errors.js';

/** Why the core refused a start, a preflight or a control; the console maps these codes. */
export type RefusalCode =
  | 'unknown_runbook'
  | 'empty_scope'
  | 'platform_tenant'
  | 'unknown_tenant'
  | 'ambiguous_tenant'
  | 'reason_length'
  | 'reason_characters'
  | 'idempotency_key'
  | 'idempotency_failed'
  | 'confirmation'
  | 'capability'
  | 'preflight_missing'
  | 'preflight_mismatch'
  | 'preflight_stale'
  | 'preflight_drift'
  | 'overlapping_run'
  | 'idempotency_conflict'
  | 'invalid_parameters'
  // controls of a run (cancel, pause, resume)
  | 'run_not_found'
  | 'run_completed'
  | 'not_pausable'
  | 'already_paused'
  | 'not_paused'
  | 'not_started'
  | 'invalid_tuning'
  | 'invalid_guards'
  | 'invalid_batch_size'
  | 'runs_stopped'
  | 'not_stopped'
  | 'nothing_to_retry'
  // change requests (approve, reject, withdraw)
  | 'change_not_found'
  | 'change_closed'
  | 'self_approval'
  | 'already_decided'
  | 'not_requester'
  | 'invalid_comment'
  | 'approval_required'
  // change windows
  | 'invalid_window'
  | 'window_not_found';

/**
 * A request the rules refuse; the message says what was wrong and what to do, in words that
 * fit every surface (no CLI-only hints: the CLI adds its own by code). Nothing was written but
 * its audit event, so the CLI exits 2, as for any other mistake in what was asked.
 */
export class RunbookRefusal extends UserError {
  constructor(
    readonly code: RefusalCode,
    message: string,
  ) {
    super(message, 2);
    this.name = 'RunbookRefusal';
  }
}
