import { and, asc, count, desc, eq, gt, lt, or, sql } from 'drizzle-orm';
import { orm, type Connection } from '../../db/orm.js';
import { prepared } from '../../db/prepared.js';
import { changeApprovals, changeRequests } from '../../db/schema/index.js';
import { normalizeRunId } from '../runs.js';

export type ChangeRequestRow = typeof changeRequests.$inferSelect;
export type NewChangeRequest = Omit<typeof changeRequests.$inferInsert, 'status' | 'runId' | 'decidedAt' | 'createdAt'>;
export type ChangeDecision = Omit<typeof changeApprovals.$inferSelect, 'requestId'>;

/** A change request with every decision on it, oldest first. */
export interface ChangeRequestRecord extends ChangeRequestRow {
  decisions: ChangeDecision[];
}

export const approvalsOf = (request: ChangeRequestRecord) => request.decisions.filter((d) => d.decision === 'approve');

/**
 * An open request whose deadline has passed is expired, whether or not its timer has fired yet
 * (Temporal may be catching up): what every surface shows and every decision goes by.
 */
export function effectiveStatus(request: ChangeRequestRow, now = new Date()): ChangeRequestRow['status'] {
  return request.status === 'open' && request.expiresAt.getTime() <= now.getTime() ? 'expired' : request.status;
}

export async function insertChangeRequest(q: Connection, values: NewChangeRequest): Promise<ChangeRequestRecord> {
  const [row] = await orm(q).insert(changeRequests).values(values).returning();
  return { ...row!, decisions: [] };
}

async function withDecisions(q: Connection, row: ChangeRequestRow | undefined): Promise<ChangeRequestRecord | null> {
  if (!row) return null;
  const decisions = await orm(q)
    .select({
      platformUserId: changeApprovals.platformUserId,
      label: changeApprovals.label,
      decision: changeApprovals.decision,
      comment: changeApprovals.comment,
      createdAt: changeApprovals.createdAt,
    })
    .from(changeApprovals)
    .where(eq(changeApprovals.requestId, row.id))
    .orderBy(asc(changeApprovals.createdAt));
  return { ...row, decisions };
}

/** `lock`: in the caller's transaction, held until it ends, so that decisions on one request queue. */
export async function getChangeRequest(
  q: Connection,
  id: string,
  options: { lock?: boolean } = {},
): Promise<ChangeRequestRecord | null> {
  const requestId = normalizeRunId(id);
  if (!requestId) return null;
  const query = orm(q).select().from(changeRequests).where(eq(changeRequests.id, requestId));
  const [row] = options.lock ? await query.for('update') : await query;
  return withDecisions(q, row);
}

export async function findChangeRequestByKey(q: Connection, key: string): Promise<ChangeRequestRecord | null> {
  const [row] = await orm(q).select().from(changeRequests).where(eq(changeRequests.idempotencyKey, key));
  return withDecisions(q, row);
}

export interface ChangeRequestListEntry extends ChangeRequestRow {
  approvals: number;
}

const APPROVALS_GIVEN = sql<number>`(SELECT count(*)::int FROM ${changeApprovals}
  WHERE ${changeApprovals.requestId} = ${changeRequests.id} AND ${changeApprovals.decision} = 'approve')`;

const stillOpen = () => and(eq(changeRequests.status, 'open'), gt(changeRequests.expiresAt, sql`now()`));

/** Open requests (oldest first: the longest waiting on top), or every request, newest first, a page at a time. */
export async function listChangeRequests(
  q: Connection,
  which: { open: true } | { open: false; before?: Date; limit: number },
): Promise<ChangeRequestListEntry[]> {
  const select = orm(q).select({ request: changeRequests, approvals: APPROVALS_GIVEN }).from(changeRequests).$dynamic();
  const rows = which.open
    ? await select.where(stillOpen()).orderBy(asc(changeRequests.createdAt), asc(changeRequests.id))
    : await select
        .where(which.before ? lt(changeRequests.createdAt, which.before) : undefined)
        .orderBy(desc(changeRequests.createdAt), desc(changeRequests.id))
        .limit(which.limit);
  return rows.map(({ request, approvals }) => ({ ...request, approvals }));
}

/** The header's count for approvers on every page (so a statement prepared once). */
export async function countOpenChangeRequests(q: Connection): Promise<number> {
  const query = prepared(q, 'count_open_change_requests', (db, name) =>
    db.select({ n: count() }).from(changeRequests).where(stillOpen()).prepare(name),
  );
  const [row] = await query.execute();
  return row?.n ?? 0;
}

/** Moves a request from one of `from` to `to`; false when it was in none of them (another decision came first). */
export async function settleChangeRequest(
  q: Connection,
  id: string,
  from: ReadonlyArray<ChangeRequestRow['status']>,
  to: ChangeRequestRow['status'],
  runId?: string | null,
): Promise<boolean> {
  const rows = await orm(q)
    .update(changeRequests)
    .set({
      status: to,
      decidedAt: to === 'open' ? null : sql`coalesce(${changeRequests.decidedAt}, now())`,
      ...(runId === undefined ? {} : { runId }),
    })
    .where(and(eq(changeRequests.id, id), or(...from.map((status) => eq(changeRequests.status, status)))))
    .returning({ id: changeRequests.id });
  return rows.length > 0;
}

export async function recordDecision(
  q: Connection,
  requestId: string,
  decision: Omit<ChangeDecision, 'createdAt'>,
): Promise<void> {
  await orm(q)
    .insert(changeApprovals)
    .values({ requestId, ...decision });
}

export async function forgetDecision(q: Connection, requestId: string, platformUserId: number): Promise<void> {
  await orm(q)
    .delete(changeApprovals)
    .where(and(eq(changeApprovals.requestId, requestId), eq(changeApprovals.platformUserId, platformUserId)));
}
