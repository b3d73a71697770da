// `worker` with its two Prometheus endpoints (docs/operations.md): the Temporal SDK's own, which
// the SDK's runtime serves once per process (so a worker process of its own, not this one), and
// the runbook metrics. Scraped while the worker runs a run.
import { describe, expect, inject, it } from 'vitest';
import { freePort } from '../src/dev/freePort.js';
import { spawnCli } from './support/cli.js';
import { RUNBOOK, useRunbookHarness } from './support/harness.js';
import { labelValues, scrape, valueOf } from './support/prometheus.js';
import { waitForRun } from './support/runs.js';
import { until } from './support/until.js';

describe('worker with TEMPORAL_METRICS_PORT and WORKER_METRICS_PORT', () => {
  const h = useRunbookHarness({ seed: { tenants: 2, findingsPerTenant: 40, seed: 17 }, worker: false });

  it('serves the SDK metrics under the names docs/operations.md alerts on, and the runbook metrics', async () => {
    const [temporalPort, workerPort] = [await freePort(), await freePort()];
    const worker = spawnCli(
      ['worker', '--workflow-bundle', inject('workflowBundlePath')],
      {
        DATABASE_URL: h.database.url,
        TEMPORAL_ADDRESS: h.config.temporal.address,
        TEMPORAL_TASK_QUEUE: h.config.temporal.taskQueue,
        TEMPORAL_METRICS_PORT: String(temporalPort),
        WORKER_METRICS_PORT: String(workerPort),
      },
      { testRunbook: true },
    );
    try {
      await worker.waitForStderr(/polling task queue/);
      expect(worker.stderr).toContain(`worker: Temporal SDK metrics at http://127.0.0.1:${temporalPort}/metrics\n`);
      expect(worker.stderr).toContain(`worker: runbook metrics at http://127.0.0.1:${workerPort}/metrics\n`);
      const { run } = await h.start({ kind: 'all_tenants' });
      expect(await waitForRun(h.database.pool, run.id)).toMatchObject({ status: 'completed', outcome: 'succeeded' });

      const sdk = await until(
        () => scrape(`http://127.0.0.1:${temporalPort}/metrics`),
        (samples) =>
          samples.some((s) => s.name === 'temporal_activity_schedule_to_start_latency_seconds_bucket') &&
          samples.some((s) => s.name === 'temporal_workflow_task_schedule_to_start_latency_seconds_bucket'),
        'the SDK to report schedule-to-start latencies',
      );
      const queue = { task_queue: h.config.temporal.taskQueue };
      for (const worker_type of ['WorkflowWorker', 'ActivityWorker', 'LocalActivityWorker']) {
        expect(valueOf(sdk, 'temporal_worker_task_slots_available', { ...queue, worker_type })).toBeGreaterThan(0);
      }
      expect(valueOf(sdk, 'temporal_activity_execution_latency_seconds_count', queue)).toBeGreaterThan(0);

      const runbook = await scrape(`http://127.0.0.1:${workerPort}/metrics`);
      expect(valueOf(runbook, 'runbook_batch_duration_seconds_count', { runbook: RUNBOOK })).toBeGreaterThan(0);
      expect(valueOf(runbook, 'runbook_runs_completed_total', { runbook: RUNBOOK, outcome: 'succeeded' })).toBe(1);

      const { rows: tenants } = await h.database.pool.query<{ externalId: string; name: string }>(
        `SELECT external_id AS "externalId", name FROM tenants`,
      );
      const texts = [run.id, run.reason, ...tenants.flatMap((tenant) => [tenant.externalId, tenant.name])];
      expect(labelValues([...sdk, ...runbook]).filter(({ value }) => texts.some((t) => value.includes(t)))).toEqual([]);
    } finally {
      worker.interrupt();
    }
    expect((await worker.exited).code).toBe(0);
    await expect(fetch(`http://127.0.0.1:${workerPort}/metrics`)).rejects.toThrow();
  });

  it('refuses a port that is taken, naming its setting', async () => {
    const port = await freePort();
    const { createServer } = await import('node:net');
    const taken = createServer().listen(port, '127.0.0.1');
    await new Promise((resolve) => taken.once('listening', resolve));
    try {
      const worker = spawnCli(['worker', '--workflow-bundle', inject('workflowBundlePath')], {
        DATABASE_URL: h.database.url,
        TEMPORAL_ADDRESS: h.config.temporal.address,
        TEMPORAL_TASK_QUEUE: h.config.temporal.taskQueue,
        WORKER_METRICS_PORT: String(port),
      });
      const { code, stderr } = await worker.exited;
      expect({ code, stderr }).toEqual({
        code: 2,
        stderr: `error: WORKER_METRICS_PORT: cannot listen on 127.0.0.1:${port} (EADDRINUSE); choose another port\n`,
      });
    } finally {
      taken.close();
    }
  });
});
