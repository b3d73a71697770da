import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { openDatabase, type Database } from '../../src/db/client.js';
import { dropDatabase } from '../../src/db/migrate.js';

export interface TestDatabase extends Database {
  url: string;
  /** Closes the pool and drops the database. */
  destroy: () => Promise<void>;
}

function withDatabaseName(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

/**
 * The tests' PostgreSQL server (the one the global setup chose: given, the machine's, or an
 * embedded one), as a URL of its `postgres` database.
 */
export function testServerUrl(): string {
  return withDatabaseName(inject('templateDatabaseUrl'), 'postgres');
}

/**
 * A fresh, migrated database of its own for one test file, cloned from the template that
 * the global setup migrated once (a clone takes a fraction of a second). Files run in
 * parallel, and all-tenants runs see every tenant, so no two files may share a database.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const templateUrl = inject('templateDatabaseUrl');
  const template = new URL(templateUrl).pathname.slice(1);
  const name = `${template}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: testServerUrl() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)} TEMPLATE ${pg.escapeIdentifier(template)}`);
  } finally {
    await admin.end();
  }
  const url = withDatabaseName(templateUrl, name);
  const database = openDatabase(url);
  return {
    ...database,
    url,
    async destroy() {
      await database.close();
      await dropDatabase(url);
    },
  };
}
