import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { dropDatabase, migrateDatabase } from '../src/db/migrate.js';
import { startEphemeralDevServer, type RunningDevServer } from '../src/dev/devServer.js';
import { startEmbeddedPostgres } from '../src/dev/embeddedPostgres.js';
import { chooseLocalPostgres, type LocalPostgres } from '../src/dev/localPostgres.js';
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

/**
 * The PostgreSQL server the tests use, chosen here only (every test reaches it through the
 * template's URL): TEST_DATABASE_URL as given; else the machine's on 127.0.0.1:5432 when anything
 * answers there; else an embedded one of this run's own, in a temporary folder. Never the
 * `npm start` database.
 */
async function testServer(): Promise<LocalPostgres> {
  const given = process.env.TEST_DATABASE_URL;
  const server = await chooseLocalPostgres(given || 'postgres://postgres@127.0.0.1:5432/postgres', {
    given: Boolean(given),
    startEmbedded: async () =>
      startEmbeddedPostgres(await mkdtemp(join(tmpdir(), 'platform-ops-test-postgres-')), { durable: false }),
  });
  if (server.embedded) {
    console.log(
      `Using an embedded PostgreSQL in ${server.embedded.folder} (nothing answers at 127.0.0.1:5432; set TEST_DATABASE_URL to use your own)`,
    );
  }
  return server;
}

/** Stops the embedded server, if this run started one, and removes its folder. */
async function stopTestServer(server: LocalPostgres): Promise<void> {
  if (!server.embedded) return;
  await server.embedded.stop();
  await rm(server.embedded.folder, { recursive: true, force: true });
}

function templateDatabaseUrl(serverUrl: string): string {
  const base = new URL(serverUrl);
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
  const postgres = await testServer();
  const url = templateDatabaseUrl(postgres.url);
  let server: RunningDevServer;
  try {
    await dropAbandonedTestDatabases(url);
    const temporalCli = await ensureTemporalCli();
    [server] = await Promise.all([
      startEphemeralDevServer(temporalCli, join(tmpdir(), `platform-ops-test-temporal-${process.pid}.log`)),
      migrateDatabase(url),
    ]);
    const workflowBundlePath = join(tmpdir(), `platform-ops-test-workflows-${process.pid}.js`);
    await writeWorkflowBundle(workflowBundlePath, quietLogger);
    project.provide('templateDatabaseUrl', url);
    project.provide('temporalAddress', server.address);
    project.provide('temporalCli', temporalCli);
    project.provide('workflowBundlePath', workflowBundlePath);
  } catch (error) {
    // Vitest runs no teardown for a setup that failed.
    await stopTestServer(postgres);
    throw error;
  }
  return async () => {
    await server.stop();
    await dropDatabase(url);
    await stopTestServer(postgres);
  };
}
