import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import type { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../src/config.js';
import type { Initiator } from '../src/runbooks/initiator.js';
import { runPreflight } from '../src/runbooks/preflight.js';
import { getRunbook } from '../src/runbooks/registry.js';
import { getRunItems, type RunRecord } from '../src/runbooks/runs.js';
import { ALL_TENANTS_PHRASE, startRunbook } from '../src/runbooks/start.js';
import { seedDemoData } from '../src/seed/seedDemoData.js';
import { pauseSignal, resumeSignal } from '../src/workflows/queries.js';
import { runProgressQuery } from '../src/workflows/runbookFanOut.js';
import { createOperator, waitForRun } from './support/runs.js';
import { testClient, testConfig, testWorker } from './support/temporal.js';
import { createTestDatabase, type TestDatabase } from './support/testDatabase.js';

async function until<T>(probe: () => Promise<T>, ok: (value: T) => boolean, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await sleep(100);
  }
}

describe('pausing, resuming and cancelling a multi-tenant run', () => {
  let database: TestDatabase;
  let config: Config;
  let client: Client;
  let worker: Worker;
  let connection: NativeConnection;
  let running: Promise<void>;
  let operator: Initiator;

  beforeAll(async () => {
    database = await createTestDatabase();
    await seedDemoData(database.pool, { tenants: 12, findingsPerTenant: 200, seed: 13 });
    config = testConfig(database.url, { batchSize: 10, childParallelism: 2 });
    client = await testClient(config);
    ({ worker, connection } = await testWorker(config, database.pool));
    running = worker.run();
    operator = await createOperator(database.pool);
  });

  afterAll(async () => {
    worker?.shutdown();
    await running;
    await connection?.close();
    await client?.connection.close();
    await database?.destroy();
  });

  async function startAllTenants(): Promise<RunRecord> {
    const scope = { kind: 'all_tenants' } as const;
    const preflight = await runPreflight(database.pool, { runbook: getRunbook('findings-lifecycle'), scope, initiator: operator });
    const { run } = await startRunbook(
      { pool: database.pool, temporal: client, config },
      { runbook: 'findings-lifecycle', scope, initiator: operator, reason: 'Control signals check', source: 'system_ui', confirmation: ALL_TENANTS_PHRASE, preflightId: preflight.id },
    );
    return run;
  }

  it('starts no new tenant while paused and finishes after resume', async () => {
    const run = await startAllTenants();
    const handle = client.workflow.getHandle(run.workflowId!);
    await until(() => handle.query(runProgressQuery), (p) => p.running > 0, 'a child to start');
    await handle.signal(pauseSignal);
    const drained = await until(() => handle.query(runProgressQuery), (p) => p.paused && p.running === 0, 'the children to drain');
    await sleep(1_500);
    const still = await handle.query(runProgressQuery);
    expect(still.tenantsDone + still.tenantsFailed).toBe(drained.tenantsDone + drained.tenantsFailed);
    expect(still.tenantsDone).toBeLessThan(12);

    await handle.signal(resumeSignal);
    const done = await waitForRun(database.pool, run.id);
    expect(done).toMatchObject({ outcome: 'succeeded', counts: { tenantsSucceeded: 12 } });
  });

  it('cancels: children stop, the run completes as cancelled with one notification', async () => {
    // Undo the first test's rebuild so that there is work to interrupt.
    await database.pool.query('UPDATE findings SET lifecycle_version = 0');
    const run = await startAllTenants();
    const handle = client.workflow.getHandle(run.workflowId!);
    await until(() => handle.query(runProgressQuery), (p) => p.running > 0, 'a child to start');
    await handle.cancel();
    const done = await waitForRun(database.pool, run.id);
    expect(done.outcome).toBe('cancelled');
    const statuses = (await getRunItems(database.pool, run.id)).map((item) => item.status);
    expect(statuses).toContain('cancelled');
    expect(statuses.filter((s) => s === 'succeeded').length).toBeLessThan(12);
    expect(statuses).not.toContain('running');
    expect(statuses).not.toContain('pending');
    const { rows } = await database.pool.query(
      `SELECT data ->> 'outcome' AS outcome FROM notifications WHERE data ->> 'runId' = $1`,
      [run.id],
    );
    expect(rows).toEqual([{ outcome: 'cancelled' }]);
    const { rows: audit } = await database.pool.query(
      `SELECT action FROM audit_events WHERE target_id = $1 ORDER BY id`,
      [run.id],
    );
    expect(audit.map((row) => row.action)).toEqual(['runbook.started', 'runbook.cancelled']);
  });
});
