import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/client.js';
import type { Queryable } from '../src/db/queryable.js';
import { alongsideInSnapshot } from '../src/db/sharedSnapshot.js';
import { inTransaction } from '../src/db/transaction.js';
import { createTestDatabase, type TestDatabase } from './support/testDatabase.js';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
  await database.pool.query('CREATE TABLE snapshot_probe (n int)');
});

afterAll(async () => {
  await database?.destroy();
});

const READ = 'SELECT pg_backend_pid() AS pid, count(*)::int AS rows FROM snapshot_probe';
const read = async (q: Queryable) => (await q.query<{ pid: number; rows: number }>(READ)).rows[0]!;

/**
 * In one read-only transaction on `pool`: a read (which fixes the snapshot), a row committed by
 * someone else, then the same read beside the transaction and again in it.
 */
async function readBeside(pool: pg.Pool) {
  return inTransaction(
    pool,
    async (client) => {
      const before = await read(client);
      await database.pool.query('INSERT INTO snapshot_probe VALUES (1)');
      const beside = alongsideInSnapshot(pool, client, read);
      const after = await read(client);
      return { before, beside: await beside, after };
    },
    { readOnly: true },
  );
}

describe('alongsideInSnapshot', () => {
  it('reads the snapshot of the transaction it runs beside, on another backend', async () => {
    const { before, beside, after } = await readBeside(database.pool);
    expect(beside.rows).toBe(before.rows);
    expect(after.rows).toBe(before.rows);
    expect(beside.pid).not.toBe(before.pid);
    // The row is there for a new snapshot.
    expect((await read(database.pool)).rows).toBe(before.rows + 1);
  });

  it('runs on the same connection when the pool has none to spare, rather than wait for one forever', async () => {
    const single = openDatabase(database.url, { max: 1 });
    try {
      const { before, beside } = await readBeside(single.pool);
      expect(beside).toEqual(before);
    } finally {
      await single.close();
    }
  });
});
