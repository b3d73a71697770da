import { Counter, Gauge, type Registry } from '@prometheus-io/client';
import type { Queryable } from '../db/queryable.js';
import { readRunMetrics } from './readRunMetrics.js';
import { runFigures, type RunFigures, type Sample } from './runFigures.js';

/** Which of a scrape's figures a metric reports. */
type Pick = (figures: RunFigures) => Array<Sample<string>>;

/**
 * The runbook metrics read from the database at scrape time (docs/operations.md lists them):
 * one statement per scrape, shared by every metric of it (the registry asks them all at once,
 * so they all find the read in flight; scrapes that overlap share it too). When the read fails
 * they are absent and `runbook_metrics_database_up` is 0; the scrape itself still answers.
 */
export function registerRunbookMetrics(registry: Registry, q: Queryable): void {
  let reading: Promise<RunFigures | null> | null = null;
  const figures = (): Promise<RunFigures | null> => {
    reading ??= readRunMetrics(q)
      .then(runFigures, () => null)
      .finally(() => {
        reading = null;
      });
    return reading;
  };

  const registers = [registry];
  new Gauge({
    name: 'runbook_metrics_database_up',
    help: 'Whether the runbook metrics could read the runs from PostgreSQL at this scrape (1) or not (0)',
    registers,
    async collect() {
      this.set((await figures()) ? 1 : 0);
    },
  });

  /** Makes a metric's samples this scrape's figures. */
  const refill = async (
    metric: { reset(): void },
    set: (labels: Record<string, string>, value: number) => void,
    pick: Pick,
  ): Promise<void> => {
    const current = await figures();
    metric.reset();
    for (const sample of current ? pick(current) : []) set(sample.labels, sample.value);
  };

  const gauge = (name: string, help: string, labelNames: string[], pick: Pick) => {
    const metric: Gauge<string> = new Gauge({
      name,
      help,
      labelNames,
      registers,
      collect: () => refill(metric, (labels, value) => metric.set(labels, value), pick),
    });
  };
  // Read whole from the database, never incremented here: they go up as the runs' counts do
  // (a completed run's counts are its items' totals, as they were while it ran).
  const counter = (name: string, help: string, labelNames: string[], pick: Pick) => {
    const metric: Counter<string> = new Counter({
      name,
      help,
      labelNames,
      registers,
      collect: () => refill(metric, (labels, value) => metric.inc(labels, value), pick),
    });
  };

  gauge(
    'runbook_runs_active',
    'Runs that have not completed, by runbook and phase',
    ['runbook', 'phase'],
    (f) => f.activeRuns,
  );
  counter(
    'runbook_runs_completed_total',
    'Runs completed, by runbook and outcome',
    ['runbook', 'outcome'],
    (f) => f.completedRuns,
  );
  counter('runbook_rows_examined_total', 'Rows the runs of a runbook examined', ['runbook'], (f) => f.rowsExamined);
  counter('runbook_rows_changed_total', 'Rows the runs of a runbook changed', ['runbook'], (f) => f.rowsChanged);
  counter(
    'runbook_tenants_failed_total',
    'Tenants the runs of a runbook recorded as failed',
    ['runbook'],
    (f) => f.tenantsFailed,
  );
  gauge(
    'runbook_last_progress_age_seconds',
    'Seconds since a run of the runbook last moved, the largest over its queued, running and cancelling runs',
    ['runbook'],
    (f) => f.lastProgressAge,
  );
  gauge(
    'runbook_hold_age_seconds',
    'Seconds the health gates have held a run of the runbook, the largest over its held runs',
    ['runbook'],
    (f) => f.holdAge,
  );
}
