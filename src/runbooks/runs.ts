import { and, asc, desc, eq, inArray, ne, sql, type SQL } from 'drizzle-orm';
import type { SelectedFields, SelectedFieldsFlat } from 'drizzle-orm/pg-core';
import { orm, type Connection } from '../db/orm.js';
import { prepared } from '../db/prepared.js';
import { auditEvents, operationRunItems, operationRuns, preflights, tenants } from '../db/schema/index.js';
import { RUN_FILTERS, RUN_OUTCOMES, type RunFilter, type RunOutcome, type RunTuning } from './model.js';

export type RunRecord = typeof operationRuns.$inferSelect;
export type NewRun = Omit<typeof operationRuns.$inferInsert, 'id' | 'workflowId' | 'status'>;

/** Runs started to retry this run's failed tenants. */
export async function findRetriesOf(
  q: Connection,
  runId: string,
): Promise<Array<Pick<RunRecord, 'id' | 'status' | 'outcome'>>> {
  return orm(q)
    .select({ id: operationRuns.id, status: operationRuns.status, outcome: operationRuns.outcome })
    .from(operationRuns)
    .where(eq(operationRuns.retryOf, runId))
    .orderBy(asc(operationRuns.createdAt));
}

export interface RunItemRecord extends Pick<
  typeof operationRunItems.$inferSelect,
  'tenantId' | 'status' | 'counts' | 'error' | 'startedAt' | 'completedAt'
> {
  externalId: string;
}

export type AuditTrailEntry = Pick<
  typeof auditEvents.$inferSelect,
  'occurredAt' | 'action' | 'actorKind' | 'actorLabel' | 'metadata'
>;

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

/** The size of the scope a run was confirmed against: its preflight's rows in scope, null without one. */
const IN_SCOPE = sql<number | null>`(${preflights.report} ->> 'inScope')::float8`;

/**
 * A run's columns with the size of the scope it was confirmed against, in one prepared query.
 * `Run` is what `columns` select (drizzle cannot infer it through a parameter).
 */
async function readWithScopeSize<Run>(
  q: Connection,
  id: string,
  name: string,
  columns: SelectedFieldsFlat,
): Promise<{ run: Run; inScope: number | null } | null> {
  const runId = normalizeRunId(id);
  if (!runId) return null;
  const query = prepared(q, name, (db, statement) =>
    db
      .select({ run: columns, inScope: IN_SCOPE })
      .from(operationRuns)
      .leftJoin(preflights, eq(preflights.id, operationRuns.preflightId))
      .where(eq(operationRuns.id, sql.placeholder('id')))
      .prepare(statement),
  );
  const [row] = (await query.execute({ id: runId })) as Array<{ run: Run; inScope: number | null }>;
  return row ?? null;
}

/** What a run's live part shows (progress, pace, pause, error, actions): its poll reads no more. */
const RUN_LIVE_COLUMNS = {
  id: operationRuns.id,
  runbook: operationRuns.runbook,
  scopeKind: operationRuns.scopeKind,
  status: operationRuns.status,
  outcome: operationRuns.outcome,
  counts: operationRuns.counts,
  error: operationRuns.error,
  startedAt: operationRuns.startedAt,
  completedAt: operationRuns.completedAt,
  pausedAt: operationRuns.pausedAt,
  pausedBy: operationRuns.pausedBy,
  pauseReason: operationRuns.pauseReason,
  pausedMs: operationRuns.pausedMs,
  cancelRequestedAt: operationRuns.cancelRequestedAt,
  heldSince: operationRuns.heldSince,
  heldReason: operationRuns.heldReason,
  heldMs: operationRuns.heldMs,
  settings: operationRuns.settings,
  windowOpensAt: operationRuns.windowOpensAt,
} satisfies SelectedFields;

export type RunLive = Pick<RunRecord, keyof typeof RUN_LIVE_COLUMNS>;

/** The live part of a run with the size of its scope, in one query: what the run page polls for. */
export async function getRunLive(q: Connection, id: string): Promise<{ run: RunLive; inScope: number | null } | null> {
  return readWithScopeSize<RunLive>(q, id, 'run_live', RUN_LIVE_COLUMNS);
}

export async function findRunByIdempotencyKey(q: Connection, key: string): Promise<RunRecord | null> {
  const [run] = await orm(q).select().from(operationRuns).where(eq(operationRuns.idempotencyKey, key));
  return run ?? null;
}

/** Runs of a runbook that still hold their scope (queued or running), oldest first. */
/** The active runs of these runbooks, oldest first. */
export async function findActiveRuns(q: Connection, runbooks: readonly string[]): Promise<RunRecord[]> {
  return orm(q)
    .select()
    .from(operationRuns)
    .where(and(inArray(operationRuns.runbook, [...runbooks]), ne(operationRuns.status, 'completed')))
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

export interface RunsFilter {
  status?: RunFilter;
  runbook?: string;
  /** Runs started by this initiator (its label: an operator's email, the CLI's user@host). */
  initiator?: string;
  limit?: number;
  /** The last run of the previous page. */
  before?: string;
}

/** What the console's runs list shows of a run: its page reads no more. */
const RUN_SUMMARY_COLUMNS = {
  id: operationRuns.id,
  runbook: operationRuns.runbook,
  scope: operationRuns.scope,
  status: operationRuns.status,
  outcome: operationRuns.outcome,
  source: operationRuns.source,
  initiatorLabel: operationRuns.initiatorLabel,
  reason: operationRuns.reason,
  counts: operationRuns.counts,
  createdAt: operationRuns.createdAt,
  pausedAt: operationRuns.pausedAt,
  cancelRequestedAt: operationRuns.cancelRequestedAt,
  heldSince: operationRuns.heldSince,
} satisfies SelectedFields;

export type RunSummary = Pick<RunRecord, keyof typeof RUN_SUMMARY_COLUMNS>;

/** The filters a page may have. */
const FILTERS = ['status', 'runbook', 'initiator', 'before'] as const;

/**
 * Each filter as fixed SQL text. A page filtered by status names it in the statement rather
 * than as a parameter, so that PostgreSQL plans it for that filter even when it reuses the
 * prepared plan: a plan made for any status reads every run backwards (the partial index of
 * active runs only applies when the planner can see the status is not `completed`).
 */
const ACTIVE = "status <> 'completed'";
const FILTER_SQL: Record<RunFilter, string> = {
  queued: "status = 'queued' AND paused_at IS NULL AND cancel_requested_at IS NULL",
  running: "status = 'running' AND held_since IS NULL AND paused_at IS NULL AND cancel_requested_at IS NULL",
  held: "status = 'running' AND held_since IS NOT NULL AND paused_at IS NULL AND cancel_requested_at IS NULL",
  paused: `${ACTIVE} AND paused_at IS NOT NULL AND cancel_requested_at IS NULL`,
  cancelling: `${ACTIVE} AND cancel_requested_at IS NOT NULL`,
  completed: "status = 'completed'",
  ...(Object.fromEntries(
    RUN_OUTCOMES.map((outcome) => [outcome, `status = 'completed' AND outcome = '${outcome}'`]),
  ) as Record<RunOutcome, string>),
};

function filterSql(status: RunFilter): SQL {
  const text = FILTER_SQL[status];
  if (!text) throw new Error(`unknown run status "${status}"; the statuses are ${RUN_FILTERS.join(', ')}`);
  return sql.raw(`(${text})`);
}

/**
 * Runs newest first, a page at a time by keyset: `before` is the last run of the previous
 * page, so a page costs the same however deep it is and a run started meanwhile shifts
 * nothing. The cursor's own row gives the position, at the database's full timestamp precision.
 * Each combination of filters (and each status) is a statement of its own, with the other
 * values as parameters.
 */
function runsPage(statement: string, filter: RunsFilter) {
  const used = FILTERS.filter((key) => filter[key]);
  const status = filter.status && filterSql(filter.status);
  return {
    name: `${statement}_by_${used.map((key) => (key === 'status' ? `status_${filter.status}` : key)).join('_') || 'nothing'}`,
    /** Built only when the statement is (once per connection). */
    where: () => {
      const where: SQL[] = [];
      if (status) where.push(status);
      if (used.includes('runbook')) where.push(eq(operationRuns.runbook, sql.placeholder('runbook')));
      if (used.includes('initiator')) where.push(eq(operationRuns.initiatorLabel, sql.placeholder('initiator')));
      if (used.includes('before')) {
        where.push(
          sql`(${operationRuns.createdAt}, ${operationRuns.id}) < (SELECT created_at, id FROM operation_runs WHERE id = ${sql.placeholder('before')})`,
        );
      }
      return and(...where);
    },
    order: () => [desc(operationRuns.createdAt), desc(operationRuns.id)],
    values: {
      runbook: filter.runbook,
      initiator: filter.initiator,
      before: filter.before && normalizeRunId(filter.before),
      limit: filter.limit ?? 50,
    },
  };
}

/** A page of whole runs (the CLI's `runs list`). */
export async function listRuns(q: Connection, filter: RunsFilter = {}): Promise<RunRecord[]> {
  const page = runsPage('runs_page', filter);
  const query = prepared(q, page.name, (db, name) =>
    db
      .select()
      .from(operationRuns)
      .where(page.where())
      .orderBy(...page.order())
      .limit(sql.placeholder('limit'))
      .prepare(name),
  );
  return query.execute(page.values);
}

/** A page of runs with only what the console's list shows. */
export async function listRunSummaries(q: Connection, filter: RunsFilter = {}): Promise<RunSummary[]> {
  const page = runsPage('run_summaries_page', filter);
  const query = prepared(q, page.name, (db, name) =>
    db
      .select(RUN_SUMMARY_COLUMNS)
      .from(operationRuns)
      .where(page.where())
      .orderBy(...page.order())
      .limit(sql.placeholder('limit'))
      .prepare(name),
  );
  return query.execute(page.values);
}

/**
 * The time a pause that ends now was worth, added to the run's paused time: counted from when
 * the run started (a run paused while queued had no work to stop until then).
 */
const PAUSE_ENDING_NOW = sql`${operationRuns.pausedMs} + coalesce(
  (extract(epoch FROM now() - greatest(${operationRuns.pausedAt}, coalesce(${operationRuns.startedAt}, now()))) * 1000)::bigint,
  0)`;

/**
 * Records who paused an active run and why, or (null) that it resumed, adding the pause's time
 * to the run's paused time. A completed run is left as it is.
 */
export async function recordRunPause(
  q: Connection,
  runId: string,
  pause: { by: string; reason: string | null } | null,
): Promise<void> {
  await orm(q)
    .update(operationRuns)
    .set(
      pause
        ? { pausedBy: pause.by, pausedAt: new Date(), pauseReason: pause.reason }
        : { pausedBy: null, pausedAt: null, pauseReason: null, pausedMs: PAUSE_ENDING_NOW },
    )
    .where(and(eq(operationRuns.id, runId), ne(operationRuns.status, 'completed')));
}

/** Records when the change window a run waits for opens (null: it waits for none). */
export async function recordWindowWait(q: Connection, runId: string, opensAt: Date | null): Promise<void> {
  await orm(q)
    .update(operationRuns)
    .set({ windowOpensAt: opensAt })
    .where(and(eq(operationRuns.id, runId), ne(operationRuns.status, 'completed')));
}

/** Records that a cancel was asked for an active run: it is cancelling until it completes. */
export async function recordCancelRequest(q: Connection, runId: string): Promise<void> {
  await orm(q)
    .update(operationRuns)
    .set({ cancelRequestedAt: sql`coalesce(${operationRuns.cancelRequestedAt}, now())` })
    .where(and(eq(operationRuns.id, runId), ne(operationRuns.status, 'completed')));
}

/** Records the settings a run goes on with after a tune. */
export async function recordRunTuning(q: Connection, runId: string, tuning: RunTuning): Promise<void> {
  await orm(q).update(operationRuns).set({ settings: tuning }).where(eq(operationRuns.id, runId));
}

export async function getRunItems(q: Connection, runId: string): Promise<RunItemRecord[]> {
  const query = prepared(q, 'run_items', (db, name) =>
    db
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
      .where(eq(operationRunItems.runId, sql.placeholder('runId')))
      .orderBy(asc(operationRunItems.tenantId))
      .prepare(name),
  );
  return query.execute({ runId });
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
