import type pg from 'pg';
import type { Queryable } from './queryable.js';
import { inTransaction } from './transaction.js';

/**
 * Runs `work` beside whatever `client` is sent next, on a second connection that reads the
 * very snapshot of `client`'s open REPEATABLE READ transaction (pg_export_snapshot, then SET
 * TRANSACTION SNAPSHOT): two statements of one consistent read on two backends, so two cores.
 * `client`'s transaction must stay open until the returned promise settles.
 *
 * Only a connection the pool can hand out at once is taken, and it is asked for before this
 * returns: waiting for one while holding `client` could wait forever (a pool of one, or every
 * connection held by callers doing the same). Without one, `work` runs on `client` itself,
 * after what was already sent to it: the same snapshot, one statement after the other.
 */
export function alongsideInSnapshot<T>(
  pool: pg.Pool,
  client: pg.PoolClient,
  work: (q: Queryable) => Promise<T>,
): Promise<T> {
  const spare = pool.waitingCount === 0 && (pool.idleCount > 0 || pool.totalCount < (pool.options.max ?? 10));
  if (!spare) return work(client);
  // Sent now, so that it runs before the caller's next statement on `client`.
  const exported = client.query<{ snapshot: string }>('SELECT pg_export_snapshot() AS snapshot');
  // When no connection comes, nothing awaits it below; its failure then must not go unhandled.
  exported.catch(() => undefined);
  return inTransaction(
    pool,
    async (other) => {
      const { rows } = await exported;
      await other.query(`SET TRANSACTION SNAPSHOT ${other.escapeLiteral(rows[0]!.snapshot)}`);
      return work(other);
    },
    { readOnly: true },
  );
}
