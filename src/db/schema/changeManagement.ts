import { sql } from 'drizzle-orm';
import { bigint, index, integer, jsonb, pgTable, primaryKey, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { platformUsers } from './auth.js';
import { createdAt, tstz } from './columns.js';
import { operationRuns, preflights } from './operations.js';
import { CHANGE_STATUSES, type FiledStart, type RunGuards, type StoredScope } from '../../runbooks/model.js';

/**
 * One switch for every run (`runs stop-all`): while a row is not lifted, every active run it
 * found is paused and every start is refused. It keeps the runs it paused, so that lifting it
 * (`runs resume-all`) resumes those and no other.
 */
export const runStops = pgTable(
  'run_stops',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    reason: text('reason').notNull(),
    stoppedByLabel: text('stopped_by_label').notNull(),
    stoppedByPlatformUserId: bigint('stopped_by_platform_user_id', { mode: 'number' }).references(
      () => platformUsers.id,
    ),
    /** The runs it paused: those active and not paused already. */
    runIds: uuid('run_ids')
      .array()
      .notNull()
      .default(sql`'{}'::uuid[]`),
    createdAt: createdAt(),
    liftedAt: tstz('lifted_at'),
    liftedByLabel: text('lifted_by_label'),
    liftReason: text('lift_reason'),
  },
  (t) => [
    // At most one stop holds at a time.
    uniqueIndex('run_stops_one_active')
      .on(sql`(true)`)
      .where(sql`${t.liftedAt} is null`),
  ],
);

/**
 * A start that needs approval (`APPROVALS`): everything the run will be written from, bound to
 * the preflight the requester confirmed. A run is written only once it is approved.
 */
export const changeRequests = pgTable(
  'change_requests',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    runbook: text('runbook').notNull(),
    scopeKind: text('scope_kind', { enum: ['tenant', 'tenants', 'all_tenants'] }).notNull(),
    scope: jsonb('scope').$type<StoredScope>().notNull(),
    parameters: jsonb('parameters').$type<Record<string, unknown>>().notNull().default({}),
    preflightId: uuid('preflight_id')
      .notNull()
      .references(() => preflights.id),
    reason: text('reason').notNull(),
    guards: jsonb('guards').$type<RunGuards>().notNull().default({}),
    requesterPlatformUserId: bigint('requester_platform_user_id', { mode: 'number' }).references(
      () => platformUsers.id,
    ),
    requesterLabel: text('requester_label').notNull(),
    status: text('status', { enum: CHANGE_STATUSES }).notNull().default('open'),
    approvalsRequired: integer('approvals_required').notNull(),
    expiresAt: tstz('expires_at').notNull(),
    runId: uuid('run_id').references(() => operationRuns.id),
    createdAt: createdAt(),
    decidedAt: tstz('decided_at'),
    /** Where it was filed from: the run gets the same source. */
    source: text('source', { enum: ['system_ui', 'cli', 'deploy_hook', 'admin_trigger'] }).notNull(),
    /** The requester's idempotency key, in its maker's namespace: filing again returns this request. */
    idempotencyKey: text('idempotency_key').unique(),
    /** The rest of the start as asked: the retried run, and its batch sizing. */
    start: jsonb('start').$type<FiledStart>().notNull().default({}),
  },
  (t) => [index('change_requests_list_idx').on(t.createdAt, t.id), index('change_requests_open_idx').on(t.status)],
);

/** One operator's decision on a request; one person decides once. */
export const changeApprovals = pgTable(
  'change_approvals',
  {
    requestId: uuid('request_id')
      .notNull()
      .references(() => changeRequests.id),
    platformUserId: bigint('platform_user_id', { mode: 'number' })
      .notNull()
      .references(() => platformUsers.id),
    /** Their email when they decided, for the request's page and the run. */
    label: text('label').notNull(),
    decision: text('decision', { enum: ['approve', 'reject'] }).notNull(),
    comment: text('comment').notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.requestId, t.platformUserId] })],
);

/**
 * When runs may work (`windows create`): allow or deny, opening on a cron schedule in a time zone
 * for a duration, for every runbook or some. Deny wins; with no allow window, every time is
 * allowed but the deny windows. No tenant starts within the cutoff of an allowed time's end.
 */
export const changeWindows = pgTable('change_windows', {
  id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  kind: text('kind', { enum: ['allow', 'deny'] }).notNull(),
  /** A cron pattern (5 fields, or 6 with seconds), or one ISO date-time for a one-off window. */
  schedule: text('schedule').notNull(),
  durationMinutes: integer('duration_minutes').notNull(),
  timeZone: text('time_zone').notNull(),
  cutoffMinutes: integer('cutoff_minutes').notNull().default(0),
  /** Runbook ids it applies to; null: every runbook. */
  runbooks: text('runbooks').array(),
  description: text('description').notNull(),
  createdBy: text('created_by').notNull(),
  createdAt: createdAt(),
});
