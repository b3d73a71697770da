import type { Queryable } from '../../db/queryable.js';
import { sqlState } from '../../errors.js';
import { formatGateDuration } from './gateSettings.js';

/** A batch statement gave up waiting for a lock (`lock_timeout`): the run holds, the batch is retried. */
export const isLockTimeout = (error: unknown): boolean => sqlState(error) === '55P03';

/**
 * What a batch that timed out waiting for a lock waited for, as the run says it: the session of
 * the oldest transaction holding a lock on one of the runbook's tables, and for how long it has.
 */
export async function describeLockWait(q: Queryable, tables: readonly string[]): Promise<string> {
  const { rows } = await q.query<{ table: string; pid: number; ms: number }>(
    `SELECT w.name AS table, a.pid, (extract(epoch FROM now() - a.xact_start) * 1000)::float8 AS ms
       FROM unnest($1::text[]) w (name)
       JOIN pg_locks l ON l.relation = to_regclass(w.name) AND l.granted
                      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
       JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE a.pid <> pg_backend_pid() AND a.xact_start IS NOT NULL
      ORDER BY a.xact_start LIMIT 1`,
    [tables],
  );
  const holder = rows[0];
  if (!holder) return `waiting for a lock on ${tables.join(', ')}`;
  return `waiting for a lock on ${holder.table} held by pid ${holder.pid} for ${formatGateDuration(holder.ms, { decimals: 1 })}`;
}
