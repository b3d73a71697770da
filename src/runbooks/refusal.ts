import { UserError } from '../errors.js';

export type RefusalCode =
  | 'unknown_runbook'
  | 'empty_scope'
  | 'platform_tenant'
  | 'unknown_tenant'
  | 'reason_length'
  | 'confirmation'
  | 'capability'
  | 'preflight_missing'
  | 'preflight_mismatch'
  | 'preflight_stale'
  | 'preflight_drift'
  | 'overlapping_run'
  | 'idempotency_conflict';

/** A start or preflight the rules refuse; the message says what was wrong and what to do. */
export class RunbookRefusal extends UserError {
  constructor(
    readonly code: RefusalCode,
    message: string,
  ) {
    super(message, 1);
    this.name = 'RunbookRefusal';
  }
}
