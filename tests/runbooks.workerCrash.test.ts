import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../src/config.js';
import { PROJECT_ROOT } from '../src/dev/projectRoot.js';
import { runPreflight } from '../src/runbooks/preflight.js';
import { getRunbook } from '../src/runbooks/registry.js';
import { getRunItems } from '../src/runbooks/runs.js';
import { ALL_TENANTS_PHRASE, startRunbook } from '../src/runbooks/start.js';
import { seedDemoData } from '../src/seed/seedDemoData.js';
import { expectedChangesByTenant, loadFindingStates } from './support/lifecycleOracle.js';
import { createOperator, tenantIds, waitForRun } from './support/runs.js';
import { testClient, testConfig } from './support/temporal.js';
import { createTestDatabase, type TestDatabase } from './support/testDatabase.js';

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

async function settledItems(database: TestDatabase, runId: string): Promise<number> {
  const { rows } = await database.pool.query(
    `SELECT count(*)::int AS n FROM operation_run_items WHERE run_id = $1 AND status IN ('succeeded', 'failed')`,
    [runId],
  );
  return rows[0].n;
}

describe('a worker killed in the middle of an all-tenants run', () => {
  let database: TestDatabase;
  let config: Config;
  let client: Client;
  const workers: ChildProcess[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    await seedDemoData(database.pool, { tenants: 30, findingsPerTenant: 300, seed: 21 });
    // Small batches make the run long enough to be killed mid-way; short heartbeats make the retry quick.
    config = testConfig(database.url, { batchSize: 10, childParallelism: 3, heartbeatTimeoutMs: 3_000, maxAttempts: 10 });
    client = await testClient(config);
  });

  afterAll(async () => {
    for (const worker of workers) worker.kill('SIGKILL');
    await client?.connection.close();
    await database?.destroy();
  });

  it('completes after a restart with exact counts and correct data', async () => {
    const customers = await tenantIds(database.pool);
    const before = await loadFindingStates(database.pool, customers);
    const expected = expectedChangesByTenant(before);
    const expectedTotal = [...expected.values()].reduce((a, b) => a + b, 0);

    const operator = await createOperator(database.pool);
    const scope = { kind: 'all_tenants' } as const;
    const preflight = await runPreflight(database.pool, { runbook: getRunbook('findings-lifecycle'), scope, initiator: operator });
    const { run } = await startRunbook(
      { pool: database.pool, temporal: client, config },
      { runbook: 'findings-lifecycle', scope, initiator: operator, reason: 'Crash recovery check', source: 'cli', confirmation: ALL_TENANTS_PHRASE, preflightId: preflight.id },
    );

    const first = startWorkerProcess(config);
    workers.push(first);
    const deadline = Date.now() + 120_000;
    while ((await settledItems(database, run.id)) < 3) {
      if (Date.now() > deadline) throw new Error('the run made no progress before the kill');
      await sleep(100);
    }
    first.kill('SIGKILL');
    const atKill = await settledItems(database, run.id);
    expect(atKill).toBeLessThan(customers.length);
    await sleep(1_000);
    const { rows: stalled } = await database.pool.query('SELECT status FROM operation_runs WHERE id = $1', [run.id]);
    expect(stalled[0].status).toBe('running');

    workers.push(startWorkerProcess(config));
    const done = await waitForRun(database.pool, run.id, 180_000);
    expect(done).toMatchObject({ outcome: 'succeeded' });
    expect(done.counts).toMatchObject({ tenants: customers.length, tenantsSucceeded: customers.length, changed: expectedTotal, examined: 30 * 300 });
    for (const item of await getRunItems(database.pool, run.id)) {
      expect(item.counts.changed, `tenant ${item.externalId}`).toBe(expected.get(item.tenantId) ?? 0);
      expect(item.counts.examined).toBe(300);
    }
    const after = await loadFindingStates(database.pool, customers);
    for (const [id, state] of after) expect(state.current, `finding ${id}`).toEqual(before.get(id)!.expected.rebuilt);
    const { rows } = await database.pool.query(`SELECT count(*)::int AS n FROM notifications WHERE data ->> 'runId' = $1`, [run.id]);
    expect(rows[0].n).toBe(1);
  }, 300_000);
});
