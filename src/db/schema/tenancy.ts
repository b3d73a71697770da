import { bigint, pgTable, text } from 'drizzle-orm/pg-core';
import { createdAt } from './columns.js';

export const workspaces = pgTable('workspaces', {
  id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  slug: text('slug').notNull().unique(),
  name: text('name').notNull(),
  createdAt: createdAt(),
});

/** `external_id = 'platform'` is the platform's own tenant: never targetable by a runbook. */
export const tenants = pgTable('tenants', {
  id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  workspaceId: bigint('workspace_id', { mode: 'number' })
    .notNull()
    .references(() => workspaces.id),
  externalId: text('external_id').notNull().unique(),
  name: text('name').notNull(),
  createdAt: createdAt(),
});

export const PLATFORM_TENANT_EXTERNAL_ID = 'platform';

export type Tenant = typeof tenants.$inferSelect;
