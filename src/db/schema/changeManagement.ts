import { sql } from 'drizzle-orm';
import { bigint, pgTable, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { platformUsers } from './auth.js';
import { createdAt, tstz } from './columns.js';

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
