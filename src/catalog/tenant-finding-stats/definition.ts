import { defineRunbook } from '../../runbooks/definition.js';
import { NO_PARAMETERS } from '../../runbooks/parameters.js';
import { fingerprintTenantStats, rebuildTenantStats, summarizeStatsToChange } from './rebuildSql.js';

const SAMPLE_SIZE = 5;

/** Rebuild tenant finding statistics: recompute each tenant's `tenant_finding_stats` row from its findings. */
export const tenantFindingStatsRebuild = defineRunbook({
  id: 'tenants.finding_stats.rebuild',
  cliName: 'tenant-finding-stats',
  title: 'Rebuild tenant finding statistics',
  description:
    "Recomputes each tenant's finding statistics (open findings by severity, overdue, resolved in the last " +
    '30 days, mean time to resolve) from its findings. Idempotent: a second run changes nothing.',
  unit: 'statistics rows',
  sampleKey: 'Tenant',
  deployTriggered: false,
  parameters: NO_PARAMETERS,
  writes: 'finding_stats',
  tables: ['tenant_finding_stats'],

  async preflight(q, tenants, { asOf }, options = {}) {
    const summaries = await summarizeStatsToChange(
      q,
      tenants.map((tenant) => tenant.id),
      asOf,
      options.sample === false ? 0 : SAMPLE_SIZE,
    );
    const externalIds = new Map(tenants.map((tenant) => [tenant.id, tenant.externalId]));
    const breakdown = { inserted: 0, updated: 0 };
    for (const { change } of summaries) if (change) breakdown[change] += 1;
    return {
      // The unit is the tenant's one row, whatever its number of findings.
      perTenant: summaries.map((summary) => ({
        tenantId: summary.tenantId,
        inScope: 1,
        toChange: summary.change ? 1 : 0,
      })),
      breakdown,
      sample: summaries.flatMap(({ tenantId, sample }) =>
        sample ? [{ key: externalIds.get(tenantId) ?? String(tenantId), ...sample }] : [],
      ),
    };
  },

  fingerprint(q, tenantIds) {
    return fingerprintTenantStats(q, tenantIds);
  },

  // One tenant is one batch, whatever the batch size: its row is one aggregate over all its
  // findings, written in one statement. The cursor only says that the batch is done.
  async processBatch(q, { tenantId, cursor }, { asOf }) {
    if (cursor > 0) return null;
    const { examined, change } = await rebuildTenantStats(q, tenantId, asOf);
    return {
      cursor: 1,
      examined,
      changed: change ? 1 : 0,
      breakdown: { inserted: change === 'inserted' ? 1 : 0, updated: change === 'updated' ? 1 : 0 },
      last: true,
    };
  },

  async remainingToChange(q, tenantId, { asOf }) {
    const [summary] = await summarizeStatsToChange(q, [tenantId], asOf, 0);
    return summary?.change ? 1 : 0;
  },
});
