import { existsSync } from 'node:fs';
import type { Client } from '@temporalio/client';
import type { NativeConnection, Worker } from '@temporalio/worker';
import fc from 'fast-check';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../src/config.js';
import { inTransaction } from '../src/db/transaction.js';
import type { RunbookDefinition, RunContext } from '../src/runbooks/definition.js';
import type { Initiator } from '../src/runbooks/initiator.js';
import type { TenantRef } from '../src/runbooks/model.js';
import { parseParameters } from '../src/runbooks/parameters.js';
import { loadPreflightTenants, runPreflight, type SavedPreflight } from '../src/runbooks/preflight.js';
import { RUNBOOKS } from '../src/runbooks/registry.js';
import { getRunItems } from '../src/runbooks/runs.js';
import type { ScopeInput } from '../src/runbooks/scope.js';
import { runOf, startRunbook } from '../src/runbooks/start.js';
import type { RunbookTestData } from '../src/runbooks/testData.js';
import { parameterBoundsProperty } from './support/parameterBounds.js';
import { failingAfterBatchCommits } from './support/failAfterCommit.js';
import { createOperator, waitForRun } from './support/runs.js';
import { testClient, testConfig, testLauncher, testWorker } from './support/temporal.js';
import { createTestDatabase, type TestDatabase } from './support/testDatabase.js';

/**
 * Every registered runbook, with no list to keep: on random data from its own folder's
 * `testData.ts`, the platform tenant included, each must keep the engine's promises. A failure
 * names the seed that replays it: CONFORMANCE_SEED=<seed> npx vitest run tests/runbooks.conformance.test.ts -t <cli name>
 */
const SEED = Number(process.env.CONFORMANCE_SEED ?? Math.floor(Math.random() * 2 ** 31));
const IN_SCOPE = ['conformance-a', 'conformance-b', 'conformance-c'];
const OUT_OF_SCOPE = ['platform', 'conformance-out'];
// Small batches, so that a tenant takes several and a failure after one's commit is retried mid-tenant.
const BATCH_SIZE = 7;
// Tables of the engine's own records: a run writes them for every tenant in its scope.
const ENGINE_TABLES = ['operation_run_items', 'preflight_tenants'];

async function loadTestData(runbook: RunbookDefinition): Promise<RunbookTestData> {
  const path = new URL(`../src/catalog/${runbook.cliName}/testData.ts`, import.meta.url);
  if (!existsSync(path)) {
    throw new Error(
      `${runbook.id} has no test data: write src/catalog/${runbook.cliName}/testData.ts (src/runbooks/testData.ts)`,
    );
  }
  const { testData } = (await import(path.href)) as { testData: RunbookTestData };
  expect(testData.runbookId, `src/catalog/${runbook.cliName}/testData.ts is for another runbook`).toBe(runbook.id);
  return testData;
}

/** Every table but the engine's with rows that name a tenant. */
async function tenantTables(q: pg.Pool | pg.PoolClient): Promise<Array<{ table_name: string }>> {
  const { rows } = await q.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.columns
      WHERE table_schema = 'public' AND column_name = 'tenant_id' AND NOT table_name = ANY($1) ORDER BY table_name`,
    [ENGINE_TABLES],
  );
  return rows;
}

/** Per table, a hash of the rows that name these tenants. */
async function tableHashes(q: pg.Pool | pg.PoolClient, tenantIds: number[]): Promise<Map<string, string>> {
  const hashes = new Map<string, string>();
  for (const { table_name } of await tenantTables(q)) {
    const { rows } = await q.query<{ hash: string }>(
      `SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) AS hash FROM "${table_name}" t WHERE t.tenant_id = ANY($1)`,
      [tenantIds],
    );
    hashes.set(table_name, rows[0]!.hash);
  }
  return hashes;
}

/** A hash of every row that names the tenant, in every table but the engine's, and of the tenant row itself. */
async function tenantRowsHash(q: pg.Pool | pg.PoolClient, tenantId: number): Promise<string> {
  const tables = await tenantTables(q);
  const parts = tables.map(
    ({ table_name }) =>
      `(SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM "${table_name}" t WHERE t.tenant_id = $1)`,
  );
  const { rows } = await q.query<{ hash: string }>(
    `SELECT md5(concat_ws(',', (SELECT t::text FROM tenants t WHERE t.id = $1), ${parts.join(', ')})) AS hash`,
    [tenantId],
  );
  return rows[0]!.hash;
}

interface World {
  database: TestDatabase;
  config: Config;
  client: Client;
  worker: Worker;
  connection: NativeConnection;
  running: Promise<void>;
  operator: Initiator;
  tenants: Map<string, number>;
  parameters: Record<string, unknown>;
  injected: { count: number };
  workspaceId: number;
}

const tenantRef = (world: World, externalId: string): TenantRef => ({
  id: world.tenants.get(externalId)!,
  externalId,
  workspaceId: world.workspaceId,
});

for (const runbook of RUNBOOKS) {
  describe(`${runbook.cliName} (${runbook.id}) conforms; seed ${SEED}`, () => {
    const world = {} as World;
    let testData: RunbookTestData;
    let firstPreflight: SavedPreflight;
    const scope: ScopeInput = { kind: 'tenants', externalIds: IN_SCOPE };
    const hashesOutOfScope = () =>
      Promise.all(OUT_OF_SCOPE.map((name) => tenantRowsHash(world.database.pool, world.tenants.get(name)!)));

    const startAgainst = async (preflight: SavedPreflight) => {
      const { run } = runOf(
        await startRunbook(
          { pool: world.database.pool, launcher: testLauncher(world) },
          {
            runbook: runbook.id,
            scope,
            parameters: world.parameters,
            initiator: world.operator,
            reason: 'Conformance suite',
            source: 'cli',
            preflightId: preflight.id,
          },
        ),
      );
      const done = await waitForRun(world.database.pool, run.id);
      return { run: done, items: await getRunItems(world.database.pool, run.id) };
    };

    // A runbook whose data cannot be written (a scaffold's stubs) fails each check that needs it,
    // with the reason, where a failing beforeAll would leave them all "skipped".
    let unwritten: Error | null = null;
    const ready = () => {
      if (unwritten) throw unwritten;
    };

    beforeAll(async () => {
      await setUp().catch((error: unknown) => {
        unwritten = error instanceof Error ? error : new Error(String(error));
      });
    });

    async function setUp() {
      testData = await loadTestData(runbook);
      world.database = await createTestDatabase();
      const { pool } = world.database;
      const { rows } = await pool.query<{ id: string }>(
        `INSERT INTO workspaces (slug, name) VALUES ('conformance', 'Conformance') RETURNING id`,
      );
      world.tenants = new Map();
      world.workspaceId = Number(rows[0]!.id);
      const samples = fc.sample(testData.tenantData, { numRuns: IN_SCOPE.length + OUT_OF_SCOPE.length, seed: SEED });
      for (const [index, name] of [...OUT_OF_SCOPE, ...IN_SCOPE].entries()) {
        const tenant = await pool.query<{ id: string }>(
          `INSERT INTO tenants (workspace_id, external_id, name) VALUES ($1, $2, $2) RETURNING id`,
          [rows[0]!.id, name],
        );
        const tenantId = Number(tenant.rows[0]!.id);
        world.tenants.set(name, tenantId);
        await inTransaction(pool, (client) => testData.write(client, tenantId, samples[index]));
      }
      world.parameters = fc.sample(testData.parameters, { numRuns: 1, seed: SEED })[0]!;
      world.config = testConfig(world.database.url, { batchSize: BATCH_SIZE, maxAttempts: 1 });
      world.client = await testClient(world.config);
      world.operator = await createOperator(pool);
      const failing = failingAfterBatchCommits(pool, { every: 3, limit: 4 });
      world.injected = failing.injected;
      ({ worker: world.worker, connection: world.connection } = await testWorker(world.config, failing.pool));
      world.running = world.worker.run();
    }

    afterAll(async () => {
      world.worker?.shutdown();
      await world.running;
      await world.connection?.close();
      await world.client?.connection.close();
      await world.database?.destroy();
    });

    it('its preflight writes nothing: it runs in a READ ONLY transaction', async () => {
      ready();
      const ids = [...world.tenants.values()];
      const before = await Promise.all(ids.map((id) => tenantRowsHash(world.database.pool, id)));
      const context: RunContext = {
        parameters: parseParameters(runbook.parameters, world.parameters),
        asOf: new Date(),
      };
      const tenants = IN_SCOPE.map((name) => tenantRef(world, name));
      // A write in a READ ONLY transaction raises: the preflight's own, by the definition alone.
      const report = await inTransaction(world.database.pool, (client) => runbook.preflight(client, tenants, context), {
        readOnly: true,
      });
      expect(report.perTenant.map((tenant) => tenant.tenantId).sort()).toEqual(tenants.map((t) => t.id).sort());
      firstPreflight = await runPreflight(world.database.pool, {
        runbook,
        scope,
        parameters: world.parameters,
        initiator: world.operator,
      });
      expect(await Promise.all(ids.map((id) => tenantRowsHash(world.database.pool, id)))).toEqual(before);
    });

    it("its run changes per tenant what its preflight counted, verified, even with batches retried after their commit; other tenants' rows stay byte for byte", async () => {
      ready();
      const outside = await hashesOutOfScope();
      const inScope = IN_SCOPE.map((name) => world.tenants.get(name)!);
      const tablesBefore = await tableHashes(world.database.pool, inScope);
      const { run, items } = await startAgainst(firstPreflight);
      expect(run.outcome, JSON.stringify(items)).toBe('succeeded');
      // What it writes, it declares: the health gates watch its tables (a vacuum, lock waits).
      const written = [...(await tableHashes(world.database.pool, inScope))]
        .filter(([table, hash]) => tablesBefore.get(table) !== hash)
        .map(([table]) => table);
      expect(written.length, 'tables its run wrote').toBeGreaterThan(0);
      expect(
        written.filter((table) => !runbook.tables.includes(table)),
        `tables its run wrote that its definition's \`tables\` does not name`,
      ).toEqual([]);
      const counted = await loadPreflightTenants(world.database.pool, firstPreflight.id);
      const toChange = new Map(counted.map((tenant) => [tenant.tenantId, tenant.toChange]));
      expect(items.map((item) => [item.tenantId, item.counts.changed])).toEqual(
        items.map((item) => [item.tenantId, toChange.get(item.tenantId)]),
      );
      for (const item of items) expect(item.counts).toMatchObject({ verified: true, remaining: 0 });
      // Guards the generator and the injection: there was something to change, and batches were retried.
      expect(items.reduce((sum, item) => sum + item.counts.changed, 0)).toBeGreaterThan(0);
      expect(world.injected.count).toBeGreaterThan(0);
      expect(await hashesOutOfScope()).toEqual(outside);
    });

    it('a second preflight finds nothing to change, and a second run changes nothing', async () => {
      ready();
      const again = await runPreflight(world.database.pool, {
        runbook,
        scope,
        parameters: world.parameters,
        initiator: world.operator,
      });
      const counted = await loadPreflightTenants(world.database.pool, again.id);
      expect(counted.map((tenant) => tenant.toChange)).toEqual(IN_SCOPE.map(() => 0));
      const { run, items } = await startAgainst(again);
      expect(run.outcome).toBe('succeeded');
      expect(items.map((item) => item.counts.changed)).toEqual(IN_SCOPE.map(() => 0));
    });

    it("a change to a tenant's data that moves its count to change moves its fingerprint", async () => {
      ready();
      const tenantId = world.tenants.get(IN_SCOPE[0]!)!;
      const tenant = tenantRef(world, IN_SCOPE[0]!);
      const context: RunContext = {
        parameters: parseParameters(runbook.parameters, world.parameters),
        asOf: new Date(),
      };
      const measure = async (client: pg.PoolClient) => ({
        fingerprint: (await runbook.fingerprint(client, [tenantId], context)).get(tenantId),
        toChange: (await runbook.preflight(client, [tenant], context, { sample: false })).perTenant[0]!.toChange,
      });
      let moved = 0;
      await fc.assert(
        fc.asyncProperty(testData.change, async (change) => {
          const client = await world.database.pool.connect();
          try {
            await client.query('BEGIN');
            const before = await measure(client);
            await testData.applyChange(client, tenantId, change);
            const after = await measure(client);
            if (after.toChange !== before.toChange) {
              moved += 1;
              expect(after.fingerprint, JSON.stringify(change)).not.toEqual(before.fingerprint);
            }
          } finally {
            await client.query('ROLLBACK');
            client.release();
          }
        }),
        { numRuns: 40, seed: SEED },
      );
      // Guards the generator: some changes did move the count.
      expect(moved).toBeGreaterThan(0);
    });

    it('every declared bound of every parameter is enforced', () => {
      parameterBoundsProperty(runbook.parameters, SEED);
    });
  });
}
