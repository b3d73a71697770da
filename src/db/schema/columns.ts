import { timestamp } from 'drizzle-orm/pg-core';

/** Microsecond timestamps with time zone, as every table here stores them. */
export const tstz = (name: string) => timestamp(name, { withTimezone: true, precision: 6, mode: 'date' });

export const createdAt = () => tstz('created_at').notNull().defaultNow();
