import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import type { Config } from '../src/config.js';
import { PROJECT_ROOT } from '../src/dev/projectRoot.js';
import { getRunItems } from '../src/runbooks/runs.js';
import { useRunbookHarness } from './support/harness.js';
import { expectedChangesByTenant, loadFindingStates } from './support/lifecycleOracle.js';
import { settledItems, tenantIds, waitForRun } from './support/runs.js';
import { slowBatches } from './support/slowBatches.js';
import { until } from './support/until.js';

/** The real worker command, as production runs it, in a process of its own. */
function startWorkerProcess(config: Config): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'src/cli/index.ts'), 'worker'], {
    env: {
      ...process.env,
      DATABASE_URL: config.databaseUrl,
      TEMPORAL_ADDRESS: config.temporal.address,
      TEMPORAL_TASK_QUEUE: config.temporal.taskQueue,
    },
    stdio: 'ignore',
  });
}

/** Batch statements running now on this test's database: asleep in the slowBatches trigger. */
async function batchesInFlight(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query(
    `SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active' AND wait_event = 'PgSleep'`,
  );
  return rows[0].n;
}

describe('a worker killed in the middle of an all-tenants run, inside a batch transaction', () => {
  // No in-process worker: the workers are real processes. Small batches make the run long
  // enough to be killed mid-way; short heartbeats make the retry quick.
  const h = useRunbookHarness({
    seed: { tenants: 30, findingsPerTenant: 300, seed: 21 },
    settings: { batchSize: 10, childParallelism: 3, heartbeatTimeoutMs: 3_000, maxAttempts: 10 },
    worker: false,
  });
  const workers: ChildProcess[] = [];
  afterAll(() => workers.forEach((worker) => worker.kill('SIGKILL')));

  it('completes after a restart with exact counts and correct data', async () => {
    const { pool } = h.database;
    const customers = await tenantIds(pool);
    const before = await loadFindingStates(pool, customers);
    const expected = expectedChangesByTenant(before);
    const expectedTotal = [...expected.values()].reduce((a, b) => a + b, 0);
    const { run } = await h.start({ kind: 'all_tenants' }, { source: 'cli' });

    const first = startWorkerProcess(h.config);
    workers.push(first);
    const deadline = Date.now() + 120_000;
    while ((await settledItems(pool, run.id)) < 3) {
      if (Date.now() > deadline) throw new Error('the run made no progress before the kill');
      await sleep(100);
    }
    // Kill it while a batch statement is in flight: its transaction holds rows and the item's
    // counts, and must leave nothing behind.
    const restore = await slowBatches(pool, 300);
    await until(
      () => batchesInFlight(pool),
      (n) => n > 0,
      'a batch statement to be in flight',
    );
    first.kill('SIGKILL');
    await restore();
    expect(await settledItems(pool, run.id)).toBeLessThan(customers.length);
    await sleep(1_000);
    const { rows: stalled } = await pool.query('SELECT status FROM operation_runs WHERE id = $1', [run.id]);
    expect(stalled[0].status).toBe('running');

    workers.push(startWorkerProcess(h.config));
    const done = await waitForRun(pool, run.id, 180_000);
    expect(done).toMatchObject({ outcome: 'succeeded' });
    expect(done.counts).toMatchObject({
      tenants: customers.length,
      tenantsSucceeded: customers.length,
      changed: expectedTotal,
      examined: 30 * 300,
    });
    for (const item of await getRunItems(pool, run.id)) {
      expect(item.counts.changed, `tenant ${item.externalId}`).toBe(expected.get(item.tenantId) ?? 0);
      expect(item.counts.examined).toBe(300);
    }
    const after = await loadFindingStates(pool, customers);
    for (const [id, state] of after) expect(state.current, `finding ${id}`).toEqual(before.get(id)!.expected.rebuilt);
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM notifications WHERE data ->> 'runId' = $1`, [
      run.id,
    ]);
    expect(rows[0].n).toBe(1);
  }, 300_000);
});
