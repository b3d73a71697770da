import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/client.js';
import { freePort } from '../src/dev/freePort.js';
import { PROJECT_ROOT } from '../src/dev/projectRoot.js';
import { buildApp } from '../src/web/app.js';
import { testClient, testConfig } from './support/temporal.js';
import { createTestDatabase, type TestDatabase } from './support/testDatabase.js';

describe('GET /healthz', () => {
  let database: TestDatabase;
  let temporal: Client;

  beforeAll(async () => {
    database = await createTestDatabase();
    temporal = await testClient(testConfig(database.url));
  });

  afterAll(async () => {
    await temporal?.connection.close();
    await database?.destroy();
  });

  it('reports both dependencies healthy', async () => {
    const config = testConfig(database.url);
    const app = await buildApp({ config, database, temporal });
    const response = await app.inject({ method: 'GET', url: '/healthz' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok', database: 'ok', temporal: 'ok' });
    await app.close();
  });

  it('answers 503 naming the failing dependency, and nothing of its address or error', async () => {
    const config = testConfig(database.url);
    const deadDatabase = openDatabase('postgres://postgres:secret@127.0.0.1:1/none');
    const deadTemporal = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) });
    const app = await buildApp({ config, database: deadDatabase, temporal: deadTemporal });
    const response = await app.inject({ method: 'GET', url: '/healthz' });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toEqual({ status: 'unavailable', database: 'unavailable', temporal: 'unavailable' });
    for (const internal of ['secret', '127.0.0.1', 'ECONNREFUSED', ':1']) expect(response.body).not.toContain(internal);
    await app.close();
    await deadDatabase.close();
  });

  it('the console process starts while Temporal is down and reports it', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'src/web/server.ts')], {
      cwd: PROJECT_ROOT,
      env: {
        ...process.env,
        DATABASE_URL: database.url,
        TEMPORAL_ADDRESS: '127.0.0.1:1',
        PORT: String(port),
        LOG_LEVEL: 'error',
      },
      stdio: 'ignore',
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      const deadline = Date.now() + 30_000;
      let response: Response | null = null;
      while (!response && Date.now() < deadline) {
        response = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null);
        if (!response) await sleep(200);
      }
      expect(response?.status).toBe(503);
      expect(await response!.json()).toEqual({ status: 'unavailable', database: 'ok', temporal: 'unavailable' });
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });
});
