import { bigint, index, integer, numeric, pgTable, text, unique } from 'drizzle-orm/pg-core';
import { tstz } from './columns.js';
import { tenants } from './tenancy.js';

export const findings = pgTable(
  'findings',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    tenantId: bigint('tenant_id', { mode: 'number' })
      .notNull()
      .references(() => tenants.id),
    fingerprint: text('fingerprint').notNull(),
    title: text('title').notNull(),
    severity: text('severity').notNull(),
    status: text('status'),
    firstSeenAt: tstz('first_seen_at'),
    lastSeenAt: tstz('last_seen_at'),
    timesSeen: integer('times_seen').notNull().default(0),
    dueAt: tstz('due_at'),
    resolvedAt: tstz('resolved_at'),
    reopenedAt: tstz('reopened_at'),
    lifecycleVersion: integer('lifecycle_version').notNull().default(0),
    createdAt: tstz('created_at').notNull().defaultNow(),
    updatedAt: tstz('updated_at').notNull().defaultNow(),
  },
  (t) => [
    unique('findings_tenant_fingerprint_unique').on(t.tenantId, t.fingerprint),
    // The rebuild walks one tenant in id-ordered batches; the preflight counts per tenant; the
    // drift check's fingerprint reads a tenant's range. No index on updated_at: fingerprintSql.ts.
    index('findings_tenant_id_id_idx').on(t.tenantId, t.id),
  ],
);

export const findingDetections = pgTable(
  'finding_detections',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    findingId: bigint('finding_id', { mode: 'number' })
      .notNull()
      .references(() => findings.id),
    tenantId: bigint('tenant_id', { mode: 'number' }).notNull(),
    detectedAt: tstz('detected_at').notNull(),
  },
  (t) => [
    // min/max/count per finding and "first detection after t" are index-only scans.
    index('finding_detections_finding_detected_idx').on(t.findingId, t.detectedAt),
    // The drift check's fingerprint: a tenant's count and max id in one index-only range read
    // (see fingerprintSql.ts); detections are only ever inserted, so it costs one entry per row.
    index('finding_detections_tenant_id_id_idx').on(t.tenantId, t.id),
  ],
);

export const findingEvents = pgTable(
  'finding_events',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    findingId: bigint('finding_id', { mode: 'number' })
      .notNull()
      .references(() => findings.id),
    tenantId: bigint('tenant_id', { mode: 'number' }).notNull(),
    type: text('type').notNull(),
    actor: text('actor'),
    /** Free text with the event, such as the note an operator gave Close stale findings. */
    note: text('note'),
    occurredAt: tstz('occurred_at').notNull(),
  },
  (t) => [
    // "Latest event" is the greatest (occurred_at, id) per finding.
    index('finding_events_finding_latest_idx').on(t.findingId, t.occurredAt.desc(), t.id.desc()),
    // The drift check's fingerprint, as for detections; events are only ever inserted too.
    index('finding_events_tenant_id_id_idx').on(t.tenantId, t.id),
  ],
);

/**
 * One row per tenant: figures of its findings, recomputed from them by Rebuild tenant finding
 * statistics (src/catalog/tenant-finding-stats), for the /admin findings page to read at once.
 */
export const tenantFindingStats = pgTable('tenant_finding_stats', {
  tenantId: bigint('tenant_id', { mode: 'number' })
    .primaryKey()
    .references(() => tenants.id),
  openCritical: integer('open_critical').notNull(),
  openHigh: integer('open_high').notNull(),
  openMedium: integer('open_medium').notNull(),
  openLow: integer('open_low').notNull(),
  overdue: integer('overdue').notNull(),
  resolved30d: integer('resolved_30d').notNull(),
  meanTimeToResolveSeconds: numeric('mean_time_to_resolve_seconds'),
  computedAt: tstz('computed_at').notNull(),
});

export type Finding = typeof findings.$inferSelect;
