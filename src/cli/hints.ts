import { UserError } from '../errors.js';
import { RunbookRefusal, type RefusalCode } from '../runbooks/refusal.js';
import type { RunRecord } from '../runbooks/runs.js';
import { instant } from './output.js';
import { printable } from './printable.js';

/** How a person runs this CLI from a checkout: `npm run cli -- <command>` (tsx need not be on PATH). */
export const CLI = 'npm run cli --';

const LIST_HINT = `List runs with: ${CLI} runs list`;

/**
 * A paused run: since when, by whom and why, and the command that resumes it (the reason, which
 * the audit trail keeps, left to fill in).
 */
export function pauseHint(run: Pick<RunRecord, 'id' | 'pausedAt' | 'pausedBy' | 'pauseReason'>): string {
  const reason = run.pauseReason ? ` (${printable(run.pauseReason)})` : '';
  return (
    `paused since ${instant(run.pausedAt)} by ${printable(run.pausedBy ?? '', 200)}${reason}; ` +
    `resume with: ${CLI} runs resume ${run.id} --reason "<why>"`
  );
}

/** A run the health gates hold: what it waits for and since when; it needs nobody to go on. */
export function heldHint(run: Pick<RunRecord, 'heldSince' | 'heldReason'>): string {
  return `throttled: ${printable(run.heldReason ?? '')}, since ${instant(run.heldSince)}; it goes on by itself once the database is healthy again`;
}

/** What to type next, for the refusals where the CLI can say it; the core stays surface-free. */
const HINTS: Partial<Record<RefusalCode, string>> = {
  run_not_found: LIST_HINT,
  window_not_found: `List them with: ${CLI} windows list`,
};

/** The core's refusal with the CLI's hint appended, for a one-line message that says what to do. */
export function withCliHint(error: unknown): unknown {
  if (!(error instanceof RunbookRefusal)) return error;
  const hint = HINTS[error.code];
  return hint ? new UserError(`${error.message} ${hint}`, error.exitCode) : error;
}
