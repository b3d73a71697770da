import type { Queryable } from '../db/queryable.js';
import { PLATFORM_TENANT_EXTERNAL_ID } from '../db/schema/tenancy.js';
import { RunbookRefusal } from './refusal.js';
import type { ScopeKind, StoredScope, TenantRef } from './model.js';

/** What a caller asks for: named tenants (one or more), or every customer tenant. */
export type ScopeInput = { kind: 'tenants'; externalIds: string[] } | { kind: 'all_tenants' };

export interface ResolvedScope {
  kind: ScopeKind;
  tenants: TenantRef[];
  stored: StoredScope;
}

const TENANT_COLUMNS = 'id, external_id AS "externalId", workspace_id AS "workspaceId"';

/** Customer tenants in scope, in id order; the platform tenant is never among them. */
export async function resolveScope(q: Queryable, input: ScopeInput): Promise<ResolvedScope> {
  if (input.kind === 'all_tenants') {
    const { rows } = await q.query<TenantRef>(
      `SELECT ${TENANT_COLUMNS} FROM tenants WHERE external_id <> $1 ORDER BY id`,
      [PLATFORM_TENANT_EXTERNAL_ID],
    );
    return { kind: 'all_tenants', tenants: rows, stored: { allTenants: true } };
  }
  const externalIds = [...new Set(input.externalIds.map((id) => id.trim()).filter(Boolean))];
  if (externalIds.length === 0) {
    throw new RunbookRefusal('empty_scope', 'Name at least one tenant by its external id, or choose all tenants.');
  }
  if (externalIds.includes(PLATFORM_TENANT_EXTERNAL_ID)) {
    throw new RunbookRefusal(
      'platform_tenant',
      `The platform tenant ("${PLATFORM_TENANT_EXTERNAL_ID}") can never be targeted by a runbook; remove it from the scope.`,
    );
  }
  const { rows } = await q.query<TenantRef>(
    `SELECT ${TENANT_COLUMNS} FROM tenants WHERE external_id = ANY($1::text[]) ORDER BY id`,
    [externalIds],
  );
  const known = new Set(rows.map((tenant) => tenant.externalId));
  const unknown = externalIds.filter((id) => !known.has(id));
  if (unknown.length > 0) {
    throw new RunbookRefusal(
      'unknown_tenant',
      `Unknown tenant${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}. Check the external id${unknown.length > 1 ? 's' : ''}.`,
    );
  }
  return {
    kind: rows.length === 1 ? 'tenant' : 'tenants',
    tenants: rows,
    stored: { tenants: rows.map(({ id, externalId }) => ({ id, externalId })) },
  };
}

export function describeScope(scope: StoredScope): string {
  if ('allTenants' in scope) return 'all tenants';
  const names = scope.tenants.map((tenant) => tenant.externalId);
  if (names.length === 0) return 'no tenants';
  return names.length <= 3 ? names.join(', ') : `${names.slice(0, 3).join(', ')} and ${names.length - 3} more`;
}

/** Whether two stored scopes share a tenant (all tenants overlaps everything). */
export function scopesOverlap(a: StoredScope, b: StoredScope): boolean {
  if ('allTenants' in a || 'allTenants' in b) return true;
  const ids = new Set(a.tenants.map((tenant) => tenant.id));
  return b.tenants.some((tenant) => ids.has(tenant.id));
}

/** The canonical form of a stored scope: tenant ids sorted, nothing else. */
function canonicalScope(scope: StoredScope): string {
  if ('allTenants' in scope) return 'all';
  return [...new Set(scope.tenants.map((tenant) => Number(tenant.id)))].sort((a, b) => a - b).join(',');
}

/** Whether two stored scopes name the same tenants, whatever their order or JSON key order. */
export function sameScope(a: StoredScope, b: StoredScope): boolean {
  return canonicalScope(a) === canonicalScope(b);
}
