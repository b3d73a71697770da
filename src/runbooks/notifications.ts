import { and, count, desc, eq, inArray, isNull, lt, sql } from 'drizzle-orm';
import { orm, type Connection } from '../db/orm.js';
import { prepared } from '../db/prepared.js';
import { changeRequests, notifications, operationRuns } from '../db/schema/index.js';
import type { StoredScope } from './model.js';

/**
 * An operator's notices about their runs (`OperationRunCompleted`, `OperationRunPaused`, written
 * by `completeRun` and `pauseRunItself`) and change requests (`ChangeRequested`, `ChangeDecided`,
 * see approvals/changeNotices.ts). Every function takes the operator's id and touches only that
 * operator's rows, whatever ids it is given.
 */

export interface NotificationEntry {
  id: number;
  type: string;
  data: Record<string, unknown>;
  readAt: Date | null;
  createdAt: Date;
  /** The run that `data.runId` names, when it exists. */
  run: { id: string; runbook: string; scope: StoredScope } | null;
  /** The change request that `data.changeRequestId` names, when it exists. */
  changeRequest: { id: string; runbook: string; scope: StoredScope } | null;
}

/** `data` is JSON: an id that is not a UUID names nothing, rather than failing the cast. */
const uuidIn = (field: 'runId' | 'changeRequestId') =>
  sql`case when ${notifications.data} ->> ${sql.raw(`'${field}'`)} ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
  then (${notifications.data} ->> ${sql.raw(`'${field}'`)})::uuid end`;
const runIdOf = uuidIn('runId');
const changeRequestIdOf = uuidIn('changeRequestId');

/** The run `data.runId` names while that run exists: a notice whose run is gone leads to no 404. */
const existingRunId = sql<
  string | null
>`(SELECT ${operationRuns.id} FROM ${operationRuns} WHERE ${operationRuns.id} = ${runIdOf})`;

/** The same for the change request `data.changeRequestId` names. */
const existingChangeRequestId = sql<
  string | null
>`(SELECT ${changeRequests.id} FROM ${changeRequests} WHERE ${changeRequests.id} = ${changeRequestIdOf})`;

/** The header's count on every page (so a statement prepared once). */
export async function countUnread(q: Connection, platformUserId: number): Promise<number> {
  const query = prepared(q, 'count_unread_notifications', (db, name) =>
    db
      .select({ n: count() })
      .from(notifications)
      .where(and(eq(notifications.platformUserId, sql.placeholder('platformUserId')), isNull(notifications.readAt)))
      .prepare(name),
  );
  const [row] = await query.execute({ platformUserId });
  return row?.n ?? 0;
}

/** Newest first; `before` is the last id of the previous page (a keyset, so deep pages cost the same). */
export async function listNotifications(
  q: Connection,
  platformUserId: number,
  page: { before?: number; limit: number },
): Promise<NotificationEntry[]> {
  return orm(q)
    .select({
      id: notifications.id,
      type: notifications.type,
      data: notifications.data,
      readAt: notifications.readAt,
      createdAt: notifications.createdAt,
      run: { id: operationRuns.id, runbook: operationRuns.runbook, scope: operationRuns.scope },
      changeRequest: { id: changeRequests.id, runbook: changeRequests.runbook, scope: changeRequests.scope },
    })
    .from(notifications)
    .leftJoin(operationRuns, eq(operationRuns.id, runIdOf))
    .leftJoin(changeRequests, eq(changeRequests.id, changeRequestIdOf))
    .where(
      and(
        eq(notifications.platformUserId, platformUserId),
        page.before === undefined ? undefined : lt(notifications.id, page.before),
      ),
    )
    .orderBy(desc(notifications.id))
    .limit(page.limit);
}

/**
 * Marks the operator's own notifications read: the given ids, or all that are unread. Returns
 * the ids it matched, so a caller can tell an id that is not the operator's (none). A notice
 * read before keeps the time it was first read: marking again changes nothing.
 */
export async function markRead(q: Connection, platformUserId: number, which: number[] | 'all'): Promise<number[]> {
  if (which !== 'all' && which.length === 0) return [];
  const own = eq(notifications.platformUserId, platformUserId);
  const rows = await orm(q)
    .update(notifications)
    .set({ readAt: sql`coalesce(${notifications.readAt}, now())` })
    .where(which === 'all' ? and(own, isNull(notifications.readAt)) : and(own, inArray(notifications.id, which)))
    .returning({ id: notifications.id });
  return rows.map((row) => row.id);
}

/**
 * Marks one of the operator's own notifications read, as opening it does, and returns the run
 * and the change request it names when they exist; null when the id is not one of the
 * operator's notifications. Opening it again changes nothing (the first read time stays).
 */
export async function openNotification(
  q: Connection,
  platformUserId: number,
  id: number,
): Promise<{ runId: string | null; changeRequestId: string | null } | null> {
  const [row] = await orm(q)
    .update(notifications)
    .set({ readAt: sql`coalesce(${notifications.readAt}, now())` })
    .where(and(eq(notifications.platformUserId, platformUserId), eq(notifications.id, id)))
    .returning({ runId: existingRunId, changeRequestId: existingChangeRequestId });
  return row ?? null;
}
