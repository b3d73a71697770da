import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlRun } from '../src/runbooks/control.js';
import { getRunItems, type RunRecord } from '../src/runbooks/runs.js';
import { unflagFindings } from './support/flagOracle.js';
import { useRunbookHarness } from './support/harness.js';
import { pendingRunWork } from './support/pendingActivities.js';
import { tenantIds, waitForRun } from './support/runs.js';
import { slowBatches } from './support/slowBatches.js';
import { until } from './support/until.js';

describe('cancellation is a clean stop', () => {
  // Heartbeats every batch, a long heartbeat timeout: cancellation must still arrive promptly.
  const h = useRunbookHarness({
    seed: { tenants: 6, findingsPerTenant: 400, seed: 17 },
    settings: { batchSize: 10, childParallelism: 3, heartbeatTimeoutMs: 30_000, activityTimeBudgetMs: 10_000 },
  });
  let restore: () => Promise<void>;
  beforeAll(async () => {
    restore = await slowBatches(h.database.pool, 40);
  });
  afterAll(() => restore?.());

  /** Findings the run wrote (updated after it was created) and the newest write. */
  async function writes(run: RunRecord): Promise<{ rows: number; newest: string | null }> {
    const { rows } = await h.database.pool.query(
      `SELECT count(*)::int AS rows, max(updated_at)::text AS newest FROM findings WHERE updated_at >= $1`,
      [run.createdAt],
    );
    return rows[0];
  }

  async function cancelMidRun(scope: Parameters<typeof h.start>[0]): Promise<void> {
    await unflagFindings(h.database.pool);
    const { run } = await h.start(scope);
    await until(
      () => writes(run),
      (w) => w.rows >= 30,
      'the run to change some findings',
    );
    await controlRun(
      { pool: h.database.pool, launcher: h.launcher },
      { runId: run.id, initiator: h.operator, source: 'cli' },
      'cancel',
    );
    const done = await waitForRun(h.database.pool, run.id);
    expect(done.outcome).toBe('cancelled');

    // From the moment the run says it is done, no finding changes: once Temporal holds nothing of
    // the run to do, nothing of it can write any more, so one look settles it.
    const atCompletion = await writes(run);
    const tenants = await tenantIds(h.database.pool);
    await until(
      () => pendingRunWork(h.client, run.workflowId!, tenants),
      (pending) => pending.length === 0,
      'the cancelled run to be idle',
    );
    expect(await writes(run), 'findings written after the run said it was done').toEqual(atCompletion);
    // The run's total, its items' counts and the rows that changed agree.
    const items = await getRunItems(h.database.pool, run.id);
    const itemsChanged = items.reduce((sum, item) => sum + (item.counts.changed ?? 0), 0);
    const { rows } = await h.database.pool.query('SELECT counts FROM operation_runs WHERE id = $1', [run.id]);
    expect({ run: rows[0].counts.changed, items: itemsChanged }).toEqual({
      run: atCompletion.rows,
      items: atCompletion.rows,
    });
    expect(atCompletion.rows).toBeLessThan(done.counts.tenants! * 400);
    expect(items.map((item) => item.status)).toContain('cancelled');
  }

  it('a single-tenant run', () => cancelMidRun({ kind: 'tenants', externalIds: ['tenant-00001'] }), 90_000);

  it('an all-tenants run', () => cancelMidRun({ kind: 'all_tenants' }), 90_000);
});
