// The runbook metrics from a database snapshot, without a database: what each run counts as, the
// stuck-run age, one read per scrape, and a scrape while PostgreSQL is down.
import { Registry } from '@prometheus-io/client';
import { describe, expect, it } from 'vitest';
import type { ActiveRunRow, RunMetricsSnapshot } from '../src/metrics/readRunMetrics.js';
import { registerRunbookMetrics } from '../src/metrics/runbookMetrics.js';
import { runFigures } from '../src/metrics/runFigures.js';
import { parseExposition, valueOf } from './support/prometheus.js';

const NOW = 1_800_000_000;

function activeRun(overrides: Partial<ActiveRunRow>): ActiveRunRow {
  return {
    id: 'run-1',
    runbook: 'a.runbook',
    status: 'running',
    pausedAt: null,
    cancelRequestedAt: null,
    heldSince: null,
    movedAt: NOW - 30,
    examined: 0,
    changed: 0,
    tenantsFailed: 0,
    ...overrides,
  };
}

describe('runFigures', () => {
  const snapshot: RunMetricsSnapshot = {
    now: NOW,
    active: [
      activeRun({ id: 'a', examined: 10, changed: 4, tenantsFailed: 1, movedAt: NOW - 40 }),
      activeRun({ id: 'b', movedAt: NOW - 900 }),
      activeRun({ id: 'c', heldSince: NOW - 120, movedAt: NOW - 5000 }),
      activeRun({ id: 'd', pausedAt: NOW - 9000, movedAt: NOW - 9000 }),
      activeRun({ id: 'e', status: 'queued', runbook: 'b.runbook', movedAt: NOW - 3 }),
    ],
    completed: [
      { runbook: 'a.runbook', outcome: 'succeeded', runs: 3, examined: 100, changed: 50, tenantsFailed: 0 },
      { runbook: 'a.runbook', outcome: 'partially_succeeded', runs: 1, examined: 20, changed: 2, tenantsFailed: 2 },
    ],
  };
  const figures = runFigures(snapshot);
  const of = (samples: Array<{ labels: Record<string, string>; value: number }>, labels: Record<string, string>) =>
    samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

  it('counts active runs by phase and completed runs by outcome, every phase and outcome of a runbook present', () => {
    expect(of(figures.activeRuns, { runbook: 'a.runbook', phase: 'running' })).toBe(2);
    expect(of(figures.activeRuns, { runbook: 'a.runbook', phase: 'held' })).toBe(1);
    expect(of(figures.activeRuns, { runbook: 'a.runbook', phase: 'paused' })).toBe(1);
    expect(of(figures.activeRuns, { runbook: 'a.runbook', phase: 'cancelling' })).toBe(0);
    expect(of(figures.activeRuns, { runbook: 'b.runbook', phase: 'queued' })).toBe(1);
    expect(figures.activeRuns).toHaveLength(10);
    expect(of(figures.completedRuns, { runbook: 'a.runbook', outcome: 'succeeded' })).toBe(3);
    expect(of(figures.completedRuns, { runbook: 'b.runbook', outcome: 'failed' })).toBe(0);
    expect(figures.completedRuns).toHaveLength(8);
  });

  it('adds the active runs live totals to the completed runs totals', () => {
    expect(of(figures.rowsExamined, { runbook: 'a.runbook' })).toBe(130);
    expect(of(figures.rowsChanged, { runbook: 'a.runbook' })).toBe(56);
    expect(of(figures.tenantsFailed, { runbook: 'a.runbook' })).toBe(3);
    expect(of(figures.rowsExamined, { runbook: 'b.runbook' })).toBe(0);
  });

  it('ages the runs that should move (the oldest per runbook), and the holds', () => {
    expect(of(figures.lastProgressAge, { runbook: 'a.runbook' })).toBe(900);
    expect(of(figures.lastProgressAge, { runbook: 'b.runbook' })).toBe(3);
    expect(figures.holdAge).toEqual([{ labels: { runbook: 'a.runbook' }, value: 120 }]);
  });
});

describe('registerRunbookMetrics', () => {
  it('reads the database once per scrape, whatever the number of metrics', async () => {
    let reads = 0;
    const registry = new Registry();
    registerRunbookMetrics(registry, {
      query: async () => {
        reads += 1;
        return { rows: [{ now: NOW, active: [activeRun({})], completed: [] }] } as never;
      },
    });
    const samples = parseExposition(await registry.metrics());
    expect(reads).toBe(1);
    expect(valueOf(samples, 'runbook_runs_active', { runbook: 'a.runbook', phase: 'running' })).toBe(1);
    expect(valueOf(samples, 'runbook_last_progress_age_seconds', { runbook: 'a.runbook' })).toBe(30);
    await registry.metrics();
    expect(reads).toBe(2);
  });

  it('still answers while PostgreSQL is down: the runbook metrics are absent, and say why', async () => {
    const registry = new Registry();
    registerRunbookMetrics(registry, {
      query: async () => {
        throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
      },
    });
    const samples = parseExposition(await registry.metrics());
    expect(samples).toEqual([{ name: 'runbook_metrics_database_up', labels: {}, value: 0 }]);
  });
});
