import { and, desc, eq, lt, type SQL } from 'drizzle-orm';
import { orm, type Connection } from '../../../../db/orm.js';
import { findings } from '../../../../db/schema/index.js';

export type FindingRow = Pick<
  typeof findings.$inferSelect,
  'id' | 'title' | 'severity' | 'status' | 'firstSeenAt' | 'lastSeenAt' | 'dueAt' | 'resolvedAt'
>;

export interface FindingsPage {
  findings: FindingRow[];
  /** The cursor of the next (older) page, or null on the last one. */
  nextBefore: number | null;
}

/**
 * One page of one tenant's findings, newest (highest id) first, older than the `before`
 * cursor: a keyset read of the (tenant_id, id) index, so a late page costs what the first
 * does. The tenant comes from the caller's session, never from the request.
 */
export async function listTenantFindings(
  q: Connection,
  filter: { tenantId: number; status?: string; before?: number; limit: number },
): Promise<FindingsPage> {
  const where: SQL[] = [eq(findings.tenantId, filter.tenantId)];
  if (filter.status) where.push(eq(findings.status, filter.status));
  if (filter.before !== undefined) where.push(lt(findings.id, filter.before));
  const rows = await orm(q)
    .select({
      id: findings.id,
      title: findings.title,
      severity: findings.severity,
      status: findings.status,
      firstSeenAt: findings.firstSeenAt,
      lastSeenAt: findings.lastSeenAt,
      dueAt: findings.dueAt,
      resolvedAt: findings.resolvedAt,
    })
    .from(findings)
    .where(and(...where))
    .orderBy(desc(findings.id))
    // One more than a page tells whether there is a next one.
    .limit(filter.limit + 1);
  const page = rows.slice(0, filter.limit);
  return { findings: page, nextBefore: rows.length > filter.limit ? page.at(-1)!.id : null };
}
