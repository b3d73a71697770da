import type { Client } from '@temporalio/client';
import type { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../src/config.js';
import type { Initiator } from '../src/runbooks/initiator.js';
import { runPreflight } from '../src/runbooks/preflight.js';
import { getRunbook } from '../src/runbooks/registry.js';
import { getRunItems } from '../src/runbooks/runs.js';
import type { ScopeInput } from '../src/runbooks/scope.js';
import { ALL_TENANTS_PHRASE, startRunbook } from '../src/runbooks/start.js';
import { seedDemoData } from '../src/seed/seedDemoData.js';
import { loadFindingStates } from './support/lifecycleOracle.js';
import { createOperator, tenantIds, waitForRun } from './support/runs.js';
import { testClient, testConfig, testWorker } from './support/temporal.js';
import { createTestDatabase, type TestDatabase } from './support/testDatabase.js';

const RUNBOOK = 'findings.lifecycle.rebuild';

describe('runbook failures (real PostgreSQL, real Temporal)', () => {
  let database: TestDatabase;
  let config: Config;
  let client: Client;
  let worker: Worker;
  let connection: NativeConnection;
  let running: Promise<void>;
  let operator: Initiator;

  beforeAll(async () => {
    database = await createTestDatabase();
    await seedDemoData(database.pool, { tenants: 6, findingsPerTenant: 30, seed: 5 });
    config = testConfig(database.url, { maxAttempts: 2 });
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

  async function run(scope: ScopeInput) {
    const preflight = await runPreflight(database.pool, { runbook: getRunbook(RUNBOOK), scope, initiator: operator });
    const { run } = await startRunbook(
      { pool: database.pool, temporal: client, config },
      {
        runbook: RUNBOOK,
        scope,
        initiator: operator,
        reason: 'Failure isolation check',
        source: 'system_ui',
        confirmation: ALL_TENANTS_PHRASE,
        preflightId: preflight.id,
      },
    );
    return waitForRun(database.pool, run.id);
  }

  it('records a tenant that keeps failing and finishes the others: partially_succeeded', async () => {
    const customers = await tenantIds(database.pool);
    const broken = customers[2]!;
    await database.pool.query(`
      CREATE FUNCTION refuse_tenant() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'tenant % is locked for maintenance', NEW.tenant_id; END $$;
      CREATE TRIGGER refuse_tenant BEFORE UPDATE ON findings FOR EACH ROW
        WHEN (NEW.tenant_id = ${broken}) EXECUTE FUNCTION refuse_tenant();`);
    try {
      const done = await run({ kind: 'all_tenants' });
      expect(done).toMatchObject({ outcome: 'partially_succeeded' });
      expect(done.counts).toMatchObject({ tenants: 6, tenantsSucceeded: 5, tenantsFailed: 1 });
      const items = await getRunItems(database.pool, done.id);
      const failed = items.find((item) => item.tenantId === broken)!;
      expect(failed.status).toBe('failed');
      expect(failed.error).toContain(`tenant ${broken} is locked for maintenance`);
      expect(items.filter((item) => item.status === 'succeeded')).toHaveLength(5);

      const states = await loadFindingStates(database.pool, customers);
      for (const state of states.values()) {
        const stillToChange = state.expected.changedFields.length > 0;
        // Only the broken tenant's findings are left as they were.
        if (state.tenantId !== broken) expect(stillToChange).toBe(false);
      }
      const { rows } = await database.pool.query(
        `SELECT count(*)::int AS n FROM notifications WHERE data ->> 'runId' = $1 AND data ->> 'outcome' = 'partially_succeeded'`,
        [done.id],
      );
      expect(rows[0].n).toBe(1);
    } finally {
      await database.pool.query('DROP TRIGGER refuse_tenant ON findings; DROP FUNCTION refuse_tenant()');
    }
  });

  it('starts and completes runs while every audit insert fails', async () => {
    await database.pool.query(`
      CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'audit store unavailable'; END $$;
      CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION refuse_audit();`);
    try {
      // The trigger really refuses inserts (a REVOKE would not stop the superuser tests use).
      await expect(database.pool.query(`INSERT INTO audit_events (actor_kind, action) VALUES ('system', 'probe')`)).rejects.toThrow(
        'audit store unavailable',
      );
      const { rows: before } = await database.pool.query('SELECT count(*)::int AS n FROM audit_events');
      const { rows } = await database.pool.query(`SELECT external_id FROM tenants WHERE id = $1`, [(await tenantIds(database.pool))[0]]);
      const done = await run({ kind: 'tenants', externalIds: [rows[0].external_id] });
      expect(done).toMatchObject({ status: 'completed', outcome: 'succeeded' });
      const { rows: after } = await database.pool.query('SELECT count(*)::int AS n FROM audit_events');
      expect(after[0].n).toBe(before[0].n);
      const { rows: notes } = await database.pool.query(`SELECT count(*)::int AS n FROM notifications WHERE data ->> 'runId' = $1`, [done.id]);
      expect(notes[0].n).toBe(1);
    } finally {
      await database.pool.query('DROP TRIGGER refuse_audit ON audit_events; DROP FUNCTION refuse_audit()');
    }
  });
});
