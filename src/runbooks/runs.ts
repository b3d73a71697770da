import type { Queryable } from '../db/queryable.js';
import type { ItemStatus } from '../workflows/inputs.js';
import type { TenantCounts } from './definition.js';
import type { RunOutcome, RunStatus } from './runStatus.js';
import type { ScopeKind, StoredScope } from './scope.js';

export type RunSource = 'system_ui' | 'cli' | 'deploy_hook';

export interface RunCounts {
  tenants?: number;
  tenantsPending?: number;
  tenantsRunning?: number;
  tenantsSucceeded?: number;
  tenantsFailed?: number;
  tenantsCancelled?: number;
  examined?: number;
  changed?: number;
  batches?: number;
  breakdown?: Record<string, number>;
}

export interface RunRecord {
  id: string;
  workspaceId: number;
  runbook: string;
  scopeKind: ScopeKind;
  scope: StoredScope;
  status: RunStatus;
  outcome: RunOutcome | null;
  source: RunSource;
  initiatorPlatformUserId: number | null;
  initiatorLabel: string;
  reason: string;
  idempotencyKey: string | null;
  workflowId: string | null;
  counts: RunCounts;
  preflightId: string | null;
  error: string | null;
  createdAt: Date;
  startedAt: Date | null;
  completedAt: Date | null;
}

export interface RunItemRecord {
  tenantId: number;
  externalId: string;
  status: ItemStatus;
  counts: TenantCounts;
  error: string | null;
  startedAt: Date | null;
  completedAt: Date | null;
}

export const RUN_COLUMNS = `id, workspace_id::int AS "workspaceId", runbook, scope_kind AS "scopeKind", scope, status, outcome,
  source, initiator_platform_user_id::int AS "initiatorPlatformUserId", initiator_label AS "initiatorLabel", reason,
  idempotency_key AS "idempotencyKey", workflow_id AS "workflowId", counts, preflight_id AS "preflightId", error,
  created_at AS "createdAt", started_at AS "startedAt", completed_at AS "completedAt"`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function getRun(q: Queryable, id: string): Promise<RunRecord | null> {
  if (!UUID.test(id)) return null;
  const { rows } = await q.query<RunRecord>(`SELECT ${RUN_COLUMNS} FROM operation_runs WHERE id = $1`, [id]);
  return rows[0] ?? null;
}

export async function listRuns(
  q: Queryable,
  filter: { status?: RunStatus; runbook?: string; limit?: number; offset?: number } = {},
): Promise<RunRecord[]> {
  const { rows } = await q.query<RunRecord>(
    `SELECT ${RUN_COLUMNS} FROM operation_runs
      WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR runbook = $2)
      ORDER BY created_at DESC, id LIMIT $3 OFFSET $4`,
    [filter.status ?? null, filter.runbook ?? null, filter.limit ?? 50, filter.offset ?? 0],
  );
  return rows;
}

export async function getRunItems(q: Queryable, runId: string): Promise<RunItemRecord[]> {
  const { rows } = await q.query<RunItemRecord>(
    `SELECT i.tenant_id::int AS "tenantId", t.external_id AS "externalId", i.status, i.counts, i.error,
            i.started_at AS "startedAt", i.completed_at AS "completedAt"
       FROM operation_run_items i JOIN tenants t ON t.id = i.tenant_id
      WHERE i.run_id = $1 ORDER BY i.tenant_id`,
    [runId],
  );
  return rows;
}

export async function getRunAuditTrail(q: Queryable, runId: string) {
  const { rows } = await q.query(
    `SELECT occurred_at AS "occurredAt", action, actor_kind AS "actorKind", actor_label AS "actorLabel", metadata
       FROM audit_events WHERE target_kind = 'operation_run' AND target_id = $1 ORDER BY occurred_at, id`,
    [runId],
  );
  return rows as Array<{ occurredAt: Date; action: string; actorKind: string; actorLabel: string | null; metadata: Record<string, unknown> }>;
}
