import type { Queryable } from '../../db/queryable.js';
import type { SampleChange } from '../../runbooks/definition.js';
import {
  FINDING_SCOPES,
  lifecycleJson,
  rebuiltFindingsCtes,
  type HistoryPlan,
} from '../findings-lifecycle/rebuildSql.js';
import { LIFECYCLE_FIELDS } from '../findings-lifecycle/rules.js';
import { SEVERITIES } from './rules.js';

/**
 * Close stale findings (rules.ts) stated set-based in SQL, on the lifecycle's own chain
 * (`rebuiltFindingsCtes`): what the rules derive for a finding is what decides here, and a
 * closed finding's fields are what they derive once the resolution is in its history. The run,
 * the preflight, its sample and the verification all read `flagged`, so their numbers agree.
 */

export interface StaleCriteria {
  /** The run's fixed instant: the cut-off counts back from it, and the resolutions carry it. */
  asOf: Date;
  olderThanDays: number;
  severities: readonly string[];
}

/** Findings closed (or to close), in all and per severity. */
export type SeverityCounts = Record<(typeof SEVERITIES)[number], number>;

type FindingScope = (typeof FINDING_SCOPES)[keyof typeof FINDING_SCOPES];

/**
 * `WITH ...` ending in `flagged`: per finding in scope the chain's columns, `closes` and its
 * lifecycle once closed (`closed_<field>`). The criteria are the three parameters after the
 * scope's: the instant, the days, the severities.
 */
function flaggedCtes(scope: FindingScope, plan: HistoryPlan): string {
  const n = scope.parameters;
  const [asOf, days, severities] = [`$${n + 1}::timestamptz`, `$${n + 2}::int`, `$${n + 3}::text[]`];
  return `${rebuiltFindingsCtes(scope.where, plan)},
flagged AS (
  SELECT c.*,
         (c.new_status IN ('new', 'triaged', 'reopened')
          AND c.severity = ANY(${severities})
          -- Days of exactly 24 hours, as the SLA's: interval '1 day' would follow DST.
          AND c.new_last_seen_at < ${asOf} - make_interval(hours => 24 * ${days})
          -- Acted on after the instant: a resolution at the instant would not be its latest event.
          AND (c.latest_event_at IS NULL OR c.latest_event_at <= ${asOf})) AS closes,
         -- Last seen before the cut-off, so no detection comes after the resolution: it stays resolved.
         'resolved'::text AS closed_status,
         c.new_first_seen_at AS closed_first_seen_at,
         c.new_last_seen_at AS closed_last_seen_at,
         c.new_times_seen AS closed_times_seen,
         NULL::timestamptz AS closed_due_at,
         ${asOf} AS closed_resolved_at,
         NULL::timestamptz AS closed_reopened_at,
         c.new_lifecycle_version AS closed_lifecycle_version
    FROM compared c
)`;
}

const criteriaValues = (criteria: StaleCriteria) => [criteria.asOf, criteria.olderThanDays, criteria.severities];

function severityCountColumns(condition: string): string {
  return SEVERITIES.map(
    (severity) => `count(*) FILTER (WHERE ${condition} AND severity = '${severity}')::int AS ${severity}`,
  ).join(', ');
}

function severityCounts(row: Record<string, unknown>): SeverityCounts {
  return Object.fromEntries(SEVERITIES.map((severity) => [severity, Number(row[severity])])) as SeverityCounts;
}

/**
 * Closes one tenant's stale findings with ids in [fromId, toId] in one statement: a resolution
 * event per finding (actor `runbook:<run id>`, the note, at the instant) and its lifecycle
 * fields, both or neither.
 */
export async function closeStaleBatch(
  q: Queryable,
  batch: { runId: string; tenantId: number; fromId: number; toId: number; note: string },
  criteria: StaleCriteria,
  plan: HistoryPlan,
): Promise<{ examined: number; changed: number; bySeverity: SeverityCounts }> {
  const assignments = LIFECYCLE_FIELDS.map((field) => `${field} = c.closed_${field}`).join(', ');
  const { rows } = await q.query(
    `${flaggedCtes(FINDING_SCOPES.tenantIdRange, plan)},
closing AS (SELECT * FROM flagged WHERE closes),
resolutions AS (
  INSERT INTO finding_events (finding_id, tenant_id, type, actor, note, occurred_at)
  SELECT c.id, c.tenant_id, 'resolved', $7, nullif($8, ''), $4::timestamptz FROM closing c ORDER BY c.id
  RETURNING finding_id
),
closed AS (
  UPDATE findings f
     SET ${assignments}, updated_at = now()
    FROM closing c
   WHERE f.id = c.id
  RETURNING c.severity
)
SELECT (SELECT count(*) FROM batch)::int AS examined, (SELECT count(*) FROM resolutions)::int AS resolutions,
       count(*)::int AS changed, ${severityCountColumns('true')}
  FROM closed`,
    [batch.tenantId, batch.fromId, batch.toId, ...criteriaValues(criteria), `runbook:${batch.runId}`, batch.note],
  );
  const row = rows[0] as Record<string, unknown>;
  return { examined: Number(row.examined), changed: Number(row.changed), bySeverity: severityCounts(row) };
}

/**
 * Read-only: per requested tenant (in id order, zeros for one without findings) its findings
 * and how many a run would close, in all and per severity.
 */
export async function summarizeStaleFindings(
  q: Queryable,
  tenantIds: number[],
  criteria: StaleCriteria,
  plan: HistoryPlan,
): Promise<Array<{ tenantId: number; findings: number; closing: number; bySeverity: SeverityCounts }>> {
  const { rows } = await q.query(
    `${flaggedCtes(FINDING_SCOPES.tenantIds, plan)}
SELECT t.tenant_id, coalesce(c.findings, 0) AS findings, coalesce(c.closing, 0) AS closing,
       ${SEVERITIES.map((severity) => `coalesce(c.${severity}, 0) AS ${severity}`).join(', ')}
  FROM (SELECT DISTINCT unnest($1::bigint[]) AS tenant_id) t
  LEFT JOIN (
    SELECT tenant_id, count(*)::int AS findings, count(*) FILTER (WHERE closes)::int AS closing,
           ${severityCountColumns('closes')}
      FROM flagged
     GROUP BY tenant_id
  ) c ON c.tenant_id = t.tenant_id
 ORDER BY t.tenant_id`,
    [tenantIds, ...criteriaValues(criteria)],
  );
  return rows.map((row: Record<string, unknown>) => ({
    tenantId: Number(row.tenant_id),
    findings: Number(row.findings),
    closing: Number(row.closing),
    bySeverity: severityCounts(row),
  }));
}

/** Read-only: how many of one tenant's findings a run would still close. */
export async function countTenantStale(
  q: Queryable,
  tenantId: number,
  criteria: StaleCriteria,
  plan: HistoryPlan,
): Promise<number> {
  const { rows } = await q.query<{ closing: number }>(
    `${flaggedCtes(FINDING_SCOPES.tenant, plan)}
SELECT count(*) FILTER (WHERE closes)::int AS closing FROM flagged`,
    [tenantId, ...criteriaValues(criteria)],
  );
  return rows[0]!.closing;
}

/**
 * Read-only: up to `limit` findings a run would close, by tenant then id, with their lifecycle
 * before and after. By probes, which stop at the `limit`-th (see sampleFindingChanges).
 */
export async function sampleStaleFindings(
  q: Queryable,
  tenantIds: number[],
  criteria: StaleCriteria,
  limit: number,
): Promise<SampleChange[]> {
  const { rows } = await q.query<{ id: string; before: Record<string, unknown>; after: Record<string, unknown> }>(
    `${flaggedCtes(FINDING_SCOPES.tenantIds, 'probes')}
SELECT c.id, ${lifecycleJson('')} AS before, ${lifecycleJson('closed_')} AS after
  FROM flagged c
 WHERE c.closes
 ORDER BY c.tenant_id, c.id
 LIMIT $5`,
    [tenantIds, ...criteriaValues(criteria), limit],
  );
  return rows.map((row) => ({ key: String(row.id), before: row.before, after: row.after }));
}
