import { count as n, counted, utcTime } from '../format.js';
import { WINDOW_CLOSED } from './model.js';
import type { RunRecord } from './runs.js';

/**
 * Share of tenants worked through, 0–1; a pure function of the run row. A cancelled run got as
 * far as the tenants that settled before the cancel: those it cancelled were never worked.
 */
export function runFraction(run: Pick<RunRecord, 'status' | 'outcome' | 'counts'>): number {
  const cancelled = run.status === 'completed' && run.outcome === 'cancelled';
  if (run.status === 'completed' && !cancelled) return 1;
  const total = run.counts.tenants ?? 0;
  if (total === 0) return 0;
  const worked =
    (run.counts.tenantsSucceeded ?? 0) +
    (run.counts.tenantsFailed ?? 0) +
    (cancelled ? 0 : (run.counts.tenantsCancelled ?? 0));
  return Math.min(1, worked / total);
}

/** One line of progress, a pure function of the run row, shared by the CLI and the console. */
export function progressText(
  run: Pick<RunRecord, 'status' | 'outcome' | 'counts'> &
    Partial<Pick<RunRecord, 'pausedBy' | 'pauseReason' | 'cancelRequestedAt' | 'windowOpensAt'>>,
  unit: string,
): string {
  const { counts } = run;
  const changed = `${counted(counts.changed, unit)} changed of ${n(counts.examined)} examined`;
  if (run.status === 'completed' && run.outcome === 'cancelled') {
    const settled = (counts.tenantsSucceeded ?? 0) + (counts.tenantsFailed ?? 0);
    const failed = counts.tenantsFailed ? ` (${n(counts.tenantsFailed)} failed)` : '';
    return `Cancelled: ${n(settled)}/${n(counts.tenants)} tenants settled${failed}, ${n(counts.tenantsCancelled)} cancelled; ${changed}.`;
  }
  const settled = (counts.tenantsSucceeded ?? 0) + (counts.tenantsFailed ?? 0) + (counts.tenantsCancelled ?? 0);
  const tenants = `${n(settled)}/${n(counts.tenants)} tenants`;
  const failed = counts.tenantsFailed ? `, ${n(counts.tenantsFailed)} failed` : '';
  if (run.status !== 'completed' && run.cancelRequestedAt) return `Cancelling: ${tenants}${failed}; ${changed}.`;
  const opens = run.windowOpensAt ? utcTime(run.windowOpensAt) : null;
  if (run.status !== 'completed' && run.pausedBy) {
    const goesOn = opens && run.pauseReason === WINDOW_CLOSED ? `; goes on when the window opens at ${opens}` : '';
    return `Paused by ${run.pausedBy}: ${tenants}${failed}; ${changed}${goesOn}.`;
  }
  if (run.status === 'queued' && opens) return `Queued: waits for the window that opens at ${opens}.`;
  if (run.status === 'queued') return 'Queued: waiting for a worker to pick the run up.';
  if (run.status === 'running') return `Running: ${tenants}${failed}; ${changed}.`;
  return `Completed (${run.outcome?.replace('_', ' ')}): ${tenants}${failed}; ${changed}.`;
}

export function progressBar(fraction: number, width = 30): string {
  fraction = Math.max(0, Math.min(1, fraction));
  const filled = Math.round(fraction * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.floor(fraction * 100)
    .toString()
    .padStart(3)}%`;
}
