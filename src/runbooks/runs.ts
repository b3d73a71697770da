import { and, asc, desc, eq, ne, sql, type SQL } from 'drizzle-orm';
import { orm, type Connection } from '../db/orm.js';
import { auditEvents, operationRunItems, operationRuns, preflights, tenants } from '../db/schema/index.js';
import type { RunStatus } from './runStatus.js';

export type RunSource = 'system_ui' | 'cli' | 'deploy_hook' | 'admin_trigger';

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

/** The reason an audited action was given (a pause, a tune, a cancel), if it was given one. */
export function auditReason(entry: AuditTrailEntry): string | null {
  const reason = (entry.metadata as { reason?: unknown } | null)?.reason;
  return typeof reason === 'string' ? reason : null;
}

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

/**
 * A run with the size of the scope it was confirmed against (its preflight's findings in
 * scope, null without one), in one query: what a live progress view polls for.
 */
export async function getRunProgress(q: Connection, id: string): Promise<{ run: RunRecord; inScope: number | null } | null> {
  const runId = normalizeRunId(id);
  if (!runId) return null;
  const [row] = await orm(q)
    .select({ run: operationRuns, inScope: sql<number | null>`(${preflights.report} ->> 'inScope')::float8` })
    .from(operationRuns)
    .leftJoin(preflights, eq(preflights.id, operationRuns.preflightId))
    .where(eq(operationRuns.id, runId));
  return row ?? null;
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

/**
 * Runs newest first, a page at a time by keyset: `before` is the last run of the previous
 * page, so a page costs the same however deep it is and a run started meanwhile shifts
 * nothing. The cursor's own row gives the position, at the database's full timestamp precision.
 */
export async function listRuns(
  q: Connection,
  filter: { status?: RunStatus; runbook?: string; limit?: number; before?: string } = {},
): Promise<RunRecord[]> {
  const where: SQL[] = [];
  if (filter.status) where.push(eq(operationRuns.status, filter.status));
  if (filter.runbook) where.push(eq(operationRuns.runbook, filter.runbook));
  if (filter.before) {
    where.push(
      sql`(${operationRuns.createdAt}, ${operationRuns.id}) < (SELECT created_at, id FROM operation_runs WHERE id = ${normalizeRunId(filter.before)})`,
    );
  }
  return orm(q)
    .select()
    .from(operationRuns)
    .where(and(...where))
    .orderBy(desc(operationRuns.createdAt), desc(operationRuns.id))
    .limit(filter.limit ?? 50);
}

/** Records who paused an active run and why (null: resumed). A completed run is left as it is. */
export async function recordRunPause(q: Connection, runId: string, pause: { by: string; reason: string | null } | null): Promise<void> {
  await orm(q)
    .update(operationRuns)
    .set({ pausedBy: pause?.by ?? null, pausedAt: pause ? new Date() : null, pauseReason: pause?.reason ?? null })
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
