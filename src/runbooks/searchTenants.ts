import type { Queryable } from '../db/queryable.js';
import { PLATFORM_TENANT_EXTERNAL_ID } from '../db/schema/tenancy.js';

export const TENANT_SEARCH_LIMIT = 20;

export interface TenantMatch {
  externalId: string;
  name: string;
}

/**
 * The first `limit` customer tenants whose external id or name contains `text`
 * (case-insensitive), by external id; never the platform tenant, which no runbook may target.
 * Read-only.
 */
export async function searchTenants(q: Queryable, text: string, limit = TENANT_SEARCH_LIMIT): Promise<TenantMatch[]> {
  const trimmed = text.trim();
  if (!trimmed) return [];
  // The text is matched as it is: LIKE's wildcards in it are escaped, never patterns.
  const pattern = `%${trimmed.replace(/[\\%_]/g, '\\$&')}%`;
  const { rows } = await q.query<TenantMatch>(
    `SELECT external_id AS "externalId", name
       FROM tenants
      WHERE external_id <> $1 AND (external_id ILIKE $2 OR name ILIKE $2)
      ORDER BY external_id
      LIMIT $3`,
    [PLATFORM_TENANT_EXTERNAL_ID, pattern, limit],
  );
  return rows;
}
