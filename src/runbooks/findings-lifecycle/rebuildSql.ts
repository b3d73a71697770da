import type { Queryable } from '../../db/queryable.js';
import { LIFECYCLE_FIELDS, LIFECYCLE_INSTANT_FIELDS, type Lifecycle, type LifecycleField } from './rules.js';

/**
 * The lifecycle rules of rules.ts stated set-based in SQL. One CTE chain computes the rebuilt
 * values and per-field change flags for the findings in a scope; the run, the preflight and the
 * sample all read that same chain, so their numbers cannot drift apart.
 */

export type FieldCounts = Record<LifecycleField, number>;

export interface BatchRebuildResult {
  /** Findings of the tenant in the id range. */
  examined: number;
  /** Findings written, i.e. with at least one changed field. */
  changed: number;
  fields: FieldCounts;
}

export interface TenantChangeSummary {
  tenantId: number;
  findings: number;
  changed: number;
  fields: FieldCounts;
}

export interface FindingChangeSample {
  tenantId: number;
  findingId: number;
  changedFields: LifecycleField[];
  /** Instants as `YYYY-MM-DDTHH:MM:SS.ffffffZ`. */
  before: Lifecycle<string>;
  after: Lifecycle<string>;
}

// The only scopes the builder accepts: fixed text whose values arrive as parameters.
const TENANT_ID_RANGE = 'f.tenant_id = $1 AND f.id BETWEEN $2 AND $3';
const TENANT_IDS = 'f.tenant_id = ANY($1::bigint[])';
type Scope = typeof TENANT_ID_RANGE | typeof TENANT_IDS;

const INSTANT_FIELDS: ReadonlySet<LifecycleField> = new Set(LIFECYCLE_INSTANT_FIELDS);

/**
 * `WITH ...` ending in `compared`: per finding in scope its id, tenant_id, the current values
 * (named as the columns), the rebuilt values (`new_<field>`), `<field>_changed` and `changed`.
 */
function rebuiltFindingsCtes(scope: Scope): string {
  const differs = (field: LifecycleField) => `r.${field} IS DISTINCT FROM r.new_${field}`;
  const flags = LIFECYCLE_FIELDS.map((field) => `${differs(field)} AS ${field}_changed`);
  const anyChanged = LIFECYCLE_FIELDS.map(differs).join(' OR ');
  return `
WITH batch AS (
  SELECT f.id, f.tenant_id, f.severity, f.created_at, ${LIFECYCLE_FIELDS.map((field) => `f.${field}`).join(', ')}
    FROM findings f
   WHERE ${scope}
),
derived AS (
  SELECT b.*,
         coalesce(s.first_at, b.created_at) AS new_first_seen_at,
         coalesce(s.last_at, b.created_at) AS new_last_seen_at,
         coalesce(s.times, 0) AS new_times_seen,
         CASE WHEN e.type IS NULL THEN 'new'
              WHEN later.detected_at IS NOT NULL THEN 'reopened'
              ELSE e.type END AS new_status,
         CASE WHEN e.type = 'resolved' AND later.detected_at IS NULL THEN e.occurred_at END AS new_resolved_at,
         later.detected_at AS new_reopened_at,
         1 AS new_lifecycle_version, -- RULES_VERSION
         sla.days AS sla_days
    FROM batch b
    -- Per finding through the indexes: the plan stays a few index probes per finding however
    -- large the tables grow, where a join would hash all detections to serve one tenant.
    LEFT JOIN LATERAL (
      SELECT min(d.detected_at) AS first_at, max(d.detected_at) AS last_at, count(*)::int AS times
        FROM finding_detections d
       WHERE d.finding_id = b.id
    ) s ON true
    LEFT JOIN LATERAL (
      SELECT e.type, e.occurred_at
        FROM finding_events e
       WHERE e.finding_id = b.id AND e.type IN ('triaged', 'resolved', 'risk_accepted')
       ORDER BY e.occurred_at DESC, e.id DESC
       LIMIT 1
    ) e ON true
    -- Strictly after the resolution: a detection at that very instant does not reopen.
    LEFT JOIN LATERAL (
      SELECT min(d.detected_at) AS detected_at
        FROM finding_detections d
       WHERE e.type = 'resolved' AND d.finding_id = b.id AND d.detected_at > e.occurred_at
    ) later ON true
    LEFT JOIN (VALUES ('critical', 3), ('high', 7), ('medium', 30), ('low', 90)) AS sla (severity, days)
      ON sla.severity = b.severity
),
rebuilt AS (
  -- Days of exactly 24 hours: interval '1 day' would follow DST in a non-UTC session.
  -- No SLA (info, unknown severity) gives a NULL interval and so a NULL due_at.
  SELECT d.*,
         CASE WHEN d.new_status IN ('new', 'triaged') THEN d.new_first_seen_at
              WHEN d.new_status = 'reopened' THEN d.new_reopened_at
         END + make_interval(hours => 24 * d.sla_days) AS new_due_at
    FROM derived d
),
compared AS (
  SELECT r.*, ${flags.join(', ')}, (${anyChanged}) AS changed
    FROM rebuilt r
)`;
}

/** `count(*) FILTER (WHERE <field>_changed)::int AS <field>` for every field. */
function fieldCountColumns(alias: string): string {
  return LIFECYCLE_FIELDS.map((field) => `count(*) FILTER (WHERE ${alias}${field}_changed)::int AS ${field}`).join(', ');
}

function fieldCounts(row: Record<string, unknown>): FieldCounts {
  return Object.fromEntries(LIFECYCLE_FIELDS.map((field) => [field, Number(row[field])])) as FieldCounts;
}

/**
 * Rebuilds one tenant's findings with ids in [fromId, toId] in one statement; writes (and
 * bumps updated_at of) only the findings with a changed field.
 */
export async function rebuildFindingsBatch(
  q: Queryable,
  batch: { tenantId: number; fromId: number; toId: number },
): Promise<BatchRebuildResult> {
  const assignments = LIFECYCLE_FIELDS.map((field) => `${field} = c.new_${field}`).join(', ');
  const { rows } = await q.query(
    `${rebuiltFindingsCtes(TENANT_ID_RANGE)},
updated AS (
  UPDATE findings f
     SET ${assignments}, updated_at = now()
    FROM compared c
   WHERE f.id = c.id AND c.changed
  RETURNING ${LIFECYCLE_FIELDS.map((field) => `c.${field}_changed`).join(', ')}
)
SELECT (SELECT count(*) FROM batch)::int AS examined, count(*)::int AS changed, ${fieldCountColumns('')}
  FROM updated`,
    [batch.tenantId, batch.fromId, batch.toId],
  );
  const row = rows[0] as Record<string, unknown>;
  return { examined: Number(row.examined), changed: Number(row.changed), fields: fieldCounts(row) };
}

/**
 * Read-only: per requested tenant (in id order, zeros for a tenant without findings) how many
 * findings a rebuild would examine and change, and how many per field.
 */
export async function summarizeFindingsToChange(q: Queryable, tenantIds: number[]): Promise<TenantChangeSummary[]> {
  const { rows } = await q.query(
    `${rebuiltFindingsCtes(TENANT_IDS)}
SELECT t.tenant_id, count(c.id)::int AS findings, count(*) FILTER (WHERE c.changed)::int AS changed,
       ${fieldCountColumns('c.')}
  FROM (SELECT DISTINCT unnest($1::bigint[]) AS tenant_id) t
  LEFT JOIN compared c ON c.tenant_id = t.tenant_id
 GROUP BY t.tenant_id
 ORDER BY t.tenant_id`,
    [tenantIds],
  );
  return rows.map((row: Record<string, unknown>) => ({
    tenantId: Number(row.tenant_id),
    findings: Number(row.findings),
    changed: Number(row.changed),
    fields: fieldCounts(row),
  }));
}

function isoInstant(column: string): string {
  return `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}

function lifecycleJson(prefix: string): string {
  const pairs = LIFECYCLE_FIELDS.map((field) => {
    const column = `c.${prefix}${field}`;
    return `'${field}', ${INSTANT_FIELDS.has(field) ? isoInstant(column) : column}`;
  });
  return `jsonb_build_object(${pairs.join(', ')})`;
}

/** Read-only: up to `limit` findings that a rebuild would change, by tenant then id. */
export async function sampleFindingChanges(
  q: Queryable,
  tenantIds: number[],
  limit: number,
): Promise<FindingChangeSample[]> {
  const changedFieldNames = LIFECYCLE_FIELDS.map((field) => `CASE WHEN c.${field}_changed THEN '${field}' END`);
  const { rows } = await q.query(
    `${rebuiltFindingsCtes(TENANT_IDS)}
SELECT c.tenant_id, c.id, array_remove(ARRAY[${changedFieldNames.join(', ')}], NULL) AS changed_fields,
       ${lifecycleJson('')} AS before, ${lifecycleJson('new_')} AS after
  FROM compared c
 WHERE c.changed
 ORDER BY c.tenant_id, c.id
 LIMIT $2`,
    [tenantIds, limit],
  );
  return rows.map((row: Record<string, unknown>) => ({
    tenantId: Number(row.tenant_id),
    findingId: Number(row.id),
    changedFields: row.changed_fields as LifecycleField[],
    before: row.before as Lifecycle<string>,
    after: row.after as Lifecycle<string>,
  }));
}
