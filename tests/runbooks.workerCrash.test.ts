import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import type { Config } from '../src/config.js';
import { PROJECT_ROOT } from '../src/dev/projectRoot.js';
import { getRun, getRunItems } from '../src/runbooks/runs.js';
import { TEST_RUNBOOK_IMPORT } from './support/cli.js';
import { expectEveryTenantFlagged, flaggedTitle, loadFindings, mismatches, mustFlag } from './support/flagOracle.js';
import { useRunbookHarness } from './support/harness.js';
import { settledItems, tenantIds, waitForRun } from './support/runs.js';
import { slowBatches } from './support/slowBatches.js';
import { until } from './support/until.js';

/**
 * The real worker command, as production runs it, in a process of its own; it knows the test
 * runbook too (TEST_RUNBOOK_IMPORT), as a production worker knows the catalog.
 */
function startWorkerProcess(config: Config): ChildProcess {
  const args = ['--import', 'tsx', ...TEST_RUNBOOK_IMPORT, join(PROJECT_ROOT, 'src/cli/index.ts'), 'worker'];
  return spawn(process.execPath, args, {
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

/** Items of the run that are running, with their committed cursor and batch count. */
async function runningItems(
  pool: pg.Pool,
  runId: string,
): Promise<{ tenantId: number; cursor: number; batches: number }[]> {
  return (await getRunItems(pool, runId))
    .filter((item) => item.status === 'running')
    .map((item) => ({ tenantId: item.tenantId, cursor: item.counts.cursor ?? 0, batches: item.counts.batches ?? 0 }));
}

/** Sessions of this test's database, other than the one asking, inside a transaction. */
async function openTransactions(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL`,
  );
  return rows[0]!.n;
}

const BATCH_SIZE = 10;

describe('a worker killed in the middle of an all-tenants run, inside a batch transaction', () => {
  // No in-process worker: the workers are real processes. Small batches make the run long
  // enough to be killed mid-way; short heartbeats make the retry quick.
  const h = useRunbookHarness({
    seed: { tenants: 30, findingsPerTenant: 300, seed: 21 },
    settings: { batchSize: BATCH_SIZE, childParallelism: 3, heartbeatTimeoutMs: 3_000, maxAttempts: 10 },
    worker: false,
  });
  const workers: ChildProcess[] = [];
  afterAll(() => workers.forEach((worker) => worker.kill('SIGKILL')));

  it('completes after a restart with exact counts and correct data', async () => {
    const { pool } = h.database;
    const customers = await tenantIds(pool);
    const before = await loadFindings(pool, customers);
    const { run } = await h.start({ kind: 'all_tenants' }, { source: 'cli' });

    const first = startWorkerProcess(h.config);
    workers.push(first);
    await until(
      () => settledItems(pool, run.id),
      (n) => n >= 3,
      'the run to make progress before the kill',
      120_000,
    );
    // Kill it while every running tenant's batch statement is in flight (its transaction holds
    // rows and the item's counts, and must leave nothing behind), one of them mid-way (batches
    // committed that the restart must resume after) with findings to change in the batch it is
    // in, so that a kept part of that batch would show.
    const nextBatchChanges = ({ tenantId, cursor }: { tenantId: number; cursor: number }) =>
      [...before.values()]
        .filter((finding) => finding.tenantId === tenantId && finding.id > cursor)
        .slice(0, BATCH_SIZE)
        .some((finding) => mustFlag(finding, run));
    const restore = await slowBatches(pool, 300);
    await until(
      async () => ({ inFlight: await batchesInFlight(pool), running: await runningItems(pool, run.id) }),
      ({ inFlight, running }) =>
        inFlight > 0 &&
        inFlight === running.length &&
        running.some((item) => item.batches > 0 && nextBatchChanges(item)),
      'every running tenant mid-batch, one mid-way with findings to change in that batch',
    );
    first.kill('SIGKILL');
    // Its batch statement runs to its end, then the server finds the client gone and rolls back.
    await until(
      () => openTransactions(pool),
      (n) => n === 0,
      "the killed worker's transactions to end",
    );
    await restore();

    // What the crash left, with no worker running: an unfinished run with a tenant mid-way, and
    // every finding as its item's committed cursor says (marked up to it, untouched after it).
    expect((await getRun(pool, run.id))?.status).toBe('running');
    expect(await settledItems(pool, run.id)).toBeLessThan(customers.length);
    expect((await runningItems(pool, run.id)).filter((item) => item.batches > 0)).not.toEqual([]);
    const items = new Map((await getRunItems(pool, run.id)).map((item) => [item.tenantId, item]));
    const cursorOf = (tenantId: number) => {
      const item = items.get(tenantId);
      const done = item && (item.status === 'succeeded' || item.status === 'failed');
      return done ? Infinity : (item?.counts.cursor ?? 0);
    };
    const atKill = await loadFindings(pool, customers);
    const wantAtKill = (id: number) => {
      const was = before.get(id)!;
      return id <= cursorOf(was.tenantId) ? flaggedTitle(was, run) : was.title;
    };
    expect(
      mismatches(atKill, wantAtKill, Infinity),
      'findings whose state disagrees with their item after the kill',
    ).toEqual([]);

    workers.push(startWorkerProcess(h.config));
    const done = await waitForRun(pool, run.id, 180_000);
    // Every finding marked once or untouched, with exact counts per tenant and on the run.
    expect(await expectEveryTenantFlagged(pool, done, before)).toBe(30 * 300);
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM notifications WHERE data ->> 'runId' = $1`, [
      run.id,
    ]);
    expect(rows[0].n).toBe(1);
  }, 300_000);
});
