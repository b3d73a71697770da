// The Prometheus endpoints of the worker and the console (docs/operations.md), scraped while a
// real run goes on: held by a health gate, then working its batches, then completed. The
// Temporal SDK's own endpoint, which only a worker process of its own can have, is in
// cli.workerMetrics.test.ts.
import type { Worker } from '@temporalio/worker';
import type { NativeConnection } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../src/config.js';
import { freePort } from '../src/dev/freePort.js';
import { startWorkerMetrics, type WorkerMetrics } from '../src/metrics/workerMetrics.js';
import { getRun } from '../src/runbooks/runs.js';
import { consoleApp } from './support/console.js';
import { RUNBOOK, useRunbookHarness } from './support/harness.js';
import { labelValues, scrape, valueOf, type PromSample } from './support/prometheus.js';
import { waitForRun } from './support/runs.js';
import { slowBatches } from './support/slowBatches.js';
import { testWorker } from './support/temporal.js';
import { until } from './support/until.js';

const REASON = 'Metrics are being scraped meanwhile';
/** The run's hold: a transaction of another session older than this holds it. */
const HOLD_TRANSACTION_AGE_MS = 2_000;

describe('the worker and console metrics during a run', () => {
  const h = useRunbookHarness({
    seed: { tenants: 3, findingsPerTenant: 120, seed: 211 },
    settings: { batchSize: 20, childParallelism: 3 },
    gates: { hold: { transactionAgeMs: HOLD_TRANSACTION_AGE_MS } },
    worker: false,
  });
  let config: Config;
  let metrics: WorkerMetrics;
  let worker: Worker;
  let connection: NativeConnection;
  let running: Promise<void>;
  /** Everything scraped, from every endpoint: no label of it may name a tenant, a run or a reason. */
  const scraped: PromSample[] = [];
  const scrapeAll = async (url: string) => {
    const samples = await scrape(url);
    scraped.push(...samples);
    return samples;
  };

  beforeAll(async () => {
    config = { ...h.config, metrics: { ...h.config.metrics, workerPort: await freePort() } };
    metrics = (await startWorkerMetrics(config))!;
    ({ worker, connection } = await testWorker(config, h.database.pool, { observer: metrics.observer }));
    running = worker.run();
  });

  afterAll(async () => {
    worker?.shutdown();
    await running;
    await connection?.close();
    await metrics?.close();
  });

  it('are off unless their port is set', async () => {
    expect(h.config.metrics).toEqual({ host: '127.0.0.1', consolePort: null, workerPort: null, temporalPort: null });
    expect(await startWorkerMetrics(h.config)).toBeNull();
    const app = await consoleApp(h.database);
    try {
      expect(app.hasDecorator('metrics')).toBe(false);
      expect((await app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(404);
    } finally {
      await app.close();
    }
  });

  it('count a run as it is held, works its batches and completes; the counters move', async () => {
    const url = metrics.url;
    expect(url).toBe(`http://127.0.0.1:${config.metrics.workerPort}/metrics`);
    const before = await scrapeAll(url);
    expect(valueOf(before, 'runbook_metrics_database_up')).toBe(1);
    expect(valueOf(before, 'runbook_batch_duration_seconds_count', { runbook: RUNBOOK })).toBeUndefined();
    // Only /metrics answers there.
    expect((await fetch(url.replace('/metrics', '/'))).status).toBe(404);

    // Held: another session's transaction, older than the run's limit, before it starts.
    const session = new pg.Client({ connectionString: h.database.url });
    await session.connect();
    let undoSlow: (() => Promise<void>) | undefined;
    try {
      await session.query('BEGIN');
      await session.query('SELECT txid_current()');
      await until(
        () =>
          session.query<{ ms: number }>(
            'SELECT (extract(epoch FROM clock_timestamp() - xact_start) * 1000)::float8 AS ms FROM pg_stat_activity WHERE pid = pg_backend_pid()',
          ),
        ({ rows }) => rows[0]!.ms > HOLD_TRANSACTION_AGE_MS,
        'the transaction to be old enough to hold a run',
      );
      const { run } = await h.start({ kind: 'all_tenants' }, { reason: REASON });
      const held = await until(
        () => scrapeAll(url),
        (samples) =>
          valueOf(samples, 'runbook_runs_active', { runbook: RUNBOOK, phase: 'held' }) === 1 &&
          (valueOf(samples, 'runbook_held_seconds_total', { runbook: RUNBOOK, gate: 'transaction_age' }) ?? 0) > 0,
        'the run to be held, and its tenants to count seconds held',
      );
      expect(valueOf(held, 'runbook_hold_age_seconds', { runbook: RUNBOOK })).toBeGreaterThanOrEqual(0);
      // Every gate has its series from the runbook's first batch or hold on, the others at 0.
      expect(valueOf(held, 'runbook_held_seconds_total', { runbook: RUNBOOK, gate: 'replica_lag' })).toBe(0);
      // A held run waits on purpose: its own alert is the hold's age, not the stuck run's.
      expect(valueOf(held, 'runbook_last_progress_age_seconds', { runbook: RUNBOOK })).toBeUndefined();
      expect(valueOf(held, 'runbook_rows_examined_total', { runbook: RUNBOOK })).toBe(0);
      expect(valueOf(held, 'runbook_runs_completed_total', { runbook: RUNBOOK, outcome: 'succeeded' })).toBe(0);

      // Released, it works its batches slowly enough to be scraped mid-way.
      undoSlow = await slowBatches(h.database.pool, 150);
      await session.query('COMMIT');
      const working = await until(
        () => scrapeAll(url),
        (samples) =>
          valueOf(samples, 'runbook_runs_active', { runbook: RUNBOOK, phase: 'running' }) === 1 &&
          (valueOf(samples, 'runbook_rows_examined_total', { runbook: RUNBOOK }) ?? 0) > 0 &&
          (valueOf(samples, 'runbook_batch_duration_seconds_count', { runbook: RUNBOOK }) ?? 0) > 0,
        'the running run to count rows and batches',
      );
      // Its batches commit every few hundred milliseconds, each writing its item's progress_at.
      const age = valueOf(working, 'runbook_last_progress_age_seconds', { runbook: RUNBOOK });
      expect(age).toBeGreaterThanOrEqual(0);
      expect(age).toBeLessThan(10);
      expect(valueOf(working, 'runbook_hold_age_seconds', { runbook: RUNBOOK })).toBeUndefined();
      expect(valueOf(working, 'runbook_runs_active', { runbook: RUNBOOK, phase: 'held' })).toBe(0);

      const done = await waitForRun(h.database.pool, run.id);
      expect(done).toMatchObject({ status: 'completed', outcome: 'succeeded' });
      const after = await scrapeAll(url);
      const counts = (await getRun(h.database.pool, run.id))!.counts;
      expect(valueOf(after, 'runbook_runs_completed_total', { runbook: RUNBOOK, outcome: 'succeeded' })).toBe(1);
      expect(valueOf(after, 'runbook_runs_active', { runbook: RUNBOOK, phase: 'running' })).toBe(0);
      expect(valueOf(after, 'runbook_rows_examined_total', { runbook: RUNBOOK })).toBe(counts.examined);
      expect(valueOf(after, 'runbook_rows_changed_total', { runbook: RUNBOOK })).toBe(counts.changed);
      expect(counts.changed).toBeGreaterThan(0);
      expect(valueOf(after, 'runbook_tenants_failed_total', { runbook: RUNBOOK })).toBe(0);
      expect(valueOf(after, 'runbook_last_progress_age_seconds', { runbook: RUNBOOK })).toBeUndefined();
      expect(valueOf(after, 'runbook_batch_duration_seconds_count', { runbook: RUNBOOK })).toBeGreaterThanOrEqual(
        valueOf(working, 'runbook_batch_duration_seconds_count', { runbook: RUNBOOK })!,
      );
      // The process's own metrics come along.
      expect(valueOf(after, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    } finally {
      await undoSlow?.();
      await session.end();
    }
  });

  describe('the console', () => {
    let app: FastifyInstance;
    let consoleUrl: string;
    beforeAll(async () => {
      const port = await freePort();
      app = await consoleApp(h.database, {}, { CONSOLE_METRICS_PORT: String(port) });
      await app.ready();
      consoleUrl = `http://127.0.0.1:${port}/metrics`;
    });
    afterAll(() => app?.close());

    it('counts its requests by route pattern, never by URL, beside the runbook metrics', async () => {
      const route = { method: 'GET', route: '/system/login', status_code: '200' };
      const first = valueOf(await scrapeAll(consoleUrl), 'http_request_duration_seconds_count', route) ?? 0;
      expect((await app.inject({ method: 'GET', url: '/system/login' })).statusCode).toBe(200);
      const { rows } = await h.database.pool.query<{ id: string; externalId: string }>(
        `SELECT r.id::text, t.external_id AS "externalId" FROM operation_runs r, tenants t WHERE t.external_id <> 'platform' LIMIT 1`,
      );
      // A run's page (signed out: sent to sign in) and a URL no route has, both naming things.
      expect((await app.inject({ method: 'GET', url: `/system/ops/runs/${rows[0]!.id}` })).statusCode).toBe(303);
      expect((await app.inject({ method: 'GET', url: `/system/${rows[0]!.externalId}` })).statusCode).toBe(404);
      // Never on the console's own port, where it would need no session.
      expect((await app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(404);

      const samples = await scrapeAll(consoleUrl);
      expect(valueOf(samples, 'http_request_duration_seconds_count', route)).toBe(first + 1);
      const routes = new Set(
        samples.filter((s) => s.name === 'http_request_duration_seconds_count').map((s) => s.labels.route),
      );
      expect(routes).toContain('/system/ops/runs/:id');
      expect(routes).toContain('__unknown__');
      expect(valueOf(samples, 'runbook_runs_completed_total', { runbook: RUNBOOK, outcome: 'succeeded' })).toBe(1);
      expect(valueOf(samples, 'runbook_metrics_database_up')).toBe(1);
      // The worker's own observations are the worker's.
      expect(samples.some((s) => s.name.startsWith('runbook_batch_duration_seconds'))).toBe(false);
      expect(samples.some((s) => s.name.startsWith('http_request_summary'))).toBe(false);
    });
  });

  it('never carry a tenant, a run, a person or a reason in a label', async () => {
    const { rows: tenants } = await h.database.pool.query<{ id: string; externalId: string; name: string }>(
      `SELECT id::text, external_id AS "externalId", name FROM tenants`,
    );
    const { rows: runs } = await h.database.pool.query<{ id: string; reason: string; initiator: string }>(
      `SELECT id::text, reason, initiator_label AS initiator FROM operation_runs`,
    );
    expect(tenants.length).toBeGreaterThan(3);
    expect(runs.map((run) => run.reason)).toContain(REASON);
    const texts = [
      ...tenants.flatMap((tenant) => [tenant.externalId, tenant.name]),
      ...runs.flatMap((run) => [run.id, run.reason, run.initiator]),
    ];
    const ids = new Set(tenants.map((tenant) => tenant.id));
    const labels = labelValues(scraped);
    expect(labels.length).toBeGreaterThan(100);
    expect(labels.filter(({ value }) => texts.some((text) => value.includes(text)))).toEqual([]);
    // Tenant ids are small numbers, which the process metrics' own labels may equal by chance
    // (nodejs_version_info's patch="3"): checked on the metrics of ours, whose every label is.
    expect(labels.filter(({ name, value }) => /^(runbook|http)_/.test(name) && ids.has(value))).toEqual([]);
    // Bounded label names: these and the process metrics' own.
    const ours = scraped.filter((s) => /^(runbook|http)_/.test(s.name));
    expect(new Set(ours.flatMap((s) => Object.keys(s.labels)))).toEqual(
      new Set(['runbook', 'phase', 'outcome', 'gate', 'le', 'method', 'route', 'status_code']),
    );
  });
});
