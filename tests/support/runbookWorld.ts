import type pg from 'pg';
import type { Config, RunSettings } from '../../src/config.js';
import { openDatabase } from '../../src/db/client.js';
import { migrateDatabase } from '../../src/db/migrate.js';
import type { GateChange } from '../../src/runbooks/health/gateSettings.js';
import { seedDemoData, type SeedOptions } from '../../src/seed/seedDemoData.js';
import { startTestRun, type RunbookHarness } from './harness.js';
import { createOperator } from './runs.js';
import { testClient, testConfig, testWorker } from './temporal.js';

/**
 * What `useRunbookHarness` gives a test, on any PostgreSQL server and Temporal address: for tests
 * that take one of them away (an owned PostgreSQL server, an owned dev server).
 */
export interface RunbookWorld extends Pick<RunbookHarness, 'config' | 'client' | 'operator' | 'start'> {
  pool: pg.Pool;
  /** The worker's fatal error, if `worker.run()` rejected. */
  workerFailure(): Error | undefined;
  /** Stops the worker and closes the connections and the pool; the database stays. */
  close(): Promise<void>;
}

/**
 * Creates (if needed), migrates and seeds the database at `databaseUrl`, then starts a client
 * and a real in-process worker on a task queue of their own, at `temporalAddress` (default: the
 * suite's dev server).
 */
export async function startRunbookWorld(setup: {
  databaseUrl: string;
  seed: Omit<SeedOptions, 'onProgress'>;
  settings?: Partial<RunSettings>;
  /** Health-gate thresholds its runs start with, over the tests' (see testConfig). */
  gates?: GateChange;
  outageWindowMs?: number;
  temporalAddress?: string;
}): Promise<RunbookWorld> {
  await migrateDatabase(setup.databaseUrl);
  const database = openDatabase(setup.databaseUrl);
  await seedDemoData(database.pool, setup.seed);
  const base = testConfig(setup.databaseUrl, setup.settings, setup.gates);
  const config: Config = {
    ...base,
    temporal: { ...base.temporal, address: setup.temporalAddress ?? base.temporal.address },
    outageWindowMs: setup.outageWindowMs ?? base.outageWindowMs,
  };
  const client = await testClient(config);
  const operator = await createOperator(database.pool);
  const { worker, connection } = await testWorker(config, database.pool);
  let failure: Error | undefined;
  const running = worker.run().catch((error: Error) => {
    failure = error;
  });

  return {
    pool: database.pool,
    config,
    client,
    operator,
    workerFailure: () => failure,
    start: (scope, options) => startTestRun({ pool: database.pool, client, config, operator }, scope, options),
    async close() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      await connection.close().catch(() => {});
      await client.connection.close().catch(() => {});
      await database.close();
    },
  };
}
