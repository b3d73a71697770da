import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/client.js';
import { inTransaction } from '../src/db/transaction.js';
import { isTransientError } from '../src/transient.js';
import { useOwnedPostgres } from './support/ownedPostgres.js';

describe('inTransaction through an outage of its server', () => {
  const server = useOwnedPostgres();

  it('reports the outage to its callers, never as an unhandled error, and works again after it', async () => {
    const database = openDatabase(server().url(), { max: 8 });
    const unhandled: unknown[] = [];
    const onUncaught = (error: unknown) => void unhandled.push(error);
    process.on('uncaughtException', onUncaught);
    const failures: unknown[] = [];
    let stop = false;
    try {
      // Transactions in flight on every pooled connection when the server goes away.
      const loops = Array.from({ length: 8 }, async () => {
        while (!stop) {
          await inTransaction(database.pool, async (client) => {
            for (let i = 0; i < 5; i++) await client.query('SELECT pg_sleep(0.02)');
          }).catch((error: unknown) => failures.push(error));
          await sleep(20);
        }
      });
      await sleep(500);
      await server().stop();
      await sleep(1_000);
      await server().start();
      stop = true;
      await Promise.all(loops);

      expect(unhandled).toEqual([]);
      expect(failures.length).toBeGreaterThan(0);
      for (const failure of failures) expect(isTransientError(failure), String(failure)).toBe(true);
      // The broken clients were thrown away: every connection of the pool works again.
      const results = await Promise.all(
        Array.from({ length: 8 }, () => inTransaction(database.pool, (client) => client.query('SELECT 1 AS one'))),
      );
      expect(results.map((result) => result.rows[0].one)).toEqual(Array(8).fill(1));
    } finally {
      process.off('uncaughtException', onUncaught);
      await database.close();
    }
  });
});
