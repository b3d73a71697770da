import type { Queryable } from '../db/queryable.js';

/** Tenants' names by external id, for pages that list tenants by their external ids. */
export async function tenantNamesOf(q: Queryable, externalIds: readonly string[]): Promise<Map<string, string>> {
  if (externalIds.length === 0) return new Map();
  const { rows } = await q.query<{ externalId: string; name: string }>(
    'SELECT external_id AS "externalId", name FROM tenants WHERE external_id = ANY($1::text[])',
    [externalIds],
  );
  return new Map(rows.map((row) => [row.externalId, row.name]));
}
