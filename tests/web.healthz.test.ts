import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/client.js';
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
    expect(response.json()).toEqual({ status: 'ok', database: { ok: true }, temporal: { ok: true } });
    await app.close();
  });

  it('answers 503 and names the failing dependency', async () => {
    const config = testConfig(database.url);
    const deadDatabase = openDatabase('postgres://postgres:secret@127.0.0.1:1/none');
    const deadTemporal = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) });
    const app = await buildApp({ config, database: deadDatabase, temporal: deadTemporal });
    const response = await app.inject({ method: 'GET', url: '/healthz' });
    expect(response.statusCode).toBe(503);
    const body = response.json();
    expect(body).toMatchObject({ status: 'unavailable', database: { ok: false }, temporal: { ok: false } });
    expect(body.database.error).toMatch(/ECONNREFUSED/);
    expect(response.body).not.toContain('secret');
    await app.close();
    await deadDatabase.close();
  });
});
