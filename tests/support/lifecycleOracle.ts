import type pg from 'pg';
import type { FieldCounts, TenantChangeSummary } from '../../src/catalog/findings-lifecycle/rebuildSql.js';
import {
  LIFECYCLE_FIELDS,
  rebuildLifecycle,
  type Lifecycle,
  type LifecycleRebuild,
} from '../../src/catalog/findings-lifecycle/rules.js';

const micros = (column: string) => `(extract(epoch FROM ${column}) * 1000000)::bigint`;
const toNumber = (value: unknown) => (value === null ? null : Number(value));

export interface FindingState {
  id: number;
  tenantId: number;
  current: Lifecycle;
  /** What the pure rules make of the finding's history. */
  expected: LifecycleRebuild;
  updatedAt: Date;
}

/**
 * Every finding of the given tenants with its stored lifecycle and the pure function's verdict
 * on its history: the oracle that the SQL rebuild and the runs are checked against.
 */
export async function loadFindingStates(pool: pg.Pool, tenantIds: number[]): Promise<Map<number, FindingState>> {
  const { rows } = await pool.query(
    `SELECT f.id, f.tenant_id, f.severity, ${micros('f.created_at')} AS created_at, f.status, f.times_seen,
            f.lifecycle_version, f.updated_at,
            ${['first_seen_at', 'last_seen_at', 'due_at', 'resolved_at', 'reopened_at'].map((c) => `${micros(`f.${c}`)} AS ${c}`).join(', ')},
            coalesce((SELECT array_agg(${micros('d.detected_at')}) FROM finding_detections d WHERE d.finding_id = f.id), '{}') AS detections,
            coalesce((SELECT jsonb_agg(jsonb_build_object('id', e.id, 'type', e.type, 'occurred_at', ${micros('e.occurred_at')}))
                        FROM finding_events e WHERE e.finding_id = f.id), '[]') AS events
       FROM findings f WHERE f.tenant_id = ANY($1::bigint[]) ORDER BY f.id`,
    [tenantIds],
  );
  const states = new Map<number, FindingState>();
  for (const row of rows) {
    const current = Object.fromEntries(LIFECYCLE_FIELDS.map((field) => [field, row[field]])) as unknown as Lifecycle;
    for (const field of ['first_seen_at', 'last_seen_at', 'due_at', 'resolved_at', 'reopened_at'] as const) {
      current[field] = toNumber(row[field]);
    }
    const history = {
      severity: row.severity,
      created_at: Number(row.created_at),
      current,
      detections: (row.detections as string[]).map(Number),
      events: (row.events as Array<{ id: number; type: string; occurred_at: number }>).map((e) => ({
        ...e,
        id: Number(e.id),
        occurred_at: Number(e.occurred_at),
      })),
    };
    states.set(Number(row.id), {
      id: Number(row.id),
      tenantId: Number(row.tenant_id),
      current,
      expected: rebuildLifecycle(history),
      updatedAt: row.updated_at,
    });
  }
  return states;
}

/** Findings per tenant that the rules say must change. */
export function expectedChangesByTenant(states: Map<number, FindingState>): Map<number, number> {
  const byTenant = new Map<number, number>();
  for (const state of states.values()) {
    if (state.expected.changedFields.length > 0) byTenant.set(state.tenantId, (byTenant.get(state.tenantId) ?? 0) + 1);
  }
  return byTenant;
}

/**
 * What summarizeFindingsToChange must answer for `tenantIds` (in id order, each once, zeros for
 * a tenant without findings), by the pure rules: the same for either plan.
 */
export function expectedSummaries(states: Map<number, FindingState>, tenantIds: number[]): TenantChangeSummary[] {
  const zeros = () => Object.fromEntries(LIFECYCLE_FIELDS.map((field) => [field, 0])) as FieldCounts;
  const byTenant = new Map(
    [...new Set(tenantIds)].map((tenantId) => [tenantId, { tenantId, findings: 0, changed: 0, fields: zeros() }]),
  );
  for (const state of states.values()) {
    const summary = byTenant.get(state.tenantId);
    if (!summary) continue;
    summary.findings += 1;
    if (state.expected.changedFields.length > 0) summary.changed += 1;
    for (const field of state.expected.changedFields) summary.fields[field] += 1;
  }
  return [...byTenant.values()].sort((a, b) => a.tenantId - b.tenantId);
}
