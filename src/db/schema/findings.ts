import { bigint, index, integer, pgTable, text, unique } from 'drizzle-orm/pg-core';
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
    // The rebuild walks one tenant in id-ordered batches; the preflight counts per tenant.
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
  // min/max/count per finding and "first detection after t" are index-only scans.
  (t) => [index('finding_detections_finding_detected_idx').on(t.findingId, t.detectedAt)],
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
    occurredAt: tstz('occurred_at').notNull(),
  },
  // "Latest event" is the greatest (occurred_at, id) per finding.
  (t) => [index('finding_events_finding_latest_idx').on(t.findingId, t.occurredAt.desc(), t.id.desc())],
);

export type Finding = typeof findings.$inferSelect;
