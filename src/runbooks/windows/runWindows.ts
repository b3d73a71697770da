import type pg from 'pg';
import { recordAudit } from '../../audit/recordAudit.js';
import { WINDOW_CLOSED } from '../model.js';
import { pauseRunItself } from '../pauseItself.js';
import { getRun, recordRunPause, recordWindowWait } from '../runs.js';
import { listChangeWindows } from './changeWindows.js';
import { utcTime } from '../../format.js';
import { windowState, type WindowState } from './windowSchedule.js';

/** A window state as a workflow carries it: instants as epoch milliseconds. */
export type WindowVerdict =
  { open: true; until: number | null } | { open: false; opensAt: number | null; reason: string };

const epoch = (date: Date | null) => (date === null ? null : date.getTime());

function verdictOf(state: WindowState): WindowVerdict {
  return state.open
    ? { open: true, until: epoch(state.until) }
    : { open: false, opensAt: epoch(state.opensAt), reason: state.reason };
}

/** Whether a run of the runbook may start a tenant now under the windows defined now: what a preflight says of its start. */
export async function runbookWindowState(pool: pg.Pool, runbook: string, minuteMs: number): Promise<WindowState> {
  return windowState(await listChangeWindows(pool), runbook, new Date(), minuteMs);
}

/** The same for a run, as its workflow asks it. */
export async function runWindowState(pool: pg.Pool, runId: string, minuteMs: number): Promise<WindowVerdict> {
  const run = await getRun(pool, runId);
  if (!run) return { open: true, until: null };
  return verdictOf(await runbookWindowState(pool, run.runbook, minuteMs));
}

/** One line for a preflight and a confirmation: when a run started now would begin its work. */
export function windowStartText(state: WindowState): string {
  if (state.open)
    return state.until
      ? `Starts at once; its window closes to new tenants at ${utcTime(state.until)}.`
      : 'Starts at once.';
  return state.opensAt
    ? `Would wait for the window that opens at ${utcTime(state.opensAt)} (${state.reason}).`
    : `Would wait: no change window lets it start within a year (${state.reason}).`;
}

/**
 * Records that a run waits for a window: when the next opens, and for a running run its pause at
 * the cutoff, by the name its workflow goes by (audited, its initiator told, as any pause of a run by itself).
 */
export async function waitForWindow(
  pool: pg.Pool,
  runId: string,
  wait: { opensAt: number | null; by?: string },
): Promise<void> {
  await recordWindowWait(pool, runId, wait.opensAt === null ? null : new Date(wait.opensAt));
  if (wait.by) await pauseRunItself(pool, runId, { by: wait.by, reason: WINDOW_CLOSED });
}

/** The window opened: the run no longer waits, and a run the cutoff paused goes on (audited as its pauser). */
export async function windowOpened(pool: pg.Pool, runId: string): Promise<void> {
  const run = await getRun(pool, runId);
  if (!run || run.status === 'completed') return;
  await recordWindowWait(pool, runId, null);
  if (run.pauseReason !== WINDOW_CLOSED || !run.pausedBy) return;
  await recordRunPause(pool, runId, null);
  await recordAudit(pool, {
    actorKind: 'system',
    actorLabel: run.pausedBy,
    action: 'runbook.resumed',
    targetKind: 'operation_run',
    targetId: runId,
    metadata: { runbook: run.runbook, reason: 'change window opened' },
  });
}
