import type { Queryable } from '../../db/queryable.js';

/** Gates whose measure can be missing (no permission, a failing query): each is then left out, said once. */
export type MeasuredGate = 'replicaLag' | 'transactionAge' | 'connections' | 'custom';

/**
 * What the database looks like to the health gates at one moment: the measures of PostgreSQL's
 * statistics views, what runs on the runbook's tables, and the custom gate's number.
 */
export interface HealthSnapshot {
  /** The largest replay lag of a streaming replica; null without replicas (or lag to measure). */
  replicaLagMs: number | null;
  /** The oldest open transaction of another client session. */
  oldestTransaction: { pid: number; ageMs: number } | null;
  connections: { used: number; max: number };
  /** The watched tables a VACUUM (auto or not) has been working on for 5 s or more. */
  vacuuming: string[];
  /** Sessions waiting over a second for a lock while they hold or want one on a watched table, and who blocks the first. */
  lockWaits: { table: string; waiting: number; blockedBy: number | null } | null;
  custom: number | null;
  /** Why a gate's measure is missing. */
  unavailable: Partial<Record<MeasuredGate, string>>;
}

interface SnapshotRow {
  replicas: number;
  replicasVisible: number;
  replicaLagMs: number | null;
  hiddenSessions: number;
  oldestPid: number | null;
  oldestAgeMs: number | null;
  connectionsUsed: number;
  maxConnections: number;
  vacuuming: string[];
  lockTable: string | null;
  lockWaiting: number;
  lockBlockedBy: number | null;
}

/**
 * A vacuum this old holds the run: one that ends sooner slows nobody down. Sessions waiting for a
 * lock for less than a second are the ordinary traffic of a busy table, and hold nothing either.
 */
const VACUUM_WORTH_WAITING_FOR = '5 seconds';

/**
 * One statement for every built-in gate, so that a snapshot is one round trip. Sessions of other
 * users show their pids and little else to a role without `pg_read_all_stats` (pg_monitor): such
 * rows are counted, so that a gate they hide is said to be unavailable rather than clear.
 */
const SNAPSHOT_SQL = `
  WITH watched AS (
    SELECT to_regclass(name) AS oid, name FROM unnest($1::text[]) name
  ), replication AS (
    SELECT count(*)::int AS replicas, count(state)::int AS visible,
           (max(extract(epoch FROM replay_lag)) * 1000)::float8 AS lag_ms
      FROM pg_stat_replication
  ), sessions AS (
    -- This database's: a transaction elsewhere holds back no vacuum here, and takes no lock here.
    SELECT * FROM pg_stat_activity
     WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND datname = current_database()
  ), oldest AS (
    SELECT pid, (extract(epoch FROM now() - xact_start) * 1000)::float8 AS age_ms
      FROM sessions WHERE xact_start IS NOT NULL ORDER BY xact_start LIMIT 1
  ), waits AS (
    SELECT w.name AS table_name, a.pid, pg_blocking_pids(a.pid) AS blockers
      FROM sessions a
      JOIN pg_locks l ON l.pid = a.pid AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      JOIN watched w ON w.oid = l.relation
     WHERE a.wait_event_type = 'Lock' AND a.query_start < now() - interval '1 second'
  )
  SELECT r.replicas AS "replicas", r.visible AS "replicasVisible", r.lag_ms AS "replicaLagMs",
         (SELECT count(*) FROM sessions WHERE state IS NULL)::int AS "hiddenSessions",
         o.pid AS "oldestPid", o.age_ms AS "oldestAgeMs",
         (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::int AS "connectionsUsed",
         current_setting('max_connections')::int AS "maxConnections",
         ARRAY(SELECT DISTINCT w.name FROM pg_stat_progress_vacuum v
                 JOIN watched w ON w.oid = v.relid
                 JOIN pg_stat_activity va ON va.pid = v.pid
                WHERE v.datid = (SELECT oid FROM pg_database WHERE datname = current_database())
                  AND va.xact_start < now() - interval '${VACUUM_WORTH_WAITING_FOR}'
                ORDER BY 1) AS "vacuuming",
         (SELECT table_name FROM waits ORDER BY pid LIMIT 1) AS "lockTable",
         (SELECT count(DISTINCT pid) FROM waits)::int AS "lockWaiting",
         (SELECT blockers[1] FROM waits ORDER BY pid LIMIT 1) AS "lockBlockedBy"
    FROM replication r LEFT JOIN oldest o ON true`;

const NO_STATS_PERMISSION = "other sessions' statistics are hidden from this role (grant it pg_monitor)";

/** Reads a snapshot of the built-in gates' measures for a runbook writing `tables`. */
export async function readHealthSnapshot(
  q: Queryable,
  tables: readonly string[],
): Promise<Omit<HealthSnapshot, 'custom'>> {
  const { rows } = await q.query<SnapshotRow>(SNAPSHOT_SQL, [tables]);
  const row = rows[0]!;
  const unavailable: HealthSnapshot['unavailable'] = {};
  if (row.replicasVisible < row.replicas) unavailable.replicaLag = NO_STATS_PERMISSION;
  if (row.hiddenSessions > 0) unavailable.transactionAge = NO_STATS_PERMISSION;
  return {
    replicaLagMs: row.replicaLagMs,
    oldestTransaction:
      row.oldestPid === null || row.oldestAgeMs === null ? null : { pid: row.oldestPid, ageMs: row.oldestAgeMs },
    connections: { used: row.connectionsUsed, max: row.maxConnections },
    vacuuming: row.vacuuming,
    lockWaits:
      row.lockTable === null ? null : { table: row.lockTable, waiting: row.lockWaiting, blockedBy: row.lockBlockedBy },
    unavailable,
  };
}

/**
 * The custom gate's number: the first column of the first row of the operator's query, run read
 * only and bounded at a second. Null when it returns no row or a NULL.
 */
export async function readCustomGate(q: Queryable, query: string): Promise<number | null> {
  const { rows } = await q.query<{ value: unknown }>(
    `SELECT value::float8 AS value FROM (${query}) AS custom_gate (value) LIMIT 1`,
  );
  const value = rows[0]?.value;
  if (value === null || value === undefined) return null;
  return Number(value);
}
