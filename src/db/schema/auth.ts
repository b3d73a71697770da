import { bigint, boolean, index, pgTable, text } from 'drizzle-orm/pg-core';
import { createdAt, tstz } from './columns.js';
import { tenants } from './tenancy.js';

/** Operators of the `/system` plane. */
export const platformUsers = pgTable('platform_users', {
  id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  email: text('email').notNull().unique(),
  passwordHash: text('password_hash').notNull(),
  capabilities: text('capabilities').array().notNull().default([]),
  isActive: boolean('is_active').notNull().default(true),
  createdAt: createdAt(),
});

/** Customer users of the `/admin` plane. */
export const users = pgTable('users', {
  id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  tenantId: bigint('tenant_id', { mode: 'number' })
    .notNull()
    .references(() => tenants.id),
  email: text('email').notNull().unique(),
  passwordHash: text('password_hash').notNull(),
  name: text('name'),
  isActive: boolean('is_active').notNull().default(true),
  createdAt: createdAt(),
});

/** Server-side sessions: the cookie carries a random token, this table only its hash. */
export const sessions = pgTable(
  'sessions',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    tokenHash: text('token_hash').notNull().unique(),
    plane: text('plane', { enum: ['system', 'admin'] }).notNull(),
    platformUserId: bigint('platform_user_id', { mode: 'number' }).references(() => platformUsers.id),
    userId: bigint('user_id', { mode: 'number' }).references(() => users.id),
    /** The secret this session's CSRF tokens are made from and checked against. */
    csrfToken: text('csrf_token').notNull(),
    /** Absolute expiry: a session ends at this time however active it is. */
    expiresAt: tstz('expires_at').notNull(),
    /** Idle expiry: pushed forward (never past `expires_at`) while the session is in use. */
    idleExpiresAt: tstz('idle_expires_at').notNull().defaultNow(),
    lastSeenAt: tstz('last_seen_at').notNull().defaultNow(),
    createdAt: createdAt(),
  },
  (t) => [index('sessions_expires_at_idx').on(t.expiresAt)],
);
