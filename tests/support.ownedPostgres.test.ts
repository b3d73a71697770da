import { existsSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOwnedPostgres, type OwnedPostgres } from './support/ownedPostgres.js';
import { queryOnce } from './support/queryOnce.js';
import { testServerUrl } from './support/testDatabase.js';

/** The machine's shared server, which other test files use at the same time. */
const sharedUrl = testServerUrl();

const postmasterStart = async (url: string) =>
  (await queryOnce<{ started: Date }>(url, 'SELECT pg_postmaster_start_time() AS started'))[0]!.started.toISOString();

describe('an owned PostgreSQL server', () => {
  let server: OwnedPostgres;
  let sharedStartedAt: string;
  let dataDirectory: string;

  beforeAll(async () => {
    sharedStartedAt = await postmasterStart(sharedUrl);
    server = await startOwnedPostgres();
  }, 120_000);
  afterAll(() => server?.destroy());

  it('runs on its own loopback port and data directory', async () => {
    expect(server.port).not.toBe(Number(new URL(sharedUrl).port || 5432));
    expect(server.url()).toBe(`postgres://postgres@127.0.0.1:${server.port}/postgres`);
    expect(server.url('other')).toMatch(/\/other$/);
    const [row] = await queryOnce<{ dir: string; listen: string; fsync: string }>(
      server.url(),
      `SELECT current_setting('data_directory') AS dir, current_setting('listen_addresses') AS listen, current_setting('fsync') AS fsync`,
    );
    expect(row).toMatchObject({ listen: '127.0.0.1', fsync: 'off' });
    dataDirectory = row!.dir;
    expect(dataDirectory).toMatch(/owned-postgres-/);
    expect(existsSync(dataDirectory)).toBe(true);
  });

  it('drops open connections on stop() and refuses new ones until start()', async () => {
    const client = new pg.Client({ connectionString: server.url() });
    const clientErrors: Error[] = [];
    client.on('error', (error) => clientErrors.push(error));
    await client.connect();
    await expect(client.query('SELECT 1 AS one')).resolves.toMatchObject({ rows: [{ one: 1 }] });
    const pool = new pg.Pool({ connectionString: server.url(), max: 2 });
    pool.on('error', () => {}); // idle clients see the shutdown as an error event
    await expect(pool.query('SELECT 1 AS one')).resolves.toMatchObject({ rows: [{ one: 1 }] });

    await server.stop();
    // The open connection was terminated by the server (57P01) or found closed.
    await expect(client.query('SELECT 1')).rejects.toThrow(/terminat|not queryable|Connection terminated|ECONNRESET/i);
    // A new connection is refused: nothing listens on the port.
    await expect(pool.query('SELECT 1')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await client.end().catch(() => {});

    await server.start();
    await expect(pool.query('SELECT 2 AS two')).resolves.toMatchObject({ rows: [{ two: 2 }] });
    await pool.end();
    await server.start(); // already running: nothing to do
  });

  it('keeps its data across stop() and start()', async () => {
    await queryOnce(server.url(), 'CREATE TABLE survives (n int); INSERT INTO survives VALUES (42)');
    await server.stop();
    await server.stop(); // already stopped: nothing to do
    await server.start();
    expect(await queryOnce(server.url(), 'SELECT n FROM survives')).toEqual([{ n: 42 }]);
  });

  it('never touched the shared server', async () => {
    expect(await postmasterStart(sharedUrl)).toBe(sharedStartedAt);
    expect(await postmasterStart(server.url())).not.toBe(sharedStartedAt);
  });

  it('removes its directory on destroy(), and a second destroy() is harmless', async () => {
    const port = server.port;
    await server.destroy();
    expect(existsSync(dataDirectory)).toBe(false);
    await server.destroy();
    await expect(queryOnce(`postgres://postgres@127.0.0.1:${port}/postgres`, 'SELECT 1')).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });
    await expect(server.start()).rejects.toThrow(/destroyed/);
  });
});
