import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlRun, tuneRun } from '../src/runbooks/control.js';
import type { Initiator } from '../src/runbooks/initiator.js';
import { RunbookRefusal } from '../src/runbooks/refusal.js';
import { getRun, getRunItems } from '../src/runbooks/runs.js';
import { queryRunProgress } from '../src/temporal/runWorkflows.js';
import { runCli } from './support/cli.js';
import { unflagFindings } from './support/flagOracle.js';
import { useRunbookHarness } from './support/harness.js';
import { untilChildrenRunning, waitForRun } from './support/runs.js';
import { slowBatches } from './support/slowBatches.js';
import { until } from './support/until.js';

const REASON = 'The database has room to spare tonight';

describe('tuning a live run', () => {
  const h = useRunbookHarness({
    seed: { tenants: 12, findingsPerTenant: 200, seed: 37 },
    settings: { batchSize: 10, childParallelism: 2, activityTimeBudgetMs: 500 },
  });
  let restore: () => Promise<void>;
  beforeAll(async () => {
    restore = await slowBatches(h.database.pool, 60);
  });
  afterAll(() => restore?.());

  const tune = (
    runId: string,
    change: { parallelism?: number; batchSize?: number },
    initiator: Initiator = h.operator,
  ) =>
    tuneRun(
      { pool: h.database.pool, launcher: h.launcher },
      { runId, initiator, source: 'system_ui', reason: REASON, ...change },
    );
  /** An all-tenants run whose first two children are running. */
  const startWithTwoRunning = async () => {
    await unflagFindings(h.database.pool);
    const { run } = await h.start({ kind: 'all_tenants' });
    await untilChildrenRunning(h.client, run.id, 2);
    return run;
  };
  const refusal = (attempt: Promise<unknown>) =>
    attempt.then(
      () => null,
      (error: unknown) =>
        error instanceof RunbookRefusal
          ? { code: error.code, message: error.message }
          : { code: 'not a refusal', message: String(error) },
    );

  it('raises the running children from 2 to 6; new batches take the new size; audited with its reason', async () => {
    const run = await startWithTwoRunning();

    const viewer: Initiator = {
      kind: 'platform_user',
      id: 1,
      email: 'viewer@example.com',
      capabilities: ['platform.ops.runs.view'],
    };
    expect(await refusal(tune(run.id, { parallelism: 6 }, viewer))).toMatchObject({ code: 'capability' });
    expect(await refusal(tune(run.id, { parallelism: 65 }))).toEqual({
      code: 'invalid_tuning',
      message: 'The parallelism must be a whole number from 1 to 64; got 65.',
    });
    expect(await refusal(tune(run.id, { batchSize: 10 }))).toEqual({
      code: 'invalid_tuning',
      message: 'The batch size of test.findings.flag must be auto or a whole number from 50 to 50,000 rows; got 10.',
    });
    expect(await refusal(tune(run.id, {}))).toMatchObject({
      code: 'invalid_tuning',
      message: 'Give a parallelism, a batch size or a health-gate threshold to change.',
    });

    const tuned = await tune(run.id, { parallelism: 6, batchSize: 50 });
    // The health gates' thresholds go on as the run started with them.
    expect(run.settings.gates).toBeDefined();
    expect(tuned).toEqual({
      from: { parallelism: 2, batchSize: 10, gates: run.settings.gates },
      to: { parallelism: 6, batchSize: 50, gates: run.settings.gates },
    });
    await until(
      () => queryRunProgress(h.client, run.id),
      (p) => p.running === 6,
      'six children to run',
    );
    const done = await waitForRun(h.database.pool, run.id);
    expect(done).toMatchObject({ outcome: 'succeeded', counts: { tenantsSucceeded: 12 } });

    // Tenants started after the change took 200 findings in batches of 50; the first ones in batches of 10 until then.
    const batches = (await getRunItems(h.database.pool, run.id)).map((item) => item.counts.batches);
    expect(batches.filter((n) => n === 4).length).toBeGreaterThanOrEqual(6);
    expect(batches.slice(0, 2).every((n) => n > 4)).toBe(true);
    const { rows } = await h.database.pool.query(
      `SELECT metadata FROM audit_events WHERE target_id = $1 AND action = 'runbook.tuned'`,
      [run.id],
    );
    expect(rows).toEqual([{ metadata: expect.objectContaining({ reason: REASON, from: tuned.from, to: tuned.to }) }]);
  });

  it("tunes a one-tenant run's batch size, never its parallelism; a completed run is refused with exit 2", async () => {
    await unflagFindings(h.database.pool);
    const { run } = await h.start({ kind: 'tenants', externalIds: ['tenant-00001'] });
    // Queued, the run has no worker yet to answer an update; once running, the workflow refuses.
    expect(await refusal(tune(run.id, { parallelism: 4 }))).toMatchObject({ code: 'not_started' });
    await until(
      () => getRun(h.database.pool, run.id),
      (r) => r?.status !== 'queued',
      'the run to start',
    );
    expect(await refusal(tune(run.id, { parallelism: 4 }))).toMatchObject({
      code: 'invalid_tuning',
      message: expect.stringMatching(/one-tenant run has no parallelism/),
    });
    const done = await waitForRun(h.database.pool, run.id);
    const cli = await runCli(['runs', 'tune', done.id, '--batch-size', '500', '--reason', REASON], {
      DATABASE_URL: h.database.url,
      TEMPORAL_ADDRESS: h.config.temporal.address,
    });
    expect(cli.code).toBe(2);
    expect(cli.stderr).toBe(`error: Run ${done.id} is already completed (succeeded); there is nothing to tune.\n`);
  });

  it('switches a running run to batches that size themselves, and back to a fixed size, from the CLI', async () => {
    const run = await startWithTwoRunning();
    const env = { DATABASE_URL: h.database.url, TEMPORAL_ADDRESS: h.config.temporal.address };
    const tuneCli = (...flags: string[]) =>
      runCli(['runs', 'tune', run.id, ...flags, '--reason', REASON], env, { testRunbook: true });

    const refused = await tuneCli('--batch-size', 'lots');
    expect(refused.stderr).toContain(
      `option '--batch-size <auto|rows>' argument 'lots' is invalid. "lots" is not a batch size (write auto, or a whole number of rows).`,
    );
    const auto = await tuneCli('--batch-size', 'auto', '--batch-target', '200ms');
    expect(auto.stdout).toContain('batch size 10 rows → auto (200 ms a batch)');
    // Each tenant sizes its own batches from its next one, within the runbook's bounds (50 rows at least).
    const sized = await until(
      () => getRunItems(h.database.pool, run.id),
      (items) => items.some((item) => item.counts.sizing),
      'a tenant to size its batches',
    );
    for (const item of sized.filter((i) => i.counts.sizing)) {
      expect(item.counts.sizing!.size).toBeGreaterThanOrEqual(50);
    }
    // Paused, so that the run is still there to tune back (batches of 50 rows and more finish it fast).
    const control = (action: 'pause' | 'resume') =>
      controlRun(
        { pool: h.database.pool, launcher: h.launcher },
        { runId: run.id, initiator: h.operator, source: 'cli', reason: REASON },
        action,
      );
    await control('pause');
    const fixed = await tuneCli('--batch-size', '100');
    expect(fixed.stdout).toContain('batch size auto (200 ms a batch) → 100 rows');
    await control('resume');

    const done = await waitForRun(h.database.pool, run.id);
    expect(done).toMatchObject({ outcome: 'succeeded', settings: { parallelism: 2, batchSize: 100 } });
    expect(done.settings.batchTargetMs).toBeUndefined();
    const { rows } = await h.database.pool.query<{ to: { batchSize: number; batchTargetMs?: number } }>(
      `SELECT metadata -> 'to' AS to FROM audit_events WHERE target_id = $1 AND action = 'runbook.tuned' ORDER BY id`,
      [run.id],
    );
    expect(rows.map(({ to }) => [to.batchSize, to.batchTargetMs])).toEqual([
      [10, 200],
      [100, undefined],
    ]);
  });
});
