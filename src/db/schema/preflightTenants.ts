import { bigint, integer, jsonb, pgTable, primaryKey, uuid } from 'drizzle-orm/pg-core';
import { preflights } from './operations.js';
import type { TenantFingerprint } from '../../runbooks/model.js';

/**
 * Per tenant of a saved preflight: its own count to change and a fingerprint of its data, both
 * taken in the preflight's snapshot. A start re-counts only the tenants whose fingerprint moved.
 * `tenant_id` has no foreign key, like finding_detections': a preflight, kept as a record, must
 * not stop a tenant from being deleted (the drift check then sees the tenant gone).
 */
export const preflightTenants = pgTable(
  'preflight_tenants',
  {
    preflightId: uuid('preflight_id')
      .notNull()
      .references(() => preflights.id, { onDelete: 'cascade' }),
    tenantId: bigint('tenant_id', { mode: 'number' }).notNull(),
    toChange: integer('to_change').notNull(),
    fingerprint: jsonb('fingerprint').$type<TenantFingerprint>().notNull(),
  },
  (t) => [primaryKey({ columns: [t.preflightId, t.tenantId] })],
);
