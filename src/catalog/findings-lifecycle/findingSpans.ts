import type { Queryable } from '../../db/queryable.js';

/** The least and greatest id and the count of some of a tenant's findings. */
export interface IdSpan {
  fromId: number;
  toId: number;
  ids: number;
}

/** The span of the findings `ids` selects (one index-only read); null for none. */
async function idSpan(q: Queryable, ids: string, values: unknown[]): Promise<IdSpan | null> {
  const { rows } = await q.query<{ from_id: string | null; to_id: string | null; ids: number }>(
    `SELECT min(id)::bigint AS from_id, max(id)::bigint AS to_id, count(*)::int AS ids FROM (${ids}) selected`,
    values,
  );
  const { from_id, to_id } = rows[0]!;
  return from_id == null || to_id == null ? null : { fromId: Number(from_id), toId: Number(to_id), ids: rows[0]!.ids };
}

/** A batch: the next `batchSize` findings of the tenant after the cursor, in id order. */
export function nextFindingSpan(q: Queryable, tenantId: number, cursor: number, batchSize: number) {
  return idSpan(q, 'SELECT id FROM findings WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3', [
    tenantId,
    cursor,
    batchSize,
  ]);
}

/** All of the tenant's findings. */
export function tenantFindingSpan(q: Queryable, tenantId: number) {
  return idSpan(q, 'SELECT id FROM findings WHERE tenant_id = $1', [tenantId]);
}
