import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { databaseName } from '../src/db/describeUrl.js';
import { dropDatabase, migrateDatabase } from '../src/db/migrate.js';
import { inject } from 'vitest';

const url = (() => {
  const parsed = new URL(inject('templateDatabaseUrl'));
  parsed.pathname = `${parsed.pathname}_migrations`;
  return parsed.toString();
})();

async function schemaSnapshot(): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query(`
      SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable AS line
        FROM information_schema.columns WHERE table_schema = 'public'
      UNION ALL SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = 'public'
      UNION ALL SELECT 'constraint ' || conname FROM pg_constraint
        WHERE connamespace = 'public'::regnamespace
      ORDER BY 1`);
    return rows.map((row) => row.line).join('\n');
  } finally {
    await client.end();
  }
}

describe('db migrate', () => {
  afterAll(() => dropDatabase(url));

  it('creates a missing database and applies every migration, then re-applies with no effect', async () => {
    await dropDatabase(url);
    const first = await migrateDatabase(url);
    expect(first).toMatchObject({ createdDatabase: true });
    expect(first.applied).toBeGreaterThan(0);
    expect(first.applied).toBe(first.total);
    const before = await schemaSnapshot();
    expect(before).toContain('column findings.lifecycle_version integer NO');
    expect(before).toContain('finding_events_finding_latest_idx');

    const second = await migrateDatabase(url);
    expect(second).toEqual({ createdDatabase: false, applied: 0, total: first.total });
    expect(await schemaSnapshot()).toBe(before);
    expect(databaseName(url)).toMatch(/_migrations$/);
  });

  it('names the address, not the password, when PostgreSQL is unreachable', async () => {
    const unreachable = 'postgres://admin:s3cret@127.0.0.1:1/nowhere';
    await expect(migrateDatabase(unreachable)).rejects.toThrow(
      /^Cannot reach PostgreSQL at 127\.0\.0\.1:1\/postgres \(ECONNREFUSED\)/,
    );
    await migrateDatabase(unreachable).catch((error: Error) => expect(error.message).not.toContain('s3cret'));
  });
});
