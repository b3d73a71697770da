import { eq } from 'drizzle-orm';
import { orm, type Connection } from '../../../../db/orm.js';
import { tenantFindingStats } from '../../../../db/schema/index.js';

export type FindingStatsRow = Omit<typeof tenantFindingStats.$inferSelect, 'tenantId'>;

/**
 * The tenant's finding statistics as Rebuild tenant finding statistics last wrote them (one
 * primary-key read), or null before its first run. The tenant comes from the caller's session.
 */
export async function loadFindingStats(q: Connection, tenantId: number): Promise<FindingStatsRow | null> {
  const [row] = await orm(q)
    .select({
      openCritical: tenantFindingStats.openCritical,
      openHigh: tenantFindingStats.openHigh,
      openMedium: tenantFindingStats.openMedium,
      openLow: tenantFindingStats.openLow,
      overdue: tenantFindingStats.overdue,
      resolved30d: tenantFindingStats.resolved30d,
      meanTimeToResolveSeconds: tenantFindingStats.meanTimeToResolveSeconds,
      computedAt: tenantFindingStats.computedAt,
    })
    .from(tenantFindingStats)
    .where(eq(tenantFindingStats.tenantId, tenantId));
  return row ?? null;
}
