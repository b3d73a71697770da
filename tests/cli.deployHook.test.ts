import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { getRun } from '../src/runbooks/runs.js';
import { queryRelease, signalDeployRelease } from '../src/temporal/runWorkflows.js';
import { deployHookWorkflowId } from '../src/temporal/workflowIds.js';
import { releasesQuery } from '../src/workflows/deployHook.js';
import { runCli, spawnCli } from './support/cli.js';
import { useRunbookHarness } from './support/harness.js';
import { waitForRun } from './support/runs.js';
import { slowBatches, undoRebuilds } from './support/slowBatches.js';
import { testWorker } from './support/temporal.js';
import { until } from './support/until.js';

const RUNBOOK = 'findings.lifecycle.rebuild';

describe('tsx src/cli deploy-hook', () => {
  const h = useRunbookHarness({
    seed: { tenants: 6, findingsPerTenant: 60, seed: 29 },
    settings: { batchSize: 10, childParallelism: 3 },
  });
  const env = (extra: Record<string, string> = {}): Record<string, string> => ({
    DATABASE_URL: h.database.url,
    TEMPORAL_ADDRESS: h.config.temporal.address,
    TEMPORAL_TASK_QUEUE: h.config.temporal.taskQueue,
    DEPLOY_RETRY_SECONDS: '1',
    ...extra,
  });
  const runsOf = async (release: string) =>
    (
      await h.database.pool.query(`SELECT id FROM operation_runs WHERE initiator_label = $1`, [`deploy:${release}`])
    ).rows.map((row) => row.id as string);

  it('starts each deploy-triggered runbook once per release, through the shared starter', async () => {
    const result = await runCli(['deploy-hook', '--release', 'r1', '--wait', '--json'], env());
    expect(result.code, result.stderr).toBe(0);
    const { runs } = JSON.parse(result.stdout);
    expect(runs).toEqual([{ runbook: RUNBOOK, runId: expect.any(String), outcome: 'succeeded' }]);
    const run = await getRun(h.database.pool, runs[0].runId);
    expect(run).toMatchObject({
      source: 'deploy_hook',
      scopeKind: 'all_tenants',
      initiatorLabel: 'deploy:r1',
      idempotencyKey: `deploy:r1:${RUNBOOK}`,
      outcome: 'succeeded',
    });
    const { rows } = await h.database.pool.query('SELECT created_by FROM preflights WHERE id = $1', [run!.preflightId]);
    expect(rows).toEqual([{ created_by: 'deploy:r1' }]);

    // The same release again, three times at once: nothing new, the same run printed, exit 0.
    const again = await Promise.all([1, 2, 3].map(() => runCli(['deploy-hook', '--release', 'r1', '--json'], env())));
    for (const repeat of again) {
      expect(repeat.code, repeat.stderr).toBe(0);
      expect(JSON.parse(repeat.stdout).runbooks).toEqual([{ runbook: RUNBOOK, state: 'started', runId: run!.id }]);
    }
    expect(await runsOf('r1')).toEqual([run!.id]);
  });

  it("queues a release behind the previous release's active run, and starts it when the scope frees", async () => {
    await undoRebuilds(h.database.pool);
    // r2's run (2 waves of 6 batches) lasts about 6 s: still active when r3's CLI has started.
    const restore = await slowBatches(h.database.pool, 500);
    try {
      const first = await runCli(['deploy-hook', '--release', 'r2', '--json'], env());
      expect(first.code, first.stderr).toBe(0);
      const [firstRun] = await runsOf('r2');
      const second = spawnCli(['deploy-hook', '--release', 'r3', '--wait'], env());
      await second.waitForStderr(/release r3 waits: run [0-9a-f-]{36} \(by deploy:r2\) is still (queued|running)/);
      const result = await second.exited;
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toMatch(new RegExp(`${RUNBOOK}: run [0-9a-f-]{36} succeeded`));
      const done = await waitForRun(h.database.pool, firstRun!);
      const [laterRun] = await runsOf('r3');
      const later = await getRun(h.database.pool, laterRun!);
      expect(later!.createdAt.getTime()).toBeGreaterThanOrEqual(done.completedAt!.getTime());
    } finally {
      await restore();
    }
    // The workflow keeps every release it has seen.
    const records = await h.client.workflow
      .getHandle(deployHookWorkflowId(h.config.temporal.taskQueue))
      .query(releasesQuery);
    expect(records.map((record) => record.release)).toEqual(['r1', 'r2', 'r3']);
  });

  it('runs nothing when DEPLOY_RUNBOOKS is empty, and refuses a malformed release', async () => {
    const none = await runCli(['deploy-hook', '--release', 'r4'], env({ DEPLOY_RUNBOOKS: '' }));
    expect(none).toMatchObject({
      code: 0,
      stdout: 'No runbook is deploy-triggered (DEPLOY_RUNBOOKS is empty); nothing to run.\n',
    });
    expect(await runsOf('r4')).toEqual([]);
    const bad = await runCli(['deploy-hook', '--release', 'r 5; rm -rf /'], env());
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error: .*--release takes 1 to 100 characters/);
    const unknown = await runCli(['deploy-hook', '--release', 'r6'], env({ DEPLOY_RUNBOOKS: 'nope' }));
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/Unknown runbook "nope"/);
  });

  it('keeps its history bounded: continues as new and still knows every release', async () => {
    const taskQueue = `deploy-can-${randomBytes(4).toString('hex')}`;
    const config = { ...h.config, temporal: { ...h.config.temporal, taskQueue } };
    const { worker, connection } = await testWorker(config, h.database.pool);
    const running = worker.run();
    try {
      const input = { settings: config.runs, retryMs: 200, continueAsNewAfter: 2 };
      for (const release of ['c1', 'c2', 'c3']) {
        await signalDeployRelease(h.client, { taskQueue, input }, { release, runbooks: [RUNBOOK] });
        await until(
          () => queryRelease(h.client, taskQueue, release),
          (record) => record?.runbooks[0]?.state === 'started',
          `release ${release} to start`,
        );
        const [runId] = await runsOf(release);
        await waitForRun(h.database.pool, runId!);
      }
      const handle = h.client.workflow.getHandle(deployHookWorkflowId(taskQueue));
      const records = await handle.query(releasesQuery);
      expect(records.map((record) => record.release)).toEqual(['c1', 'c2', 'c3']);
      const runs = [];
      for await (const execution of h.client.workflow.list({
        query: `WorkflowId = "${deployHookWorkflowId(taskQueue)}"`,
      }))
        runs.push(execution);
      expect(runs.length).toBeGreaterThanOrEqual(2);
      expect(runs.filter((execution) => execution.status.name === 'CONTINUED_AS_NEW').length).toBeGreaterThanOrEqual(1);
    } finally {
      worker.shutdown();
      await running;
      await connection.close();
    }
  });
});
