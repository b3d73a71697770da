import type pg from 'pg';
import { openDatabase } from '../src/db/client.js';
import { PLATFORM_TENANT_EXTERNAL_ID } from '../src/db/schema/tenancy.js';
import { SEED_BASE_DATE } from '../src/seed/seedDemoData.js';
import { LIFECYCLE_FIELDS, type LifecycleField } from '../src/catalog/findings-lifecycle/rules.js';
import { UserError } from '../src/errors.js';
import { profiled, round, type Profile } from './profile.js';

/**
 * The physical limit: the lifecycle rules (shared/spec/findings-lifecycle.md) over every
 * customer finding in one set-based statement, with no orchestration. rebuildSql.ts states the
 * rules per tenant and id range (probing the indexes per finding, or grouping the range's
 * history); this is the same rules as one pass of merge/hash aggregates over the whole tables,
 * the fastest plan a single statement has. That
 * it applies exactly the same rules is not taken on trust: `assertSameFindings` compares its
 * result with the runbook's, row for row.
 */
function rebuiltAllCtes(partitioned = false): string {
  const differs = (field: LifecycleField) => `r.${field} IS DISTINCT FROM r.new_${field}`;
  // One part of `tenant_id % $2 = $3`, over each table the statement reads: a part's statement
  // reads only its tenants' rows, so that the parts add up to the one statement's work.
  const part = (alias: string) => (partitioned ? `AND ${alias}.tenant_id % $2 = $3` : '');
  return `
WITH latest AS (
  -- The latest status event per finding: greatest occurred_at, ties by greatest id.
  SELECT DISTINCT ON (e.finding_id) e.finding_id, e.type, e.occurred_at
    FROM finding_events e
   WHERE e.type IN ('triaged', 'resolved', 'risk_accepted') ${part('e')}
   ORDER BY e.finding_id, e.occurred_at DESC, e.id DESC
),
seen AS (
  -- One pass over the detections: the seen statistics and the first detection strictly after
  -- the resolution, when the latest event is one.
  SELECT d.finding_id, min(d.detected_at) AS first_at, max(d.detected_at) AS last_at, count(*)::int AS times,
         min(d.detected_at) FILTER (WHERE l.type = 'resolved' AND d.detected_at > l.occurred_at) AS reopened_at
    FROM finding_detections d
    LEFT JOIN latest l ON l.finding_id = d.finding_id
   WHERE true ${part('d')}
   GROUP BY d.finding_id
),
derived AS (
  SELECT f.id, ${LIFECYCLE_FIELDS.map((field) => `f.${field}`).join(', ')},
         coalesce(s.first_at, f.created_at) AS new_first_seen_at,
         coalesce(s.last_at, f.created_at) AS new_last_seen_at,
         coalesce(s.times, 0) AS new_times_seen,
         CASE WHEN l.type IS NULL THEN 'new' WHEN s.reopened_at IS NOT NULL THEN 'reopened' ELSE l.type END AS new_status,
         CASE WHEN l.type = 'resolved' AND s.reopened_at IS NULL THEN l.occurred_at END AS new_resolved_at,
         s.reopened_at AS new_reopened_at,
         1 AS new_lifecycle_version,
         sla.days AS sla_days
    FROM findings f
    JOIN tenants t ON t.id = f.tenant_id AND t.external_id <> $1 ${part('f')}
    LEFT JOIN seen s ON s.finding_id = f.id
    LEFT JOIN latest l ON l.finding_id = f.id
    LEFT JOIN (VALUES ('critical', 3), ('high', 7), ('medium', 30), ('low', 90)) AS sla (severity, days) ON sla.severity = f.severity
),
rebuilt AS (
  SELECT d.*,
         CASE WHEN d.new_status IN ('new', 'triaged') THEN d.new_first_seen_at
              WHEN d.new_status = 'reopened' THEN d.new_reopened_at
         END + make_interval(hours => 24 * d.sla_days) AS new_due_at
    FROM derived d
),
compared AS (
  SELECT r.*, (${LIFECYCLE_FIELDS.map(differs).join(' OR ')}) AS changed FROM rebuilt r
)`;
}

/** The one statement: writes (and stamps updated_at of) only the findings with a changed field. */
const rebuildAll = (partitioned = false) => `${rebuiltAllCtes(partitioned)}
UPDATE findings f
   SET ${LIFECYCLE_FIELDS.map((field) => `${field} = c.new_${field}`).join(', ')}, updated_at = now()
  FROM compared c
 WHERE f.id = c.id AND c.changed`;
const REBUILD_ALL = rebuildAll();
const REBUILD_PART = rebuildAll(true);

/** The raw count the preflight is held against: findings in scope and to change, one query. */
const COUNT_ALL = `${rebuiltAllCtes()}
SELECT count(*)::int AS examined, count(*) FILTER (WHERE changed)::int AS changed FROM compared`;

export interface PhysicalLimit {
  seconds: number;
  examined: number;
  changed: number;
  findingsPerSecond: number;
  profile: Profile;
}

/** Runs the statement once on a fresh copy (autocommit, as the runbook's batches commit). */
export async function measurePhysicalLimit(
  url: string,
  profileTarget: { serverUrl: string; database: string },
): Promise<PhysicalLimit> {
  const database = openDatabase(url, { max: 1 });
  try {
    const { rows } = await database.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM findings f JOIN tenants t ON t.id = f.tenant_id WHERE t.external_id <> $1`,
      [PLATFORM_TENANT_EXTERNAL_ID],
    );
    const examined = rows[0]!.n;
    const { result, profile } = await profiled(profileTarget, async () => {
      const started = performance.now();
      const { rowCount } = await database.pool.query(REBUILD_ALL, [PLATFORM_TENANT_EXTERNAL_ID]);
      return { changed: rowCount ?? 0, seconds: (performance.now() - started) / 1000 };
    });
    const { changed, seconds } = result;
    return {
      seconds: round(seconds, 3),
      examined,
      changed,
      findingsPerSecond: Math.round(examined / seconds),
      profile,
    };
  } finally {
    await database.close();
  }
}

/** The machine's limit: the one statement's work in `ways` statements at once, one per core. */
export interface MachineLimit {
  ways: number;
  seconds: number;
  changed: number;
  findingsPerSecond: number;
}

/**
 * One statement is the limit of one core; the machine's is one statement per core, at once, each
 * over its part of the tenants (`tenant_id % ways`), on a fresh copy. Its result is the one
 * statement's (the caller compares them row for row).
 */
export async function measureMachineLimit(url: string, ways: number, examined: number): Promise<MachineLimit> {
  const database = openDatabase(url, { max: ways });
  try {
    const started = performance.now();
    const parts = await Promise.all(
      Array.from({ length: ways }, (_, part) =>
        database.pool.query(REBUILD_PART, [PLATFORM_TENANT_EXTERNAL_ID, ways, part]),
      ),
    );
    const seconds = (performance.now() - started) / 1000;
    return {
      ways,
      seconds: round(seconds, 3),
      changed: parts.reduce((sum, { rowCount }) => sum + (rowCount ?? 0), 0),
      findingsPerSecond: Math.round(examined / seconds),
    };
  } finally {
    await database.close();
  }
}

export async function rawCountToChange(pool: pg.Pool): Promise<{ seconds: number; examined: number; changed: number }> {
  const started = performance.now();
  const { rows } = await pool.query<{ examined: number; changed: number }>(COUNT_ALL, [PLATFORM_TENANT_EXTERNAL_ID]);
  return { seconds: round((performance.now() - started) / 1000, 3), ...rows[0]! };
}

const COLUMN_TYPES: Record<LifecycleField, string> = {
  status: 'text',
  first_seen_at: 'timestamptz',
  last_seen_at: 'timestamptz',
  times_seen: 'int',
  due_at: 'timestamptz',
  resolved_at: 'timestamptz',
  reopened_at: 'timestamptz',
  lifecycle_version: 'int',
};

/** A finding as compared: its lifecycle, and whether the rebuild wrote it (seeded rows are dated at or before the seed's base date). */
function comparedColumns(range: IdRange | null): string {
  const where = range ? `WHERE id BETWEEN ${range.fromId} AND ${range.toId}` : '';
  return `SELECT id, tenant_id, ${LIFECYCLE_FIELDS.join(', ')}, updated_at > '${SEED_BASE_DATE}'::timestamptz AS written FROM findings ${where}`;
}

export interface IdRange {
  fromId: number;
  toId: number;
}

/**
 * Fails loudly unless the findings of the database `pool` reaches and of `otherUrl` are
 * identical row for row (all of them, or those with ids in `range`): the same lifecycle values
 * and the same rows written. One EXCEPT query each way, the other side read through dblink.
 */
export async function assertSameFindings(
  pool: pg.Pool,
  otherUrl: string,
  labels: { here: string; there: string },
  range: IdRange | null = null,
): Promise<{ rowsCompared: number }> {
  if (range && !(Number.isSafeInteger(range.fromId) && Number.isSafeInteger(range.toId)))
    throw new Error('id range must be whole numbers');
  const other = new URL(otherUrl);
  const connection = [
    `host=${other.hostname}`,
    `port=${other.port || '5432'}`,
    `dbname=${decodeURIComponent(other.pathname.slice(1))}`,
    `user=${decodeURIComponent(other.username || 'postgres')}`,
    ...(other.password ? [`password=${decodeURIComponent(other.password)}`] : []),
  ].join(' ');
  const types = [
    'id bigint',
    'tenant_id bigint',
    ...LIFECYCLE_FIELDS.map((field) => `${field} ${COLUMN_TYPES[field]}`),
    'written boolean',
  ];
  await pool.query('CREATE EXTENSION IF NOT EXISTS dblink');
  const { rows } = await pool.query<{ compared: number; only_here: number; only_there: number }>(
    `WITH here AS MATERIALIZED (${comparedColumns(range)}),
          there AS MATERIALIZED (SELECT * FROM dblink($1, $2) AS t (${types.join(', ')}))
     SELECT (SELECT count(*) FROM here)::int AS compared,
            (SELECT count(*) FROM (SELECT * FROM here EXCEPT SELECT * FROM there) d)::int AS only_here,
            (SELECT count(*) FROM (SELECT * FROM there EXCEPT SELECT * FROM here) d)::int AS only_there`,
    [connection, comparedColumns(range)],
  );
  const { compared, only_here, only_there } = rows[0]!;
  if (only_here > 0 || only_there > 0 || compared === 0) {
    throw new UserError(
      `The ${labels.here} and the ${labels.there} disagree: ${only_here} findings of the ${labels.here} and ${only_there} of the ` +
        `${labels.there} have no identical row on the other side (of ${compared} compared). The two apply different rules; ` +
        'fix the statement in bench/physicalLimit.ts (or the peer) before trusting any ratio.',
    );
  }
  return { rowsCompared: compared };
}
