import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyPassword } from '../src/auth/passwords.js';
import { runCli } from './support/cli.js';
import { createCustomerTenant } from './support/console.js';
import { createTestDatabase, type TestDatabase } from './support/testDatabase.js';

describe('customer-user create', () => {
  let database: TestDatabase;
  let env: Record<string, string>;
  let tenant: { id: number; externalId: string };

  beforeAll(async () => {
    database = await createTestDatabase();
    env = { DATABASE_URL: database.url };
    tenant = await createCustomerTenant(database, 'Acme');
    await database.pool.query(
      `WITH w AS (INSERT INTO workspaces (slug, name) VALUES ('platform', 'Platform') RETURNING id)
       INSERT INTO tenants (workspace_id, external_id, name) SELECT id, 'platform', 'Platform' FROM w`,
    );
  });

  afterAll(async () => {
    await database?.destroy();
  });

  it('creates a user of the tenant with a generated password, printed once, stored as an argon2id hash', async () => {
    const result = await runCli(
      ['customer-user', 'create', '--email', 'Buyer@Example.com', '--tenant', tenant.externalId],
      env,
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`of tenant ${tenant.externalId}`);
    const password = result.stdout.match(/Password \(shown once, store it now\): (\S+)/)?.[1];
    const { rows } = await database.pool.query(
      'SELECT tenant_id::int AS "tenantId", password_hash AS hash FROM users WHERE email = $1',
      ['buyer@example.com'],
    );
    expect(rows[0].tenantId).toBe(tenant.id);
    expect(rows[0].hash).toMatch(/^\$argon2id\$/);
    expect(await verifyPassword(rows[0].hash, password!)).toBe(true);
  });

  it.each([
    [
      'an unknown tenant',
      ['--email', 'a@example.com', '--tenant', 'no-such-tenant'],
      'There is no customer tenant with the external id no-such-tenant.',
    ],
    [
      'the platform tenant',
      ['--email', 'b@example.com', '--tenant', 'platform'],
      'There is no customer tenant with the external id platform.',
    ],
    [
      'a taken email',
      ['--email', 'buyer@example.com', '--tenant', 'TENANT'],
      'A customer user with the email buyer@example.com already exists.',
    ],
  ])('refuses %s in one line with exit 2', async (_name, args, message) => {
    const result = await runCli(
      ['customer-user', 'create', ...args.map((arg) => (arg === 'TENANT' ? tenant.externalId : arg))],
      env,
    );
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe(`error: ${message}`);
  });
});
