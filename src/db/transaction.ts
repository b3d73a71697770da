import type pg from 'pg';

/** Runs `work` in one transaction on a pooled client; commits its value or rolls back. */
export async function inTransaction<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<T>,
  options: { readOnly?: boolean } = {},
): Promise<T> {
  const client = await pool.connect();
  // The pool listens for a checked-out client's errors only while it is idle: a server that
  // goes away mid-transaction would otherwise raise an unhandled 'error' and end the process.
  // The failure reaches the caller through its query; the broken client is thrown away.
  let broken: Error | undefined;
  const onError = (error: Error) => void (broken = error);
  client.on('error', onError);
  try {
    // A read-only transaction reads one snapshot, so a multi-query report is self-consistent.
    await client.query(options.readOnly ? 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY' : 'BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch((rollbackError: Error) => void (broken ??= rollbackError));
    throw error;
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}
