import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { dropDatabase, migrateDatabase } from '../src/db/migrate.js';
import { startEphemeralDevServer } from '../src/dev/devServer.js';
import { isProcessAlive } from '../src/dev/processAlive.js';
import { ensureTemporalCli } from '../src/dev/temporalCli.js';
import { writeWorkflowBundle } from '../src/temporal/workerBuild.js';

declare module 'vitest' {
  export interface ProvidedContext {
    templateDatabaseUrl: string;
    temporalAddress: string;
    temporalCli: string;
    /** Workflow code bundled once for every test worker. */
    workflowBundlePath: string;
  }
}

const quietLogger = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: console.error };

/** The PostgreSQL server the tests use; never the `npm start` database. */
function templateDatabaseUrl(): string {
  const base = new URL(process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres');
  base.pathname = `/platform_ops_test_${process.pid}_${Date.now().toString(36)}`;
  return base.toString();
}

/** Databases of earlier runs that were killed before their teardown (their process is gone). */
async function dropAbandonedTestDatabases(url: string): Promise<void> {
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname LIKE 'platform\\_ops\\_test\\_%'`,
    );
    for (const { datname } of rows) {
      const pid = Number(datname.split('_')[3]);
      if (Number.isInteger(pid) && !isProcessAlive(pid)) {
        await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(datname)} WITH (FORCE)`);
      }
    }
  } finally {
    await client.end();
  }
}

/**
 * One migrated template database (each test file clones its own) and one in-memory Temporal
 * dev server on free ports, both private to this `npm test` run.
 */
export default async function setup(project: TestProject) {
  const url = templateDatabaseUrl();
  await dropAbandonedTestDatabases(url);
  const temporalCli = await ensureTemporalCli();
  const [server] = await Promise.all([
    startEphemeralDevServer(temporalCli, join(tmpdir(), `platform-ops-test-temporal-${process.pid}.log`)),
    migrateDatabase(url),
  ]);
  const workflowBundlePath = join(tmpdir(), `platform-ops-test-workflows-${process.pid}.js`);
  await writeWorkflowBundle(workflowBundlePath, quietLogger);
  project.provide('templateDatabaseUrl', url);
  project.provide('temporalAddress', server.address);
  project.provide('temporalCli', temporalCli);
  project.provide('workflowBundlePath', workflowBundlePath);
  return async () => {
    await server.stop();
    await dropDatabase(url);
  };
}
