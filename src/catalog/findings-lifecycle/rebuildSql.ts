import type { Queryable } from '../../db/queryable.js';
import type { SampleChange } from '../../runbooks/definition.js';
import { LIFECYCLE_FIELDS, LIFECYCLE_INSTANT_FIELDS, type Lifecycle, type LifecycleField } from './rules.js';

/**
 * The lifecycle rules of rules.ts stated set-based in SQL. One CTE chain computes the rebuilt
 * values and per-field change flags for the findings in a scope; the run, the preflight and the
 * sample all read that same chain, so their numbers cannot drift apart. Only how the chain reads
 * each finding's history varies (`HistoryPlan`: probes per finding, or one grouped pass).
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

// The only scopes the builder accepts: fixed text whose values arrive as parameters.
const TENANT_ID_RANGE = 'f.tenant_id = $1 AND f.id BETWEEN $2 AND $3';
const TENANT = 'f.tenant_id = $1';
const TENANT_IDS = 'f.tenant_id = ANY($1::bigint[])';
type Scope = typeof TENANT_ID_RANGE | typeof TENANT | typeof TENANT_IDS;

/**
 * The scopes of `rebuiltFindingsCtes`, with how many parameters each takes first (a caller's
 * own parameters follow): one tenant's id range, one tenant, or several tenants.
 */
export const FINDING_SCOPES = {
  tenantIdRange: { where: TENANT_ID_RANGE, parameters: 3 },
  tenant: { where: TENANT, parameters: 1 },
  tenantIds: { where: TENANT_IDS, parameters: 1 },
} as const satisfies Record<string, { where: Scope; parameters: number }>;

/**
 * How the chain gathers each finding's history; the rules that follow (`derived`, `rebuilt`,
 * `compared`) are one text for both, so the two plans cannot disagree on what they conclude.
 * - `probes`: per finding a few index probes (its detections' aggregate, its latest status
 *   event, its first detection after that event). The cost follows the findings in scope
 *   however large the tables grow: the plan for a batch or a few tenants.
 * - `grouped`: one pass of aggregates grouped by finding, merged or hashed with the findings.
 *   Over several tenants it reads every detection and event, in scope or not, so it pays only
 *   from a large share of the findings on (`countingPlanFor`), e.g. every tenant. Over one
 *   tenant it reads the history of the id range its findings span, other tenants' rows in that
 *   range too, so it pays where they are dense in it (`rangePlanFor`): a batch, or a tenant's
 *   verification, whose findings were inserted together.
 */
export const HISTORY_PLANS = ['probes', 'grouped'] as const;
export type HistoryPlan = (typeof HISTORY_PLANS)[number];

const STATUS_EVENT_TYPES = `('triaged', 'resolved', 'risk_accepted')`;

/**
 * `history` (after `batch`): per finding in scope its columns and its history reduced to
 * first_detected_at, last_detected_at, detections (0 or NULL without any), latest_event_type,
 * latest_event_at (the latest status event: greatest occurred_at, ties by greatest id; NULL
 * without one) and redetected_at (when that event is a resolution, the first detection strictly
 * after it: one at that very instant does not reopen).
 */
function historyCtes(plan: HistoryPlan, scope: Scope): string {
  if (plan === 'probes') {
    return `
history AS (
  SELECT b.*, s.first_detected_at, s.last_detected_at, s.detections,
         e.type AS latest_event_type, e.occurred_at AS latest_event_at, later.detected_at AS redetected_at
    FROM batch b
    LEFT JOIN LATERAL (
      SELECT min(d.detected_at) AS first_detected_at, max(d.detected_at) AS last_detected_at, count(*)::int AS detections
        FROM finding_detections d
       WHERE d.finding_id = b.id
    ) s ON true
    LEFT JOIN LATERAL (
      SELECT e.type, e.occurred_at
        FROM finding_events e
       WHERE e.finding_id = b.id AND e.type IN ${STATUS_EVENT_TYPES}
       ORDER BY e.occurred_at DESC, e.id DESC
       LIMIT 1
    ) e ON true
    -- Strictly after the resolution: a detection at that very instant does not reopen.
    LEFT JOIN LATERAL (
      SELECT min(d.detected_at) AS detected_at
        FROM finding_detections d
       WHERE e.type = 'resolved' AND d.finding_id = b.id AND d.detected_at > e.occurred_at
    ) later ON true
)`;
  }
  // `latest` is read twice and computed twice (NOT MATERIALIZED): each copy comes out sorted by
  // finding id, so every join merges, where one materialized copy costs a re-sort and a hash of
  // every finding (measured on 1,000,000 findings: 0.8 against 1.1 times the raw count's CPU).
  // One tenant's history is read in the id range of its findings in scope, bounded from `batch`
  // itself: the same snapshot, so no finding in scope can fall outside the range.
  const oneTenant = scope !== TENANT_IDS;
  const inRange = (alias: string) => `${alias}.finding_id BETWEEN (SELECT lo FROM bounds) AND (SELECT hi FROM bounds)`;
  return `${oneTenant ? '\nbounds AS (SELECT min(id) AS lo, max(id) AS hi FROM batch),' : ''}
latest AS NOT MATERIALIZED (
  SELECT DISTINCT ON (e.finding_id) e.finding_id, e.type, e.occurred_at
    FROM finding_events e
   WHERE e.type IN ${STATUS_EVENT_TYPES}${oneTenant ? ` AND ${inRange('e')}` : ''}
   ORDER BY e.finding_id, e.occurred_at DESC, e.id DESC
),
seen AS (
  SELECT d.finding_id, min(d.detected_at) AS first_detected_at, max(d.detected_at) AS last_detected_at,
         count(*)::int AS detections,
         -- Strictly after the resolution: a detection at that very instant does not reopen.
         min(d.detected_at) FILTER (WHERE l.type = 'resolved' AND d.detected_at > l.occurred_at) AS redetected_at
    FROM finding_detections d
    LEFT JOIN latest l ON l.finding_id = d.finding_id
   ${oneTenant ? `WHERE ${inRange('d')}` : ''}
   GROUP BY d.finding_id
),
history AS (
  SELECT b.*, s.first_detected_at, s.last_detected_at, s.detections,
         l.type AS latest_event_type, l.occurred_at AS latest_event_at, s.redetected_at
    FROM batch b
    LEFT JOIN seen s ON s.finding_id = b.id
    LEFT JOIN latest l ON l.finding_id = b.id
)`;
}

/**
 * The share of all findings from which a scope is counted with the grouped plan. Measured on
 * 1,000,000 findings (3.2 M detections, 0.9 M events), in CPU time against the raw count of
 * bench/physicalLimit.ts: probes cost about 2 × the share, the grouped pass 0.7 at half of the
 * findings and 0.8-0.9 for all of them (it reads every history row whatever the share), so
 * they break even near a third.
 */
const GROUPED_FROM_SHARE = 1 / 3;

async function estimatedFindings(q: Queryable, where: string, values: unknown[]): Promise<number> {
  const { rows } = await q.query<{ 'QUERY PLAN': Array<{ Plan: { 'Plan Rows': number } }> }>(
    `EXPLAIN (FORMAT JSON) SELECT 1 FROM findings f WHERE ${where}`,
    values,
  );
  return rows[0]!['QUERY PLAN'][0]!.Plan['Plan Rows'];
}

/**
 * The faster plan to count these tenants' findings, from the planner's estimates of how many
 * they hold against all findings (two EXPLAINs, no row read). Only speed depends on it.
 */
export async function countingPlanFor(q: Queryable, tenantIds: number[]): Promise<HistoryPlan> {
  const inScope = await estimatedFindings(q, TENANT_IDS, [tenantIds]);
  const all = await estimatedFindings(q, 'true', []);
  return inScope >= GROUPED_FROM_SHARE * all ? 'grouped' : 'probes';
}

/**
 * The share of an id range that one tenant's findings must hold for its history to be read
 * grouped over the range. Measured over 1,000 and 5,000 findings of a tenant (3.2 detections
 * and 0.9 events each): the grouped plan takes 0.6 of the probes' time when the range holds
 * nothing else, 0.8 (with the batch's writes) for a batch; the two break even near a quarter.
 */
const GROUPED_FROM_DENSITY = 1 / 2;

/** The faster plan for `ids` findings of one tenant spanning ids `fromId` to `toId`. Only speed depends on it. */
export function rangePlanFor(span: { ids: number; fromId: number; toId: number }): HistoryPlan {
  return span.ids >= GROUPED_FROM_DENSITY * (span.toId - span.fromId + 1) ? 'grouped' : 'probes';
}

const INSTANT_FIELDS: ReadonlySet<LifecycleField> = new Set(LIFECYCLE_INSTANT_FIELDS);

/**
 * `WITH ...` ending in `compared`: per finding in scope its id, tenant_id, severity, the current
 * values (named as the columns), the rebuilt values (`new_<field>`), `<field>_changed`, `changed`
 * and `latest_event_at` (its latest status event's instant, NULL without one). Runbooks over the
 * same findings read it too, so that they derive what the rules derive.
 */
export function rebuiltFindingsCtes(scope: Scope, plan: HistoryPlan): string {
  const differs = (field: LifecycleField) => `r.${field} IS DISTINCT FROM r.new_${field}`;
  const flags = LIFECYCLE_FIELDS.map((field) => `${differs(field)} AS ${field}_changed`);
  const anyChanged = LIFECYCLE_FIELDS.map(differs).join(' OR ');
  return `
WITH batch AS (
  SELECT f.id, f.tenant_id, f.severity, f.created_at, ${LIFECYCLE_FIELDS.map((field) => `f.${field}`).join(', ')}
    FROM findings f
   WHERE ${scope}
),${historyCtes(plan, scope)},
derived AS (
  SELECT h.*,
         coalesce(h.first_detected_at, h.created_at) AS new_first_seen_at,
         coalesce(h.last_detected_at, h.created_at) AS new_last_seen_at,
         coalesce(h.detections, 0) AS new_times_seen,
         CASE WHEN h.latest_event_type IS NULL THEN 'new'
              WHEN h.redetected_at IS NOT NULL THEN 'reopened'
              ELSE h.latest_event_type END AS new_status,
         CASE WHEN h.latest_event_type = 'resolved' AND h.redetected_at IS NULL THEN h.latest_event_at END AS new_resolved_at,
         h.redetected_at AS new_reopened_at,
         1 AS new_lifecycle_version, -- RULES_VERSION
         sla.days AS sla_days
    FROM history h
    LEFT JOIN (VALUES ('critical', 3), ('high', 7), ('medium', 30), ('low', 90)) AS sla (severity, days)
      ON sla.severity = h.severity
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
  return LIFECYCLE_FIELDS.map((field) => `count(*) FILTER (WHERE ${alias}${field}_changed)::int AS ${field}`).join(
    ', ',
  );
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
  plan: HistoryPlan = 'probes',
): Promise<BatchRebuildResult> {
  const assignments = LIFECYCLE_FIELDS.map((field) => `${field} = c.new_${field}`).join(', ');
  const { rows } = await q.query(
    `${rebuiltFindingsCtes(TENANT_ID_RANGE, plan)},
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
 * findings a rebuild would examine and change, and how many per field. Either plan gives the
 * same numbers; `grouped` is the faster one for most of the findings, `probes` for a few tenants.
 */
export async function summarizeFindingsToChange(
  q: Queryable,
  tenantIds: number[],
  plan: HistoryPlan = 'probes',
): Promise<TenantChangeSummary[]> {
  if (plan === 'grouped') {
    // Parallel workers would each aggregate every detection again (a worker joins its share of
    // the findings with all of `seen`), three times the work for the same answer on two cores.
    // LOCAL: for the caller's transaction; outside one it holds nowhere, and only speed differs.
    await q.query('SET LOCAL max_parallel_workers_per_gather = 0');
  }
  const totals = ['findings', 'changed', ...LIFECYCLE_FIELDS].map((column) => `coalesce(c.${column}, 0) AS ${column}`);
  // Counted per tenant first, then matched to the requested ids: a row per tenant to join, not
  // one per finding.
  const { rows } = await q.query(
    `${rebuiltFindingsCtes(TENANT_IDS, plan)}
SELECT t.tenant_id, ${totals.join(', ')}
  FROM (SELECT DISTINCT unnest($1::bigint[]) AS tenant_id) t
  LEFT JOIN (
    SELECT c.tenant_id, count(*)::int AS findings, count(*) FILTER (WHERE c.changed)::int AS changed, ${fieldCountColumns('c.')}
      FROM compared c
     GROUP BY c.tenant_id
  ) c ON c.tenant_id = t.tenant_id
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

/** Read-only: how many of one tenant's findings a rebuild would change now. */
export async function countTenantToChange(q: Queryable, tenantId: number, plan: HistoryPlan): Promise<number> {
  const { rows } = await q.query<{ changed: number }>(
    `${rebuiltFindingsCtes(TENANT, plan)}
SELECT count(*) FILTER (WHERE c.changed)::int AS changed FROM compared c`,
    [tenantId],
  );
  return rows[0]!.changed;
}

function isoInstant(column: string): string {
  return `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}

/** The lifecycle columns `c.<prefix><field>` as a JSON object, instants as `YYYY-MM-DDTHH:MM:SS.ffffffZ`. */
export function lifecycleJson(prefix: string): string {
  const pairs = LIFECYCLE_FIELDS.map((field) => {
    const column = `c.${prefix}${field}`;
    return `'${field}', ${INSTANT_FIELDS.has(field) ? isoInstant(column) : column}`;
  });
  return `jsonb_build_object(${pairs.join(', ')})`;
}

/**
 * Read-only: up to `limit` findings that a rebuild would change, by tenant then id, each keyed
 * by its id with the lifecycle fields that change, before and after (in `LIFECYCLE_FIELDS`'
 * order; instants as `YYYY-MM-DDTHH:MM:SS.ffffffZ`). Always by probes: they walk the findings in
 * that order and stop at the `limit`-th change, where the grouped plan would rebuild every
 * finding in scope first.
 */
export async function sampleFindingChanges(q: Queryable, tenantIds: number[], limit: number): Promise<SampleChange[]> {
  const changedFieldNames = LIFECYCLE_FIELDS.map((field) => `CASE WHEN c.${field}_changed THEN '${field}' END`);
  const { rows } = await q.query<{
    id: number;
    changed_fields: LifecycleField[];
    before: Lifecycle<string>;
    after: Lifecycle<string>;
  }>(
    `${rebuiltFindingsCtes(TENANT_IDS, 'probes')}
SELECT c.id, array_remove(ARRAY[${changedFieldNames.join(', ')}], NULL) AS changed_fields,
       ${lifecycleJson('')} AS before, ${lifecycleJson('new_')} AS after
  FROM compared c
 WHERE c.changed
 ORDER BY c.tenant_id, c.id
 LIMIT $2`,
    [tenantIds, limit],
  );
  const only = (fields: LifecycleField[], lifecycle: Lifecycle<string>) =>
    Object.fromEntries(fields.map((field) => [field, lifecycle[field]]));
  return rows.map((row) => ({
    key: String(row.id),
    before: only(row.changed_fields, row.before),
    after: only(row.changed_fields, row.after),
  }));
}
