import { and, asc, desc, eq, ne, type SQL } from 'drizzle-orm';
import { orm, type Connection } from '../db/orm.js';
import { auditEvents, operationRunItems, operationRuns, tenants } from '../db/schema/index.js';
import type { RunStatus } from './runStatus.js';

export type RunSource = 'system_ui' | 'cli' | 'deploy_hook';

/** Run totals, always derived from the run's items (`refreshRunCounts`). */
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

/** What stops a run on its own to let an operator look: too many failed tenants, or a canary wave. */
export interface RunGuards {
  /** Pause when more tenants than this have failed. */
  maxFailedTenants?: number;
  /** Pause when more than this share (0–100) of the run's tenants have failed. */
  maxFailedPercent?: number;
  /** Run this many tenants first (the named ones, or the first by id), then pause for a go-ahead. */
  canary?: { count: number; tenantIds?: number[] };
}

export type RunRecord = typeof operationRuns.$inferSelect;
export type NewRun = Omit<typeof operationRuns.$inferInsert, 'id' | 'workflowId' | 'status'>;

/** Runs started to retry this run's failed tenants. */
export async function findRetriesOf(q: Connection, runId: string): Promise<Array<Pick<RunRecord, 'id' | 'status' | 'outcome'>>> {
  return orm(q)
    .select({ id: operationRuns.id, status: operationRuns.status, outcome: operationRuns.outcome })
    .from(operationRuns)
    .where(eq(operationRuns.retryOf, runId))
    .orderBy(asc(operationRuns.createdAt));
}

export interface RunItemRecord extends Pick<typeof operationRunItems.$inferSelect, 'tenantId' | 'status' | 'counts' | 'error' | 'startedAt' | 'completedAt'> {
  externalId: string;
}

export type AuditTrailEntry = Pick<typeof auditEvents.$inferSelect, 'occurredAt' | 'action' | 'actorKind' | 'actorLabel' | 'metadata'>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A run id as stored (lower case), or null when it cannot be one. */
export function normalizeRunId(id: string): string | null {
  const trimmed = id.trim();
  return UUID.test(trimmed) ? trimmed.toLowerCase() : null;
}

export async function getRun(q: Connection, id: string): Promise<RunRecord | null> {
  const runId = normalizeRunId(id);
  if (!runId) return null;
  const [run] = await orm(q).select().from(operationRuns).where(eq(operationRuns.id, runId));
  return run ?? null;
}

export async function findRunByIdempotencyKey(q: Connection, key: string): Promise<RunRecord | null> {
  const [run] = await orm(q).select().from(operationRuns).where(eq(operationRuns.idempotencyKey, key));
  return run ?? null;
}

/** Runs of a runbook that still hold their scope (queued or running), oldest first. */
export async function findActiveRuns(q: Connection, runbook: string): Promise<RunRecord[]> {
  return orm(q)
    .select()
    .from(operationRuns)
    .where(and(eq(operationRuns.runbook, runbook), ne(operationRuns.status, 'completed')))
    .orderBy(asc(operationRuns.createdAt));
}

/** Writes a queued run, its id and workflow id in one INSERT. */
export async function insertRun(q: Connection, run: NewRun & { id: string; workflowId: string }): Promise<RunRecord> {
  const [inserted] = await orm(q)
    .insert(operationRuns)
    .values({ ...run, status: 'queued' })
    .returning();
  return inserted!;
}

export async function listRuns(
  q: Connection,
  filter: { status?: RunStatus; runbook?: string; limit?: number; offset?: number } = {},
): Promise<RunRecord[]> {
  const where: SQL[] = [];
  if (filter.status) where.push(eq(operationRuns.status, filter.status));
  if (filter.runbook) where.push(eq(operationRuns.runbook, filter.runbook));
  return orm(q)
    .select()
    .from(operationRuns)
    .where(and(...where))
    .orderBy(desc(operationRuns.createdAt), asc(operationRuns.id))
    .limit(filter.limit ?? 50)
    .offset(filter.offset ?? 0);
}

/** Records who paused an active run (null: resumed). A completed run is left as it is. */
export async function recordRunPause(q: Connection, runId: string, pausedBy: string | null): Promise<void> {
  await orm(q)
    .update(operationRuns)
    .set({ pausedBy, pausedAt: pausedBy === null ? null : new Date(), pauseReason: null })
    .where(and(eq(operationRuns.id, runId), ne(operationRuns.status, 'completed')));
}

export async function getRunItems(q: Connection, runId: string): Promise<RunItemRecord[]> {
  return orm(q)
    .select({
      tenantId: operationRunItems.tenantId,
      externalId: tenants.externalId,
      status: operationRunItems.status,
      counts: operationRunItems.counts,
      error: operationRunItems.error,
      startedAt: operationRunItems.startedAt,
      completedAt: operationRunItems.completedAt,
    })
    .from(operationRunItems)
    .innerJoin(tenants, eq(tenants.id, operationRunItems.tenantId))
    .where(eq(operationRunItems.runId, runId))
    .orderBy(asc(operationRunItems.tenantId));
}

export async function getRunAuditTrail(q: Connection, runId: string): Promise<AuditTrailEntry[]> {
  return orm(q)
    .select({
      occurredAt: auditEvents.occurredAt,
      action: auditEvents.action,
      actorKind: auditEvents.actorKind,
      actorLabel: auditEvents.actorLabel,
      metadata: auditEvents.metadata,
    })
    .from(auditEvents)
    .where(and(eq(auditEvents.targetKind, 'operation_run'), eq(auditEvents.targetId, runId)))
    .orderBy(asc(auditEvents.occurredAt), asc(auditEvents.id));
}
