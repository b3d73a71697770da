import type pg from 'pg';

/** The error a connection that drops right after its COMMIT gives: transient, so the activity is retried. */
function droppedAfterCommit(): Error {
  return Object.assign(new Error('connection reset after COMMIT (injected by the test)'), { code: 'ECONNRESET' });
}

const queryText = (query: unknown) =>
  typeof query === 'string' ? query : ((query as { text?: string } | undefined)?.text ?? '');

/**
 * A pool whose tenant batches commit and then fail: after the COMMIT of every `every`-th
 * transaction that locked a run item (the batch activity's), up to `limit` times, the caller
 * sees a dropped connection although its work is committed. The activity is then retried over
 * data and counts that already hold the batch.
 */
export function failingAfterBatchCommits(pool: pg.Pool, { every, limit }: { every: number; limit: number }) {
  const injected = { count: 0 };
  let batches = 0;
  const wrapClient = (client: pg.PoolClient): pg.PoolClient => {
    let lockedItem = false;
    return new Proxy(client, {
      get(target, property, receiver) {
        if (property !== 'query') {
          const value: unknown = Reflect.get(target, property, receiver);
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        }
        return async (...args: unknown[]) => {
          const text = queryText(args[0]);
          const result: unknown = await (target.query as (...a: unknown[]) => Promise<unknown>)(...args);
          if (text.includes('operation_run_items') && text.includes('FOR UPDATE')) lockedItem = true;
          if (text === 'COMMIT' && lockedItem) {
            lockedItem = false;
            batches += 1;
            if (batches % every === 0 && injected.count < limit) {
              injected.count += 1;
              throw droppedAfterCommit();
            }
          }
          return result;
        };
      },
    });
  };
  const wrapped = new Proxy(pool, {
    get(target, property, receiver) {
      if (property === 'connect') return async () => wrapClient(await target.connect());
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { pool: wrapped, injected };
}
