import { RUN_OUTCOMES, type RunPhase } from '../runbooks/model.js';
import { phaseOf } from '../runbooks/runPhase.js';
import type { RunMetricsSnapshot } from './readRunMetrics.js';

/** The phases of a run that has not completed, each a value of the `phase` label. */
const ACTIVE_PHASES = ['queued', 'running', 'held', 'paused', 'cancelling'] as const satisfies RunPhase[];

/** A labelled value of one metric. */
export type Sample<L extends string> = { labels: Record<L, string>; value: number };

/** What the runbook metrics report, per runbook: every label value a runbook id, a phase or an outcome. */
export interface RunFigures {
  activeRuns: Array<Sample<'runbook' | 'phase'>>;
  completedRuns: Array<Sample<'runbook' | 'outcome'>>;
  rowsExamined: Array<Sample<'runbook'>>;
  rowsChanged: Array<Sample<'runbook'>>;
  tenantsFailed: Array<Sample<'runbook'>>;
  /** Over the runbook's runs that should be moving: the longest since one last moved. */
  lastProgressAge: Array<Sample<'runbook'>>;
  /** Over the runbook's held runs: the longest the current hold has lasted. */
  holdAge: Array<Sample<'runbook'>>;
}

const toDate = (seconds: number | null) => (seconds === null ? null : new Date(seconds * 1000));

/** Adds `value` to the runbook's entry. */
function add(totals: Map<string, number>, runbook: string, value: number): void {
  totals.set(runbook, (totals.get(runbook) ?? 0) + value);
}

/** Keeps the larger value. */
function max(totals: Map<string, number>, runbook: string, value: number): void {
  totals.set(runbook, Math.max(totals.get(runbook) ?? 0, value));
}

const samples = (totals: Map<string, number>): Array<Sample<'runbook'>> =>
  [...totals].map(([runbook, value]) => ({ labels: { runbook }, value }));

/**
 * The figures of a snapshot, per runbook. Every runbook with a run has every phase and outcome
 * (0 where none), so that a series exists before its first run in it; ages exist only while a run
 * is in that state.
 */
export function runFigures(snapshot: RunMetricsSnapshot): RunFigures {
  const runbooks = new Set([...snapshot.active, ...snapshot.completed].map((row) => row.runbook));
  const phases = new Map<string, number>();
  const outcomes = new Map<string, number>();
  const examined = new Map<string, number>();
  const changed = new Map<string, number>();
  const failed = new Map<string, number>();
  const progressAge = new Map<string, number>();
  const holdAge = new Map<string, number>();
  for (const runbook of runbooks) {
    for (const phase of ACTIVE_PHASES) phases.set(`${runbook}\n${phase}`, 0);
    for (const outcome of RUN_OUTCOMES) outcomes.set(`${runbook}\n${outcome}`, 0);
    for (const totals of [examined, changed, failed]) totals.set(runbook, 0);
  }
  for (const row of snapshot.completed) {
    add(outcomes, `${row.runbook}\n${row.outcome}`, row.runs);
    add(examined, row.runbook, row.examined);
    add(changed, row.runbook, row.changed);
    add(failed, row.runbook, row.tenantsFailed);
  }
  for (const row of snapshot.active) {
    const phase = phaseOf({
      status: row.status,
      pausedAt: toDate(row.pausedAt),
      cancelRequestedAt: toDate(row.cancelRequestedAt),
      heldSince: toDate(row.heldSince),
    });
    add(phases, `${row.runbook}\n${phase}`, 1);
    add(examined, row.runbook, row.examined);
    add(changed, row.runbook, row.changed);
    add(failed, row.runbook, row.tenantsFailed);
    if (phase === 'held' && row.heldSince !== null) max(holdAge, row.runbook, snapshot.now - row.heldSince);
    // A run that waits (for an operator, or the health gates: each has its own figure) is not stuck.
    if (phase !== 'paused' && phase !== 'held') max(progressAge, row.runbook, Math.max(0, snapshot.now - row.movedAt));
  }
  const split = (key: string) => key.split('\n') as [string, string];
  return {
    activeRuns: [...phases].map(([key, value]) => {
      const [runbook, phase] = split(key);
      return { labels: { runbook, phase }, value };
    }),
    completedRuns: [...outcomes].map(([key, value]) => {
      const [runbook, outcome] = split(key);
      return { labels: { runbook, outcome }, value };
    }),
    rowsExamined: samples(examined),
    rowsChanged: samples(changed),
    tenantsFailed: samples(failed),
    lastProgressAge: samples(progressAge),
    holdAge: samples(holdAge),
  };
}
