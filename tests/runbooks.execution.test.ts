import type { Client } from '@temporalio/client';
import type { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../src/config.js';
import { runPreflight } from '../src/runbooks/preflight.js';
import { getRunbook } from '../src/runbooks/registry.js';
import { getRunItems } from '../src/runbooks/runs.js';
import type { ScopeInput } from '../src/runbooks/scope.js';
import { ALL_TENANTS_PHRASE, startRunbook } from '../src/runbooks/start.js';
import { seedDemoData } from '../src/seed/seedDemoData.js';
import { runProgressQuery } from '../src/workflows/runbookFanOut.js';
import { preflightQuery } from '../src/workflows/queries.js';
import { expectedChangesByTenant, loadFindingStates } from './support/lifecycleOracle.js';
import { createOperator, tenantIds, waitForRun } from './support/runs.js';
import { testClient, testConfig, testWorker } from './support/temporal.js';
import { createTestDatabase, type TestDatabase } from './support/testDatabase.js';

const RUNBOOK = 'findings.lifecycle.rebuild';
const REASON = 'Backfill lifecycle fields after rules v1';

describe('runbook execution (real PostgreSQL, real Temporal)', () => {
  let database: TestDatabase;
  let config: Config;
  let client: Client;
  let worker: Worker;
  let connection: NativeConnection;
  let running: Promise<void>;

  beforeAll(async () => {
    database = await createTestDatabase();
    await seedDemoData(database.pool, { tenants: 52, findingsPerTenant: 40, seed: 11 });
    // A small continue-as-new threshold makes the parent continue as new several times.
    config = testConfig(database.url, { continueAsNewAfter: 10, childParallelism: 4, batchSize: 16 });
    client = await testClient(config);
    ({ worker, connection } = await testWorker(config, database.pool));
    running = worker.run();
  });

  afterAll(async () => {
    worker?.shutdown();
    await running;
    await connection?.close();
    await client?.connection.close();
    await database?.destroy();
  });

  async function preflightAndStart(scope: ScopeInput, initiator: Awaited<ReturnType<typeof createOperator>>) {
    const preflight = await runPreflight(database.pool, { runbook: getRunbook(RUNBOOK), scope, initiator });
    const { run } = await startRunbook(
      { pool: database.pool, temporal: client, config },
      {
        runbook: RUNBOOK,
        scope,
        initiator,
        reason: REASON,
        source: 'system_ui',
        confirmation: scope.kind === 'all_tenants' ? ALL_TENANTS_PHRASE : null,
        preflightId: preflight.id,
      },
    );
    return { preflight, run };
  }

  it('rebuilds one tenant exactly as the pure rules say, and nothing else', async () => {
    const operator = await createOperator(database.pool);
    const [first, second] = await tenantIds(database.pool);
    const before = await loadFindingStates(database.pool, [first!, second!]);
    const expectedChanged = expectedChangesByTenant(before).get(first!) ?? 0;
    expect(expectedChanged).toBeGreaterThan(0);

    const { rows } = await database.pool.query('SELECT external_id FROM tenants WHERE id = $1', [first]);
    const { preflight, run } = await preflightAndStart({ kind: 'tenants', externalIds: [rows[0].external_id] }, operator);
    expect(preflight.report.toChange).toBe(expectedChanged);
    const done = await waitForRun(database.pool, run.id);

    expect(done).toMatchObject({ status: 'completed', outcome: 'succeeded', scopeKind: 'tenant' });
    expect(done.counts).toMatchObject({ tenants: 1, tenantsSucceeded: 1, changed: expectedChanged, examined: 40 });
    const after = await loadFindingStates(database.pool, [first!, second!]);
    for (const [id, state] of after) {
      if (state.tenantId === first) {
        expect(state.current, `finding ${id}`).toEqual(before.get(id)!.expected.rebuilt);
        expect(state.expected.changedFields).toEqual([]);
      } else {
        expect(state.current, `finding ${id} of another tenant`).toEqual(before.get(id)!.current);
      }
    }
    const [item] = await getRunItems(database.pool, run.id);
    expect(item).toMatchObject({ status: 'succeeded', counts: { changed: expectedChanged, verified: true, remaining: 0 } });
  });

  it('fans out over every tenant with continue-as-new, exact counts, and one notification at the end', async () => {
    const operator = await createOperator(database.pool);
    const customers = await tenantIds(database.pool);
    const [platform] = await tenantIds(database.pool, "external_id = 'platform'");
    expect(customers.length).toBeGreaterThanOrEqual(50);
    const before = await loadFindingStates(database.pool, [...customers, platform!]);
    const expectedByTenant = expectedChangesByTenant(before);
    const expectedTotal = [...expectedByTenant.entries()].filter(([t]) => t !== platform).reduce((n, [, c]) => n + c, 0);

    const { preflight, run } = await preflightAndStart({ kind: 'all_tenants' }, operator);
    expect(preflight.report).toMatchObject({ tenantsInScope: customers.length, toChange: expectedTotal });

    const handle = client.workflow.getHandle(run.workflowId!);
    expect(await handle.query(preflightQuery)).toMatchObject({ id: preflight.id, toChange: expectedTotal });
    // While the run is not completed there is no notification.
    const progress = await handle.query(runProgressQuery);
    expect(progress.tenantsTotal === 0 || progress.tenantsTotal === customers.length).toBe(true);
    const { rows: early } = await database.pool.query(
      `SELECT count(*)::int AS n FROM notifications WHERE data ->> 'runId' = $1`,
      [run.id],
    );
    expect(early[0].n).toBe(0);

    const done = await waitForRun(database.pool, run.id, 180_000);
    expect(done).toMatchObject({ outcome: 'succeeded', scopeKind: 'all_tenants' });
    expect(done.counts).toMatchObject({
      tenants: customers.length,
      tenantsSucceeded: customers.length,
      tenantsFailed: 0,
      changed: expectedTotal,
    });
    const finalProgress = await handle.query(runProgressQuery);
    expect(finalProgress.continuedAsNew).toBeGreaterThanOrEqual(5);

    const after = await loadFindingStates(database.pool, [...customers, platform!]);
    for (const [id, state] of after) {
      if (state.tenantId === platform) {
        expect(state.current, `platform finding ${id}`).toEqual(before.get(id)!.current);
        expect(state.updatedAt).toEqual(before.get(id)!.updatedAt);
      } else {
        expect(state.expected.changedFields, `finding ${id}`).toEqual([]);
        expect(state.current, `finding ${id}`).toEqual(before.get(id)!.expected.rebuilt);
      }
    }
    const items = await getRunItems(database.pool, run.id);
    expect(items).toHaveLength(customers.length);
    for (const item of items) expect(item.counts.changed).toBe(expectedByTenant.get(item.tenantId) ?? 0);

    const { rows: notes } = await database.pool.query(
      `SELECT n.platform_user_id::int AS "userId", n.type, n.data, n.created_at, r.completed_at
         FROM notifications n JOIN operation_runs r ON r.id = (n.data ->> 'runId')::uuid
        WHERE n.platform_user_id = $1`,
      [operator.kind === 'platform_user' ? operator.id : -1],
    );
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatchObject({ userId: operator.kind === 'platform_user' ? operator.id : -1, type: 'OperationRunCompleted' });
    expect(notes[0].data).toMatchObject({ runId: run.id, outcome: 'succeeded' });
    expect(notes[0].created_at).toEqual(notes[0].completed_at);

    // A second run over unchanged data changes nothing.
    const again = await preflightAndStart({ kind: 'all_tenants' }, operator);
    expect(again.preflight.report.toChange).toBe(0);
    const second = await waitForRun(database.pool, again.run.id, 180_000);
    expect(second.counts).toMatchObject({ changed: 0, tenantsSucceeded: customers.length });
  });
});
