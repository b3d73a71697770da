import { fileURLToPath } from 'node:url';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { DEFAULT_CONNECT_TIMEOUT_MS, openDatabase } from './client.js';
import { asConnectionError } from './connectionError.js';
import { databaseName } from './describeUrl.js';

export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../drizzle', import.meta.url));

async function withClient<T>(databaseUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: DEFAULT_CONNECT_TIMEOUT_MS });
  try {
    await client.connect();
  } catch (error) {
    throw asConnectionError(error, databaseUrl);
  }
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

function maintenanceUrl(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  url.pathname = '/postgres';
  return url.toString();
}

/** Creates the database named in the URL when it does not exist. Returns whether it did. */
async function ensureDatabase(databaseUrl: string): Promise<boolean> {
  const name = databaseName(databaseUrl);
  return withClient(maintenanceUrl(databaseUrl), async (client) => {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount) return false;
    try {
      await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
    } catch (error) {
      // Another process created it between our check and our CREATE.
      if ((error as { code?: string }).code !== '42P04') throw error;
    }
    return true;
  });
}

export async function dropDatabase(databaseUrl: string): Promise<void> {
  const name = databaseName(databaseUrl);
  await withClient(maintenanceUrl(databaseUrl), (client) =>
    client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`),
  );
}

async function appliedMigrations(client: pg.Client): Promise<number> {
  const { rows } = await client.query<{ present: boolean }>(
    `SELECT to_regclass('drizzle.__drizzle_migrations') IS NOT NULL AS present`,
  );
  if (!rows[0]?.present) return 0;
  const counted = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations');
  return counted.rows[0]?.n ?? 0;
}

export interface MigrationResult {
  createdDatabase: boolean;
  applied: number;
  total: number;
}

/** Creates the database if needed and applies every pending migration in `drizzle/`. */
export async function migrateDatabase(databaseUrl: string): Promise<MigrationResult> {
  const createdDatabase = await ensureDatabase(databaseUrl);
  const before = await withClient(databaseUrl, appliedMigrations);
  const database = openDatabase(databaseUrl, { max: 1 });
  try {
    await migrate(database.db, { migrationsFolder: MIGRATIONS_FOLDER });
  } finally {
    await database.close();
  }
  const total = await withClient(databaseUrl, appliedMigrations);
  return { createdDatabase, applied: total - before, total };
}
