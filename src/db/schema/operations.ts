import { sql } from 'drizzle-orm';
import {
  bigint,
  index,
  jsonb,
  pgTable,
  primaryKey,
  text,
  uniqueIndex,
  uuid,
  type AnyPgColumn,
} from 'drizzle-orm/pg-core';
import { platformUsers } from './auth.js';
import { createdAt, tstz } from './columns.js';
import { tenants, workspaces } from './tenancy.js';
import type { ItemStatus, RunCounts, RunGuards, RunTuning, StoredScope, TenantCounts } from '../../runbooks/model.js';

export const preflights = pgTable('preflights', {
  id: uuid('id').primaryKey().defaultRandom(),
  runbook: text('runbook').notNull(),
  scopeKind: text('scope_kind').notNull(),
  scope: jsonb('scope').notNull(),
  /** The runbook's parameters it was computed for, canonical; `{}` for none. */
  parameters: jsonb('parameters').$type<Record<string, unknown>>().notNull().default({}),
  /** The one "now" its counts and the run's work are computed at. */
  asOf: tstz('as_of').notNull().defaultNow(),
  report: jsonb('report').notNull(),
  contentHash: text('content_hash').notNull(),
  createdBy: text('created_by').notNull(),
  createdAt: createdAt(),
});

export const operationRuns = pgTable(
  'operation_runs',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    workspaceId: bigint('workspace_id', { mode: 'number' })
      .notNull()
      .references(() => workspaces.id),
    runbook: text('runbook').notNull(),
    scopeKind: text('scope_kind', { enum: ['tenant', 'tenants', 'all_tenants'] }).notNull(),
    scope: jsonb('scope').$type<StoredScope>().notNull(),
    /** Its preflight's parameters and instant: what every batch and the verification use. */
    parameters: jsonb('parameters').$type<Record<string, unknown>>().notNull().default({}),
    asOf: tstz('as_of').notNull().defaultNow(),
    status: text('status', { enum: ['queued', 'running', 'completed'] })
      .notNull()
      .default('queued'),
    outcome: text('outcome', { enum: ['succeeded', 'partially_succeeded', 'failed', 'cancelled'] }),
    source: text('source', { enum: ['system_ui', 'cli', 'deploy_hook', 'admin_trigger'] }).notNull(),
    initiatorPlatformUserId: bigint('initiator_platform_user_id', { mode: 'number' }).references(
      () => platformUsers.id,
    ),
    initiatorLabel: text('initiator_label').notNull(),
    reason: text('reason').notNull(),
    idempotencyKey: text('idempotency_key').unique(),
    workflowId: text('workflow_id'),
    counts: jsonb('counts').$type<RunCounts>().notNull().default({}),
    preflightId: uuid('preflight_id').references(() => preflights.id),
    error: text('error'),
    createdAt: createdAt(),
    startedAt: tstz('started_at'),
    completedAt: tstz('completed_at'),
    // Set while the run is paused (by an operator, or by itself: canary, error budget); the
    // workflow carries the same state.
    pausedAt: tstz('paused_at'),
    pausedBy: text('paused_by'),
    pauseReason: text('pause_reason'),
    /** Time spent paused by the pauses that have ended: a run's rate counts only its working time. */
    pausedMs: bigint('paused_ms', { mode: 'number' }).notNull().default(0),
    /** Set when a cancel was asked for: the run is cancelling until its workflows complete it. */
    cancelRequestedAt: tstz('cancel_requested_at'),
    /** Since when a health gate holds the run (no tenant starts a batch), and which, with its measure. */
    heldSince: tstz('held_since'),
    heldReason: text('held_reason'),
    /** Time spent held by the health gates before the hold going on, if any. */
    heldMs: bigint('held_ms', { mode: 'number' }).notNull().default(0),
    /** What the run goes on with, as started and as tuned since: shown on its page. */
    settings: jsonb('settings').$type<Partial<RunTuning>>().notNull().default({}),
    /** Error budget and canary wave the run was started with; empty for none. */
    guards: jsonb('guards').$type<RunGuards>().notNull().default({}),
    /** The run whose failed tenants this run retries. */
    retryOf: uuid('retry_of').references((): AnyPgColumn => operationRuns.id),
    /** The change request whose approval started it (`change_requests.run_id` points back). */
    changeRequestId: uuid('change_request_id'),
    /** Who approved it, by email, in the order they did; null for a run that needed no approval. */
    approvedBy: text('approved_by').array(),
    /** Set while it waits for a change window (queued, or paused at a cutoff): when the next one opens. */
    windowOpensAt: tstz('window_opens_at'),
  },
  (t) => [
    // The overlap lock only ever looks at active runs of one runbook.
    index('operation_runs_active_idx')
      .on(t.runbook)
      .where(sql`${t.status} <> 'completed'`),
    // The runs list's keyset order (newest first, the id breaking ties; read backwards), and the same for the
    // active runs, so a status filter of a few runs among many reads only those.
    index('operation_runs_list_idx').on(t.createdAt, t.id),
    index('operation_runs_active_list_idx')
      .on(t.createdAt, t.id)
      .where(sql`${t.status} <> 'completed'`),
  ],
);

export const operationRunItems = pgTable(
  'operation_run_items',
  {
    runId: uuid('run_id')
      .notNull()
      .references(() => operationRuns.id),
    tenantId: bigint('tenant_id', { mode: 'number' })
      .notNull()
      .references(() => tenants.id),
    status: text('status').$type<ItemStatus>().notNull(),
    counts: jsonb('counts')
      .$type<TenantCounts>()
      .notNull()
      .default({} as TenantCounts),
    error: text('error'),
    startedAt: tstz('started_at'),
    completedAt: tstz('completed_at'),
    /** Since when the health gates hold this tenant: its run is held while any of its tenants is. */
    heldSince: tstz('held_since'),
    /** When its work last moved (a batch committed, the tenant started or settled): a stuck run's age. */
    progressAt: tstz('progress_at'),
  },
  (t) => [primaryKey({ columns: [t.runId, t.tenantId] })],
);

export const auditEvents = pgTable(
  'audit_events',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    occurredAt: tstz('occurred_at').notNull().defaultNow(),
    actorKind: text('actor_kind').notNull(),
    actorId: text('actor_id'),
    actorLabel: text('actor_label'),
    action: text('action').notNull(),
    targetKind: text('target_kind'),
    targetId: text('target_id'),
    ip: text('ip'),
    userAgent: text('user_agent'),
    metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default({}),
  },
  (t) => [
    index('audit_events_target_idx').on(t.targetKind, t.targetId, t.occurredAt),
    index('audit_events_occurred_at_idx').on(t.occurredAt),
  ],
);

export const notifications = pgTable(
  'notifications',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    platformUserId: bigint('platform_user_id', { mode: 'number' })
      .notNull()
      .references(() => platformUsers.id),
    type: text('type').notNull(),
    data: jsonb('data').$type<Record<string, unknown>>().notNull().default({}),
    readAt: tstz('read_at'),
    createdAt: createdAt(),
  },
  (t) => [
    // An operator's list, newest first, a page at a time by id.
    index('notifications_user_id_idx').on(t.platformUserId, t.id),
    // The header's unread count on every page: only the unread rows, however many were read.
    index('notifications_user_unread_idx')
      .on(t.platformUserId)
      .where(sql`${t.readAt} is null`),
    // At most one completion notice per run, however often the finalizing activity is retried.
    uniqueIndex('notifications_run_completed_unique')
      .on(t.platformUserId, sql`(${t.data} ->> 'runId')`)
      .where(sql`${t.type} = 'OperationRunCompleted'`),
  ],
);
